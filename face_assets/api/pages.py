"""The review page, server-rendered on the same app and services as the API: clusters as
thumbnails (largest first, paged), a cluster's faces to deselect before naming it, split,
persons with merge, a person's faces with "not this person", and the "Is this X?" queue
(a small script served by the app itself: no CDN, works offline).

Every user-supplied string (names, cluster ids) goes through html.escape; forms carry the
session's CSRF token; the Content-Security-Policy allows scripts from this origin only.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Query, Request, status
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from face_assets.api import rest
from face_assets.api.auth import CSRF_FIELD, Caller, CallerDep, require_caller
from face_assets.identity.names import MAX_NAME_LENGTH
from face_assets.services import labels, views

STATIC_DIR = Path(__file__).parent / "static"
CLUSTERS_PER_PAGE = 24  # clusters on one page of the review page
THUMBS_PER_CLUSTER = 8  # thumbnails shown per cluster in the list
FACES_PER_PERSON_PAGE = 100  # faces on one person page
PERSONS_PER_PAGE = 100  # persons listed on the persons page (and offered for merging)

# Scripts, styles and images from this origin only; nothing inline can run.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self';"
    " img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none';"
    " base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

router = APIRouter(include_in_schema=False)
e = html.escape


def _page(title: str, body: str, caller: Caller, status_code: int = 200) -> HTMLResponse:
    document = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<meta name=csrf-token content='{e(caller.csrf)}'>"
        f"<title>{e(title)}</title><link rel=stylesheet href='/static/review.css'>"
        "<script src='/static/review.js' defer></script></head><body>"
        "<nav><a href='/'>Clusters</a> <a href='/review/persons'>Persons</a>"
        " <a href='/review/queue'>Is this X?</a> <a href='/docs'>API</a></nav>"
        f"{body}</body></html>"
    )
    return HTMLResponse(document, status_code, headers=SECURITY_HEADERS)


def _csrf_input(caller: Caller) -> str:
    return f"<input type=hidden name={CSRF_FIELD} value='{e(caller.csrf)}'>"


def _thumb(face_id: int, extra: str = "") -> str:
    return f"<img src='/thumb/{int(face_id)}' alt='face {int(face_id)}' loading=lazy {extra}>"


def _error(message: str, caller: Caller) -> HTMLResponse:
    body = (
        f"<h1>Nothing was changed</h1><p class=error>{e(message)}</p>"
        "<p><a href='/'>Back to the clusters</a></p>"
    )
    return _page("Not done", body, caller, status.HTTP_400_BAD_REQUEST)


def _back(location: str) -> RedirectResponse:
    return RedirectResponse(location, status.HTTP_303_SEE_OTHER, headers=SECURITY_HEADERS)


@router.get("/")
async def index(request: Request, token: str | None = None, page: int = Query(1, ge=1)):
    """`/?token=...` once sets the session cookie and drops the token from the address
    bar; afterwards `/` lists the clusters."""
    auth = request.app.state.auth
    if token is not None:
        if not auth.token_matches(token):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unauthorised: wrong token")
        sid = auth.new_session()
        response = _back("/")
        response.headers["Set-Cookie"] = auth.cookie_header(sid)
        return response
    caller = await require_caller(request)
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
        thumbs = "".join(_thumb(f) for f in c["sample_faces"])
        sections.append(
            f"<section class=cluster><h2><a href='{e(link)}'>{cid}</a></h2>"
            f"<div class=meta>{int(c['size'])} faces, average quality"
            f" {float(c['avg_quality'] or 0):.3f}</div><div class=thumbs>{thumbs}</div>"
            f"<form method=post action='{e(link)}/label'>{_csrf_input(caller)}"
            f"<input name=name placeholder='Name' required maxlength={MAX_NAME_LENGTH}> "
            "<button>Name this cluster</button></form></section>"
        )
    pager = []
    if page > 1:
        pager.append(f"<a href='/?page={page - 1}'>previous</a>")
    if offset + len(rows) < total:
        pager.append(f"<a href='/?page={page + 1}'>next</a>")
    body = (
        "<h1>Clusters of unlabelled faces</h1>"
        f"<p>{total} clusters, largest first (page {page}). Open a cluster to deselect wrong"
        " faces before naming it, or to split it.</p>"
        + ("".join(sections) or "<p>No clusters to review.</p>")
        + f"<p class=pager>{' '.join(pager)}</p>"
    )
    return _page("Review clusters", body, caller)


@router.get("/review/clusters/{cluster_id}")
def cluster_page(request: Request, cluster_id: str, caller: CallerDep) -> HTMLResponse:
    try:
        faces = views.cluster_detail(request.app.state.store, cluster_id)
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    link = e(f"/review/clusters/{quote(cluster_id, safe='')}")
    boxes = "".join(
        f"<label class=pick>{_thumb(f['id'])}<input type=checkbox name=face"
        f" value='{int(f['id'])}' checked> keep</label>"
        for f in faces
    )
    body = (
        f"<h1>Cluster {e(cluster_id)}</h1><p>{len(faces)} faces. Untick the faces that are"
        " not this person, then name the rest.</p>"
        f"<form method=post action='{link}/label' id=label-form>{_csrf_input(caller)}"
        f"<div class=thumbs>{boxes}</div>"
        f"<input name=name placeholder='Name' required maxlength={MAX_NAME_LENGTH}> "
        "<button>Name the ticked faces</button></form>"
        f"<form method=post action='{link}/split'>{_csrf_input(caller)}"
        "<button>Split this cluster</button> (re-cluster it more tightly)</form>"
    )
    return _page(f"Cluster {cluster_id}", body, caller)


@router.post("/review/clusters/{cluster_id}/label")
async def label_form(request: Request, cluster_id: str, caller: CallerDep) -> Response:
    """The form posts the ticked faces (the list page posts none: the whole cluster)."""
    form = await request.form()
    name = str(form.get("name") or "")
    ticked = {int(v) for v in form.getlist("face") if str(v).isdigit()}
    try:
        if "face" in form or ticked:
            members = [f["id"] for f in views.cluster_detail(request.app.state.store, cluster_id)]
            exclude = [f for f in members if f not in ticked]
        else:
            exclude = []
        rest.label_cluster_faces(request, cluster_id, name, exclude)
    except (LookupError, ValueError) as exc:
        return _error(str(exc), caller)
    return _back("/")


@router.post("/review/clusters/{cluster_id}/split")
def split_form(request: Request, cluster_id: str, caller: CallerDep) -> Response:
    try:
        labels.split_cluster(request.app.state.store, cluster_id)
    except (LookupError, ValueError) as exc:
        return _error(str(exc), caller)
    rest.labelled(request)
    return _back("/")


@router.get("/review/persons")
def persons_page(request: Request, caller: CallerDep) -> HTMLResponse:
    rows, total = views.person_page(request.app.state.store, None, PERSONS_PER_PAGE, 0)
    table = "".join(
        f"<tr><td>{int(p['id'])}</td><td><a href='/review/persons/{int(p['id'])}'>"
        f"{e(p['name'])}</a></td><td>{e(p['status'])}</td><td>{int(p['faces'])}</td>"
        f"<td>{int(p['human'])}</td><td>{int(p['auto'])}</td>"
        f"<td>{'' if p['merged_into'] is None else int(p['merged_into'])}</td></tr>"
        for p in rows
    )
    active = [p for p in rows if p["status"] == "active"]
    options = "".join(f"<option value='{int(p['id'])}'>{e(p['name'])}</option>" for p in active)
    body = (
        f"<h1>Persons</h1><p>{total} persons.</p><table><tr><th>id</th><th>name</th>"
        "<th>status</th><th>faces</th><th>human</th><th>auto</th><th>merged into</th></tr>"
        f"{table}</table><h2>Merge two persons</h2>"
        f"<form method=post action='/review/merge' id=merge-form>{_csrf_input(caller)}"
        f"<select name=source aria-label=source>{options}</select> is the same person as "
        f"<select name=into aria-label=into>{options}</select> <button>Merge</button></form>"
    )
    return _page("Persons", body, caller)


@router.post("/review/merge")
def merge_form(
    request: Request,
    source: Annotated[int, Form()],
    into: Annotated[int, Form()],
    caller: CallerDep,
) -> Response:
    state = request.app.state
    try:
        labels.merge_persons(state.store, str(source), str(into), state.pack)
    except (LookupError, ValueError) as exc:
        return _error(str(exc), caller)
    rest.labelled(request)
    return _back(f"/review/persons/{int(into)}")


@router.get("/review/persons/{person_id}")
def person_page(request: Request, person_id: int, caller: CallerDep) -> HTMLResponse:
    try:
        p = views.person_detail(request.app.state.store, person_id, FACES_PER_PERSON_PAGE, 0)
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    faces = "".join(_person_face(f, p["name"], caller) for f in p["face_list"])
    body = (
        f"<h1>{e(p['name'])}</h1><p>{e(p['status'])}, {int(p['faces'])} faces"
        f" (first {FACES_PER_PERSON_PAGE} shown: human labels first, then the least sure"
        f" automatic ones).</p><div class=thumbs>{faces}</div>"
    )
    return _page(p["name"], body, caller)


def _person_face(face: dict, name: str, caller: Caller) -> str:
    similarity = face["assignment_similarity"]
    how = e(face["assignment_method"] or "") + ("" if similarity is None else f" {similarity:.2f}")
    return (
        f"<div class=face>{_thumb(face['id'])}<div class=meta>{how}</div>"
        f"<form method=post action='/review/faces/{int(face['id'])}/unassign'>"
        f"{_csrf_input(caller)}<button>Not {e(name)}</button></form></div>"
    )


@router.post("/review/faces/{face_id}/unassign")
def unassign_form(request: Request, face_id: int, caller: CallerDep) -> Response:
    state = request.app.state
    try:
        result = labels.unassign_face(state.store, face_id, state.pack)
    except (LookupError, ValueError) as exc:
        return _error(str(exc), caller)
    rest.labelled(request)
    return _back(f"/review/persons/{int(result['person_id'])}")


@router.get("/review/queue")
def queue_page(request: Request, caller: CallerDep) -> HTMLResponse:
    """One question at a time, filled in by review.js from /api/v1/faces/review/queue."""
    body = (
        "<h1>Is this X?</h1><p>The questions the system is least sure about, one at a time."
        " Answer with the keys <kbd>y</kbd> (yes), <kbd>n</kbd> (no) or <kbd>s</kbd> (skip).</p>"
        "<div id=question aria-live=polite><p>Loading&hellip;</p></div>"
        "<p><button id=yes>Yes (y)</button> <button id=no>No (n)</button>"
        " <button id=skip>Skip (s)</button></p><p id=status class=meta></p>"
    )
    return _page("Is this X?", body, caller)


@router.get("/thumb/{face_id}")
def thumbnail(request: Request, face_id: int, _: CallerDep) -> Response:
    """A face's JPEG, found by id in the store; never a file outside the media root."""
    return rest.face_thumbnail(request, face_id)


@router.get("/static/{name}")
def static(name: str, _: CallerDep) -> Response:
    """The page's own script and style (two known files; nothing else is served)."""
    files = {"review.js": "text/javascript", "review.css": "text/css"}
    if name not in files:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    return FileResponse(STATIC_DIR / name, media_type=files[name], headers=SECURITY_HEADERS)
