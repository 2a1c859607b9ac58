"""The review app's clusters: the list of unlabelled clusters at `/` (which also takes the
token once and sets the session), a cluster's page with faces and video tracks to untick
before naming it, and the name and split forms (both carry the version of the cluster they
showed). A video track is one member: one picture (its best frame) with the clip's name and
the time in it, named or unticked whole."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response

from face_assets.api import rest_clusters, rest_kit
from face_assets.api.auth import Caller, CallerDep, require_caller
from face_assets.api.page_kit import (
    counted,
    csrf_input,
    e,
    flash_line,
    html_page,
    local_target,
    name_input,
    pager,
    perform,
    see_other,
    thumb_img,
    track_img,
    version_input,
)
from face_assets.api.pages_login import logged_in, login_form
from face_assets.api.schemas import CLUSTER_ID_PATTERN
from face_assets.services import cluster_naming, labels, views
from face_assets.services.views import clip_time

CLUSTERS_PER_PAGE = 24  # clusters on one page of the review page
THUMBS_PER_CLUSTER = 8  # thumbnails shown per cluster in the list
TRACKS_PER_CLUSTER = 4  # video tracks shown per cluster in the list (each one picture)

ClusterId = Annotated[str, PathParam(pattern=CLUSTER_ID_PATTERN)]

router = APIRouter(include_in_schema=False)


@router.get("/")
async def index(
    request: Request, token: str | None = None, page: int = Query(1, ge=1, le=rest_kit.MAX_PAGE)
):
    """`/?token=...` once sets the session cookie and drops the token from the address
    bar; afterwards `/` lists the clusters."""
    auth = request.app.state.auth
    if token is not None:
        if not auth.token_matches(token):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unauthorised: wrong token")
        return logged_in(request, local_target(request.query_params.get("next"), "/"))
    try:
        caller = await require_caller(request)
    except HTTPException as exc:
        if exc.status_code != status.HTTP_401_UNAUTHORIZED:
            raise
        return login_form("/", status.HTTP_401_UNAUTHORIZED)
    return clusters_page(request, caller, page)


def clusters_page(request: Request, caller: Caller, page: int) -> HTMLResponse:
    state = request.app.state
    offset = (page - 1) * CLUSTERS_PER_PAGE
    rows, total = views.cluster_page(
        state.store, state.pack, CLUSTERS_PER_PAGE, offset, THUMBS_PER_CLUSTER
    )
    with_tracks = [c["cluster_id"] for c in rows if c.get("tracks")]
    tracks = views.cluster_track_samples(state.store, with_tracks, TRACKS_PER_CLUSTER)
    # The form names every track of the cluster, not only those shown: it sends them all, so
    # one that joined since is a conflict rather than named unseen.
    track_ids = views.cluster_track_ids(state.store, with_tracks)
    sections = []
    for c in rows:
        cid = e(c["cluster_id"])
        link = f"/review/clusters/{quote(c['cluster_id'], safe='')}"
        thumbs = "".join(thumb_img(f) for f in c["sample_faces"]) + "".join(
            track_figure(t) for t in tracks.get(c["cluster_id"], [])
        )
        sections.append(
            f"<section class=cluster><h2><a href='{e(link)}'>{cid}</a></h2>"
            f"<div class=meta>{_cluster_meta(c)}</div><div class=thumbs>{thumbs}</div>"
            f"<form method=post action='{e(link)}/label' class=row>{csrf_input(caller)}"
            f"{version_input(c.get('version'))}<input type=hidden name=tracks_seen value=1>"
            + "".join(
                f"<input type=hidden name=seen_track value='{int(t)}'>"
                for t in track_ids.get(c["cluster_id"], [])
            )
            + f"{name_input()} <button>Name this cluster</button></form></section>"
        )
    body = (
        "<h1>Clusters of unlabelled faces</h1>"
        f"<p>{counted(total, 'cluster')}, largest first. Open a cluster to deselect wrong faces"
        " before naming it, or to split it.</p>"
        + ("".join(sections) or "<p>No clusters to review.</p>")
        + pager("/", page, total, CLUSTERS_PER_PAGE)
    )
    return html_page("Review clusters", body, caller, flash=flash_line(request, caller))


@router.get("/review/clusters/{cluster_id}")
def cluster_page(request: Request, cluster_id: ClusterId, caller: CallerDep) -> HTMLResponse:
    try:
        faces = views.cluster_detail(request.app.state.store, cluster_id)
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    tracks = views.cluster_tracks(request.app.state.store, cluster_id)
    link = e(f"/review/clusters/{quote(cluster_id, safe='')}")
    boxes = "".join(
        f"<label class=pick>{thumb_img(f['id'])}<span><input type=checkbox name=face"
        f" value='{int(f['id'])}' checked> keep</span></label>"
        for f in faces
    ) + "".join(
        f"<label class='pick track'>{track_img(t['track_id'])}<span class='meta when'>"
        f"{e(clip_time(t['video'], t['time_s']))}</span>"
        f"<span class=meta>{counted(t['face_count'], 'frame')}</span>"
        f"<span><input type=checkbox name=track value='{int(t['track_id'])}' checked>"
        f" keep</span><input type=hidden name=seen_track value='{int(t['track_id'])}'></label>"
        for t in tracks
    )
    held = " and ".join(
        part
        for part in (
            counted(len(faces), "face") if faces or not tracks else "",
            counted(len(tracks), "video track") if tracks else "",
        )
        if part
    )
    body = (
        f"<h1>Cluster {e(cluster_id)}</h1><p>{held}. Untick what is not this person, then"
        " name the rest" + (" (a video track is named whole)" if tracks else "") + ".</p>"
        f"<form method=post action='{link}/label' id=label-form>{csrf_input(caller)}"
        f"{version_input(views.cluster_version(faces))}<input type=hidden name=picked value=1>"
        f"<div class=thumbs>{boxes}</div>"
        f"<div class=row>{name_input()}"
        f" <button>Name the ticked {'ones' if tracks else 'faces'}</button></div></form>"
        f"<form method=post action='{link}/split'>{csrf_input(caller)}"
        f"{version_input(views.cluster_version(faces))}<button>Split this cluster</button>"
        " (re-cluster it more tightly)</form>"
    )
    return html_page(f"Cluster {cluster_id}", body, caller)


@router.post("/review/clusters/{cluster_id}/label")
async def label_form(request: Request, cluster_id: ClusterId, caller: CallerDep) -> Response:
    """The form posts the ticked faces (the list page posts none: the whole cluster) and the
    version of the cluster it showed: a cluster that changed since is not named (409)."""
    form = await request.form()
    name = str(form.get("name") or "")
    version = str(form.get("version") or "") or None
    ticked = {int(v) for v in form.getlist("face") if str(v).isdigit()}
    ticked_tracks = {int(v) for v in form.getlist("track") if str(v).isdigit()}
    seen_tracks = [int(v) for v in form.getlist("seen_track") if str(v).isdigit()]
    # The cluster page posts `picked` (the list page posts the whole cluster): what it showed
    # and is not ticked now was unticked, faces and tracks alike.
    picked = form.get("picked") == "1" or "face" in form or "track" in form

    def work() -> dict:
        exclude, exclude_tracks = [], []
        seen = seen_tracks if form.get("tracks_seen") == "1" else None  # as the page had them
        if picked:
            store = request.app.state.store
            members = [f["id"] for f in views.cluster_detail(store, cluster_id)]
            exclude = [f for f in members if f not in ticked]
            # The tracks the page showed: unticked ones are excluded, and one that joined or
            # left the cluster since is a conflict (version covers the photo faces only).
            seen = seen_tracks
            exclude_tracks = [t for t in seen_tracks if t not in ticked_tracks]
        return rest_clusters.label_cluster_faces(
            request, cluster_id, name, exclude, version, exclude_tracks=exclude_tracks,
            seen_track_ids=seen,
        )  # fmt: skip

    # rest_clusters.label_cluster_faces runs the labelled hook itself
    return await perform(request, caller, work, "/", lambda done: see_other(
        "/", done="named", person=done["person_id"], n=done["faces_labeled"],
        event=done["event_id"],
        left=done["faces_excluded"], tracks=done["tracks_labeled"] or None,
        tleft=done["tracks_excluded"] or None,
    ), labelled=False)  # fmt: skip


@router.post("/review/labels/{event_id}/undo")
async def undo_label_form(request: Request, event_id: int, caller: CallerDep) -> Response:
    """The Undo of "Named N faces as X": the cluster comes back, unnamed."""
    state = request.app.state
    return await perform(request, caller, lambda: cluster_naming.undo_cluster_label(
        state.store, state.pack, event_id
    ), "/", lambda done: see_other(
        "/", done="unnamed", n=done["faces_released"], left=done["faces_changed_since"],
        tracks=done["tracks_released"] or None,
    ))  # fmt: skip


@router.post("/review/clusters/{cluster_id}/split")
async def split_form(request: Request, cluster_id: ClusterId, caller: CallerDep) -> Response:
    form = await request.form()
    version = str(form.get("version") or "") or None
    store = request.app.state.store
    return await perform(request, caller, lambda: labels.split_cluster(
        store, cluster_id, version=version
    ), "/", lambda done: see_other(
        "/", done="split", n=len(done["sub_clusters"]), left=done["unclustered"]
    ))  # fmt: skip


def _cluster_meta(cluster: dict) -> str:
    """ "12 faces, 2 video tracks, average quality 0.712" (the parts a cluster has)."""
    size, tracks = int(cluster["size"]), int(cluster.get("tracks") or 0)
    parts = [counted(size, "face")] if size or not tracks else []
    if tracks:
        parts.append(counted(tracks, "video track"))
    if size:
        parts.append(f"average quality {float(cluster['avg_quality'] or 0):.3f}")
    return ", ".join(parts)


def track_figure(track: dict) -> str:
    """A video track on the cluster list: its best frame over the clip's name and time."""
    return (
        f"<figure class=track>{track_img(track['track_id'])}"
        f"<figcaption class=meta>{e(clip_time(track['video'], track['time_s']))}</figcaption>"
        "</figure>"
    )
