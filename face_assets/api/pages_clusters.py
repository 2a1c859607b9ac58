"""The review app's clusters: the list of unlabelled clusters at `/` (which also takes the
token once and sets the session), a cluster's page with faces to untick before naming it,
and the name and split forms (both carry the version of the cluster they showed)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response

from face_assets.api import rest
from face_assets.api.auth import Caller, CallerDep, require_caller
from face_assets.api.page_kit import (
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
    version_input,
)
from face_assets.api.pages_login import logged_in, login_form
from face_assets.api.schemas import CLUSTER_ID_PATTERN
from face_assets.services import labels, views

CLUSTERS_PER_PAGE = 24  # clusters on one page of the review page
THUMBS_PER_CLUSTER = 8  # thumbnails shown per cluster in the list

ClusterId = Annotated[str, PathParam(pattern=CLUSTER_ID_PATTERN)]

router = APIRouter(include_in_schema=False)


@router.get("/")
async def index(
    request: Request, token: str | None = None, page: int = Query(1, ge=1, le=rest.MAX_PAGE)
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
    sections = []
    for c in rows:
        cid = e(c["cluster_id"])
        link = f"/review/clusters/{quote(c['cluster_id'], safe='')}"
        thumbs = "".join(thumb_img(f) for f in c["sample_faces"])
        sections.append(
            f"<section class=cluster><h2><a href='{e(link)}'>{cid}</a></h2>"
            f"<div class=meta>{int(c['size'])} faces"
            + (f", {int(c['tracks'])} video tracks" if c.get("tracks") else "")
            + ", average quality"
            f" {float(c['avg_quality'] or 0):.3f}</div><div class=thumbs>{thumbs}</div>"
            f"<form method=post action='{e(link)}/label' class=row>{csrf_input(caller)}"
            f"{version_input(c.get('version'))}{name_input()}"
            " <button>Name this cluster</button></form></section>"
        )
    body = (
        "<h1>Clusters of unlabelled faces</h1>"
        f"<p>{total} clusters, largest first. Open a cluster to deselect wrong faces before"
        " naming it, or to split it.</p>"
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
    link = e(f"/review/clusters/{quote(cluster_id, safe='')}")
    boxes = "".join(
        f"<label class=pick>{thumb_img(f['id'])}<span><input type=checkbox name=face"
        f" value='{int(f['id'])}' checked> keep</span></label>"
        for f in faces
    )
    body = (
        f"<h1>Cluster {e(cluster_id)}</h1><p>{len(faces)} faces. Untick the faces that are"
        " not this person, then name the rest.</p>"
        f"<form method=post action='{link}/label' id=label-form>{csrf_input(caller)}"
        f"{version_input(views.cluster_version(faces))}<div class=thumbs>{boxes}</div>"
        f"<div class=row>{name_input()}"
        " <button>Name the ticked faces</button></div></form>"
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

    def work() -> dict:
        if "face" in form or ticked:
            members = [f["id"] for f in views.cluster_detail(request.app.state.store, cluster_id)]
            exclude = [f for f in members if f not in ticked]
        else:
            exclude = []
        return rest.label_cluster_faces(request, cluster_id, name, exclude, version)

    # rest.label_cluster_faces runs the labelled hook itself
    return await perform(request, caller, work, "/", lambda done: see_other(
        "/", done="named", person=done["person_id"], n=done["faces_labeled"],
        left=done["faces_excluded"],
    ), labelled=False)  # fmt: skip


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
