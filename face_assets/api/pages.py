"""The review page, a small People app server-rendered on the same app and services as the API:
clusters to name (faces to deselect first, split), a grid of persons with their cover faces
and a name search, a person's page (photos with filters, faces, timeline, cover, birthdate,
rename, hide, forget), a photo's page (its faces boxed on it, a face drawn by hand, "not a
face" and its undo), photos of several persons, search by face, and the "Is this X?" queue.

It works on a phone (viewport meta, one column under 40rem, 44 px touch targets); every action
says what it did on the next page, with an undo where that is cheap. Every user-supplied
string (names, cluster ids) goes through html.escape; forms carry the session's CSRF token;
the Content-Security-Policy allows scripts from this origin only (review.js: the queue, the
box drawing, name suggestions).
"""

from __future__ import annotations

import html
from datetime import date, datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from face_assets.api import rest
from face_assets.api.auth import CSRF_FIELD, Caller, CallerDep, require_caller
from face_assets.api.people import MAX_PERSONS_PER_QUERY
from face_assets.api.schemas import CLUSTER_ID_PATTERN, MAX_RAW_NAME_LENGTH
from face_assets.errors import ConflictError
from face_assets.identity.lifetime import age_on
from face_assets.identity.names import MAX_NAME_LENGTH
from face_assets.services import analysis, forgetting, labels, people, views
from face_assets.vision.decode import ImageRejected

STATIC_DIR = Path(__file__).parent / "static"
CLUSTERS_PER_PAGE = 24  # clusters on one page of the review page
THUMBS_PER_CLUSTER = 8  # thumbnails shown per cluster in the list
FACES_PER_PERSON_PAGE = 48  # faces on one page of a person's faces
PHOTOS_PER_PAGE = 24  # photos on one page of a photo grid
PERSONS_PER_PAGE = 48  # persons on one page of the persons grid
NAME_SUGGESTIONS = 10  # names offered while typing one
SEARCH_RESULTS = 24  # faces shown by a search by face
PREVIEW_SMALL, PREVIEW_LARGE = people.PREVIEW_SIDES

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


def _page(
    title: str, body: str, caller: Caller, status_code: int = 200, flash: str = ""
) -> HTMLResponse:
    document = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<meta name=csrf-token content='{e(caller.csrf)}'>"
        f"<title>{e(title)}</title><link rel=stylesheet href='/static/review.css'>"
        "<script src='/static/review.js' defer></script></head><body>"
        "<nav><a href='/'>Clusters</a><a href='/review/persons'>Persons</a>"
        "<a href='/review/photos'>Photos</a><a href='/review/search'>Search</a>"
        "<a href='/review/queue'>Is this X?</a><a href='/docs'>API</a></nav>"
        f"{flash}<main>{body}</main><datalist id=person-names></datalist></body></html>"
    )
    return HTMLResponse(document, status_code, headers=SECURITY_HEADERS)


def _csrf_input(caller: Caller) -> str:
    return f"<input type=hidden name={CSRF_FIELD} value='{e(caller.csrf)}'>"


def _post(action: str, caller: Caller, label: str, fields: str = "", cls: str = "") -> str:
    """A one-button form (a POST with the CSRF token)."""
    return (
        f"<form method=post action='{e(action)}' class='inline {cls}'>{_csrf_input(caller)}"
        f"{fields}<button>{e(label)}</button></form>"
    )


def _count(n: int, noun: str) -> str:
    return f"{int(n)} {noun}{'' if int(n) == 1 else 's'}"


def _thumb(face_id: int, extra: str = "") -> str:
    return f"<img src='/thumb/{int(face_id)}' alt='face {int(face_id)}' loading=lazy {extra}>"


def _name_input(name: str = "name", value: str = "", placeholder: str = "Name") -> str:
    return (
        f"<input name={name} value='{e(value)}' placeholder='{e(placeholder)}' required"
        f" maxlength={MAX_RAW_NAME_LENGTH} list=person-names autocomplete=off data-names>"
    )


def _error(
    message: str, caller: Caller, back: str = "/", status_code: int = status.HTTP_400_BAD_REQUEST
) -> HTMLResponse:
    body = (
        f"<h1>Nothing was changed</h1><p class=error>{e(message)}</p>"
        f"<p><a href='{e(back)}'>Back</a></p>"
    )
    return _page("Not done", body, caller, status_code)


def _conflict(exc: ConflictError, caller: Caller, back: str = "/") -> HTMLResponse:
    """Another reviewer changed it since this page was read: say so, change nothing."""
    return _error(f"{exc} (reload the page to see it now)", caller, back, status.HTTP_409_CONFLICT)


ClusterId = Annotated[str, PathParam(pattern=CLUSTER_ID_PATTERN)]


def _version_input(version: str | None) -> str:
    return "" if not version else f"<input type=hidden name=version value='{e(version)}'>"


def _back(location: str, **flash: object) -> RedirectResponse:
    """See-other to a page of ours, with what happened for its message line."""
    if flash:
        location += ("&" if "?" in location else "?") + urlencode(
            {k: v for k, v in flash.items() if v is not None}
        )
    return RedirectResponse(location, status.HTTP_303_SEE_OTHER, headers=SECURITY_HEADERS)


def _local(target: str | None, default: str) -> str:
    """A return address of this site only (never another host)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def _pager(base: str, page: int, total: int, per_page: int, key: str = "page", **keep) -> str:
    """Previous / numbered / next links (at most 7 numbers around the current page)."""
    pages = max(1, -(-total // per_page))
    if pages == 1:
        return ""

    def link(number: int, text: str) -> str:
        query = urlencode({**{k: v for k, v in keep.items() if v not in (None, "")}, key: number})
        current = " aria-current=page" if number == page else ""
        return f"<a href='{e(base)}?{e(query)}'{current}>{e(text)}</a>"

    parts = [link(page - 1, "previous")] if page > 1 else []
    low, high = max(1, page - 3), min(pages, page + 3)
    parts += [link(n, str(n)) for n in range(low, high + 1)]
    if page < pages:
        parts.append(link(page + 1, "next"))
    return f"<nav class=pager aria-label=pages>{''.join(parts)} <span>of {pages}</span></nav>"


# --- what happened: one message line per action ----------------------------------------------


def _flash(request: Request, caller: Caller) -> str:
    """The message of the action that led here (codes and ids in the address, words here:
    nothing from the address is shown as it came)."""
    q = request.query_params
    code = q.get("done")
    if not code:
        return ""
    state = request.app.state

    def number(key: str) -> int:
        value = q.get(key, "0")
        return int(value) if value.isdigit() else 0

    def person_name(key: str = "person") -> str:
        pid = number(key)
        try:
            return people.find_person(state.store, pid).name if pid else "?"
        except LookupError:
            return "a forgotten person"

    n, undo = number("n"), ""
    faces = _count(n, "face")
    if code == "named":
        left = number("left")
        text = f"Named {faces} as {person_name()}."
        if left:
            text += (
                f" {left} face{'s' if left != 1 else ''} you unticked stay unnamed, marked"
                " as not this person."
            )
    elif code == "split":
        text = f"Split into {n} clusters; {number('left')} faces left without a cluster."
    elif code == "merged":
        text = f"Merged into {person_name()}: {faces} moved."
    elif code == "unassigned":
        who = person_name()
        text = f"The face is no longer {who}'s and will not be given back to them."
        face = number("face")
        undo = _post(
            f"/review/faces/{face}/label",
            caller,
            f"Undo: it is {who}",
            f"<input type=hidden name=name value='{e(who)}'>"
            f"<input type=hidden name=next value='{e(request.url.path)}'>",
        )
    elif code == "notface":
        text = "Marked as not a face: no later detection brings it back."
        undo = _post(f"/review/marks/{number('mark')}/undo", caller, "Undo")
    elif code == "restored":
        text = f"Restored: {faces} found again on the photo."
    elif code == "drawn":
        how = "placed by the detector" if q.get("refined") == "1" else "aligned from your box"
        text = f"Added the face you drew as {person_name()} ({how})."
    elif code == "labelled":
        text = f"Named the face {person_name()}."
    elif code == "cover":
        text = "Cover face set."
    elif code == "birthdate":
        text = f"Birthdate saved; {n} automatic assignments in earlier photos released."
    elif code == "renamed":
        text = f"Renamed to {person_name()}."
    elif code == "hidden":
        text = f"{person_name()} is hidden; {n} automatic assignments released."
    elif code == "unhidden":
        text = f"{person_name()} is shown again."
    elif code == "forgotten":
        text = f"Forgotten: {faces} and their files deleted for good."
    else:
        return ""
    return f"<div class=flash role=status>{e(text)} {undo}</div>"


# --- clusters ----------------------------------------------------------------------------------


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
        return _logged_in(request, _local(request.query_params.get("next"), "/"))
    try:
        caller = await require_caller(request)
    except HTTPException as exc:
        if exc.status_code != status.HTTP_401_UNAUTHORIZED:
            raise
        return login_form("/", status.HTTP_401_UNAUTHORIZED)
    return clusters_page(request, caller, page)


def _logged_in(request: Request, target: str) -> RedirectResponse:
    auth = request.app.state.auth
    response = _back(target)
    response.headers["Set-Cookie"] = auth.cookie_header(auth.new_session())
    return response


@router.get("/login")
def login_page(next: str = "/") -> HTMLResponse:
    return login_form(next)


def login_form(next: str, status_code: int = 200) -> HTMLResponse:
    """What a browser without a session sees (the API docs, a phone): the token, once."""
    body = (
        "<h1>Sign in</h1><p>Paste the app's token (FACE_ASSETS_API_TOKEN) once; the browser"
        " then keeps a session for a working day.</p>"
        f"<form method=post action='/login'><input type=hidden name=next"
        f" value='{e(_local(next, '/'))}'><input name=token type=password required"
        " autocomplete=current-password aria-label=token> <button>Sign in</button></form>"
    )
    return _page("Sign in", body, Caller("anonymous"), status_code)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    token = str(form.get("token") or "")
    if not request.app.state.auth.token_matches(token):
        return _page("Sign in", "<p class=error>Wrong token.</p>", Caller("anonymous"), 401)
    return _logged_in(request, _local(str(form.get("next") or ""), "/"))


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
            f"<div class=meta>{int(c['size'])} faces"
            + (f", {int(c['tracks'])} video tracks" if c.get("tracks") else "")
            + ", average quality"
            f" {float(c['avg_quality'] or 0):.3f}</div><div class=thumbs>{thumbs}</div>"
            f"<form method=post action='{e(link)}/label' class=row>{_csrf_input(caller)}"
            f"{_version_input(c.get('version'))}{_name_input()}"
            " <button>Name this cluster</button></form></section>"
        )
    body = (
        "<h1>Clusters of unlabelled faces</h1>"
        f"<p>{total} clusters, largest first. Open a cluster to deselect wrong faces before"
        " naming it, or to split it.</p>"
        + ("".join(sections) or "<p>No clusters to review.</p>")
        + _pager("/", page, total, CLUSTERS_PER_PAGE)
    )
    return _page("Review clusters", body, caller, flash=_flash(request, caller))


@router.get("/review/clusters/{cluster_id}")
def cluster_page(request: Request, cluster_id: ClusterId, caller: CallerDep) -> HTMLResponse:
    try:
        faces = views.cluster_detail(request.app.state.store, cluster_id)
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    link = e(f"/review/clusters/{quote(cluster_id, safe='')}")
    boxes = "".join(
        f"<label class=pick>{_thumb(f['id'])}<span><input type=checkbox name=face"
        f" value='{int(f['id'])}' checked> keep</span></label>"
        for f in faces
    )
    body = (
        f"<h1>Cluster {e(cluster_id)}</h1><p>{len(faces)} faces. Untick the faces that are"
        " not this person, then name the rest.</p>"
        f"<form method=post action='{link}/label' id=label-form>{_csrf_input(caller)}"
        f"{_version_input(views.cluster_version(faces))}<div class=thumbs>{boxes}</div>"
        f"<div class=row>{_name_input()}"
        " <button>Name the ticked faces</button></div></form>"
        f"<form method=post action='{link}/split'>{_csrf_input(caller)}"
        f"{_version_input(views.cluster_version(faces))}<button>Split this cluster</button>"
        " (re-cluster it more tightly)</form>"
    )
    return _page(f"Cluster {cluster_id}", body, caller)


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

    try:
        done = await run_in_threadpool(work)
    except ConflictError as exc:
        return _conflict(exc, caller)
    except (LookupError, ValueError) as exc:
        return _error(str(exc), caller)
    return _back(
        "/",
        done="named",
        person=done["person_id"],
        n=done["faces_labeled"],
        left=done["faces_excluded"],
    )


@router.post("/review/clusters/{cluster_id}/split")
async def split_form(request: Request, cluster_id: ClusterId, caller: CallerDep) -> Response:
    form = await request.form()
    version = str(form.get("version") or "") or None
    try:
        done = await run_in_threadpool(
            labels.split_cluster, request.app.state.store, cluster_id, version=version
        )
    except ConflictError as exc:
        return _conflict(exc, caller)
    except (LookupError, ValueError) as exc:
        return _error(str(exc), caller)
    rest.labelled(request)
    return _back("/", done="split", n=len(done["sub_clusters"]), left=done["unclustered"])


# --- persons -----------------------------------------------------------------------------------


@router.get("/review/names")
def name_suggestions(request: Request, _: CallerDep, q: str = "") -> JSONResponse:
    """Active persons' names containing `q`, most faces first (the name inputs' suggestions)."""
    rows, _total = people.person_grid(request.app.state.store, q[:MAX_NAME_LENGTH], "active",
                                      NAME_SUGGESTIONS, 0)  # fmt: skip
    return JSONResponse([r["name"] for r in rows], headers=SECURITY_HEADERS)


@router.get("/review/persons")
def persons_page(
    request: Request,
    caller: CallerDep,
    q: str = "",
    show: str = Query("active", pattern="^(active|hidden|merged)$"),
    page: int = Query(1, ge=1),
) -> HTMLResponse:
    store = request.app.state.store
    rows, total = people.person_grid(
        store, q[:MAX_NAME_LENGTH], show, PERSONS_PER_PAGE, (page - 1) * PERSONS_PER_PAGE
    )
    cards = "".join(
        f"<a class=card href='/review/persons/{int(p['id'])}'>"
        + (_thumb(p["cover"]) if p["cover"] else "<span class=nocover></span>")
        + f"<strong>{e(p['name'])}</strong><span class=meta>{_count(p['faces'], 'face')},"
        f" {int(p['human'])} named by you</span></a>"
        for p in rows
    )
    tabs = "".join(
        f"<a href='/review/persons?show={s}'{' aria-current=page' if s == show else ''}>{s}</a>"
        for s in ("active", "hidden", "merged")
    )
    body = (
        f"<h1>Persons</h1><nav class=tabs>{tabs}</nav>"
        "<form method=get action='/review/persons' class=row role=search>"
        f"<input type=hidden name=show value='{e(show)}'><input name=q value='{e(q)}'"
        " placeholder='Search by name' aria-label='search by name' list=person-names"
        " autocomplete=off data-names> <button>Search</button></form>"
        f"<p>{total} {e(show)} persons{' named like ' + repr(q) if q else ''}, most faces"
        " first.</p>"
        f"<div class=grid id=persons>{cards or '<p>Nobody here yet.</p>'}</div>"
        + _pager("/review/persons", page, total, PERSONS_PER_PAGE, q=q, show=show)
        + "<h2>Merge two persons</h2><p>Someone named one person twice? Type both names.</p>"
        f"<form method=post action='/review/merge' id=merge-form class=row>{_csrf_input(caller)}"
        f"{_name_input('source', placeholder='This person')} is the same as"
        f" {_name_input('into', placeholder='that person')} <button>Merge</button></form>"
    )
    return _page("Persons", body, caller, flash=_flash(request, caller))


@router.post("/review/merge")
async def merge_form(request: Request, caller: CallerDep) -> Response:
    state = request.app.state
    form = await request.form()

    def work() -> tuple:
        source = people.find_person(state.store, str(form.get("source") or ""))
        into = people.find_person(state.store, str(form.get("into") or ""))
        return into, labels.merge_persons(state.store, str(source.id), str(into.id), state.pack)

    try:
        into, done = await run_in_threadpool(work)
    except ConflictError as exc:
        return _conflict(exc, caller, "/review/persons")
    except (LookupError, ValueError) as exc:
        return _error(str(exc).strip("'\""), caller, "/review/persons")
    rest.labelled(request)
    return _back(f"/review/persons/{into.id}", done="merged", person=into.id,
                 n=done["faces_moved"])  # fmt: skip


def _photo_card(photo: dict, highlight: int | None = None) -> str:
    names = ", ".join(e(n) for _, n in photo["persons"]) or "nobody named"
    taken = photo["taken_at"].strftime("%Y-%m-%d") if photo["taken_at"] else "undated"
    link = f"/review/photos/{int(photo['id'])}" + (f"?face={int(highlight)}" if highlight else "")
    return (
        f"<a class=photo href='{e(link)}'><img src='/review/photos/{int(photo['id'])}/image"
        f"?size={PREVIEW_SMALL}' alt='photo {int(photo['id'])}' loading=lazy>"
        f"<span class=meta>{e(taken)} · {_count(photo['faces'], 'face')} · {names}</span></a>"
    )


@router.get("/review/persons/{person_id}")
def person_page(
    request: Request,
    person_id: int,
    caller: CallerDep,
    page: int = Query(1, ge=1),
    photos: int = Query(1, ge=1),
    with_: str = Query("", alias="with"),
) -> Response:
    state = request.app.state
    try:
        p = views.person_detail(
            state.store, person_id, FACES_PER_PERSON_PAGE, (page - 1) * FACES_PER_PERSON_PAGE
        )
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    if p["status"] == "merged":
        return _back(f"/review/persons/{int(p['merged_into'])}")
    extra = people.profile(state.store, person_id)
    facts = people.face_facts(state.store, [f["id"] for f in p["face_list"]], extra["birthdate"])
    name = p["name"]
    others, problem = [], ""
    if with_.strip():
        try:
            others = [people.find_person(state.store, with_).id]
        except LookupError:
            problem = f"<p class=error>Nobody is called {e(with_)}.</p>"
    shots, shot_total = people.photos_of(
        state.store, state.pack, [person_id, *others], limit=PHOTOS_PER_PAGE,
        offset=(photos - 1) * PHOTOS_PER_PAGE,
    )  # fmt: skip
    line = extra["timeline"]
    years = "".join(
        f"<li><span>{int(y)}</span><meter min=0 max={max(line['per_year'].values())}"
        f" value={int(c)}></meter> {int(c)}</li>"
        for y, c in line["per_year"].items()
    )
    first = line["first"].strftime("%Y-%m-%d") if line["first"] else "never"
    last = line["last"].strftime("%Y-%m-%d") if line["last"] else "never"
    faces = "".join(
        _person_face(f, name, facts.get(f["id"], {}), extra["cover_face_id"], caller)
        for f in p["face_list"]
    )
    cover = _thumb(extra["cover_face_id"], "class=cover") if extra["cover_face_id"] else ""
    birth = extra["birthdate"].isoformat() if extra["birthdate"] else ""
    hide = "unhide" if p["status"] == "hidden" else "hide"
    base = f"/review/persons/{int(person_id)}"
    body = (
        f"<header class=person>{cover}<div><h1>{e(name)}</h1><p class=meta>{e(p['status'])},"
        f" {int(p['faces'])} faces; first seen {e(first)}, last seen {e(last)}"
        f"{', born ' + e(birth) if birth else ''}</p></div></header>"
        f"<ul class=years aria-label='faces per year'>{years}</ul>"
        f"<h2>Photos</h2><form method=get action='{base}' class=row role=search>"
        f"<input name=with value='{e(with_)}' placeholder='with another person'"
        " aria-label='with another person' list=person-names autocomplete=off data-names>"
        " <button>Filter</button></form>"
        f"{problem}<p>{_count(shot_total, 'photo')}{' with ' + e(with_) if others else ''}, newest"
        f" first.</p><div class=grid id=photos>"
        + "".join(_photo_card(s) for s in shots)
        + "</div>"
        + _pager(base, photos, shot_total, PHOTOS_PER_PAGE, key="photos", **{"with": with_})
        + f"<h2>Faces</h2><p>Human labels first, then the least sure automatic ones.</p>"
        f"<div class=grid id=faces>{faces}</div>"
        + _pager(base, page, int(p["faces"]), FACES_PER_PERSON_PAGE)
        + "<h2>Edit</h2><div class=edit>"
        f"<form method=post action='{base}/rename' class=row>{_csrf_input(caller)}"
        f"<input name=name value='{e(name)}' required maxlength={MAX_NAME_LENGTH}"
        " aria-label='new name'> <button>Rename</button></form>"
        f"<form method=post action='{base}/birthdate' class=row id=birthdate-form>"
        f"{_csrf_input(caller)}<label>Birthdate <input type=date name=birthdate"
        f" value='{e(birth)}'></label> <button>Save birthdate</button></form>"
        + _post(f"{base}/{hide}", caller, hide.capitalize() + " this person")
        + f"<form method=post action='{base}/forget' class=row id=forget-form>"
        f"{_csrf_input(caller)}<label>Type <kbd>forget {e(name)}</kbd> to delete this"
        " person's faces and name for good: <input name=confirm required autocomplete=off>"
        "</label> <button class=danger>Forget</button></form></div>"
    )
    return _page(name, body, caller, flash=_flash(request, caller))


def _person_face(face: dict, name: str, fact: dict, cover: int | None, caller: Caller) -> str:
    similarity = face["assignment_similarity"]
    how = "named by you" if face["assignment_method"] == "human" else "automatic"
    if similarity is not None:
        how += f" {similarity:.2f}"
    if fact.get("source") == "manual":
        how += ", drawn"
    taken = fact.get("taken_at")
    when = taken.strftime("%Y-%m-%d") if taken else "undated"
    age = f", age {fact['age']}" if fact.get("age") is not None else ""
    face_id = int(face["id"])
    make_cover = (
        "<span class=meta>cover</span>"
        if face_id == cover
        else _post(
            f"/review/persons/{int(face['person_id'])}/cover",
            caller,
            "Make cover",
            f"<input type=hidden name=face value='{face_id}'>",
        )
    )
    return (
        f"<div class=face data-face='{face_id}'><a href='/review/faces/{face_id}/photo'>"
        f"{_thumb(face_id)}</a><span class=meta>{e(how)}</span>"
        f"<span class=meta>{e(when)}{e(age)}</span>"
        + _post(f"/review/faces/{face_id}/unassign", caller, f"Not {name}")
        + make_cover
        + "</div>"
    )


async def _form(request: Request) -> dict:
    form = await request.form()
    return {k: str(v) for k, v in form.items()}


async def _person_action(request: Request, person_id: int, caller: Caller, work) -> Response:
    """Every person form's service call runs off the event loop (the page's handlers are async
    to read their form; the database work must not stall the app's other requests)."""
    try:
        flash = await run_in_threadpool(work)
    except (LookupError, ValueError) as exc:
        return _error(str(exc).strip("'\""), caller, f"/review/persons/{int(person_id)}")
    rest.labelled(request)
    return _back(f"/review/persons/{int(person_id)}", person=person_id, **flash)


@router.post("/review/persons/{person_id}/rename")
async def rename_form(request: Request, person_id: int, caller: CallerDep) -> Response:
    name = (await _form(request)).get("name", "")
    store = request.app.state.store
    return await _person_action(request, person_id, caller, lambda: (
        labels.rename_person(store, str(person_id), name) and {"done": "renamed"}
    ))  # fmt: skip


@router.post("/review/persons/{person_id}/birthdate")
async def birthdate_form(request: Request, person_id: int, caller: CallerDep) -> Response:
    raw = (await _form(request)).get("birthdate", "").strip()
    state = request.app.state

    def work() -> dict:
        try:
            when = date.fromisoformat(raw) if raw else None
        except ValueError as exc:
            raise ValueError(f"{raw!r} is not a date like 2015-06-01") from exc
        done = people.set_birthdate(state.store, person_id, when, state.pack)
        return {"done": "birthdate", "n": done["auto_assignments_released"]}

    return await _person_action(request, person_id, caller, work)


@router.post("/review/persons/{person_id}/cover")
async def cover_form(request: Request, person_id: int, caller: CallerDep) -> Response:
    face = (await _form(request)).get("face", "")
    store = request.app.state.store
    return await _person_action(request, person_id, caller, lambda: (
        people.set_cover(store, person_id, int(face) if face.isdigit() else None)
        and {"done": "cover"}
    ))  # fmt: skip


async def _hide_form(request: Request, person_id: int, caller: Caller, hidden: bool) -> Response:
    state = request.app.state

    def work() -> dict:
        done = labels.hide_person(state.store, str(person_id), hidden, state.pack)
        return {"done": "hidden" if hidden else "unhidden", "n": done["auto_assignments_released"]}

    return await _person_action(request, person_id, caller, work)


@router.post("/review/persons/{person_id}/hide")
async def hide_form(request: Request, person_id: int, caller: CallerDep) -> Response:
    return await _hide_form(request, person_id, caller, True)


@router.post("/review/persons/{person_id}/unhide")
async def unhide_form(request: Request, person_id: int, caller: CallerDep) -> Response:
    return await _hide_form(request, person_id, caller, False)


@router.post("/review/persons/{person_id}/forget")
async def forget_form(request: Request, person_id: int, caller: CallerDep) -> Response:
    """Forget behind a typed confirmation: exactly "forget <current name>"."""
    confirm = (await _form(request)).get("confirm", "")
    store = request.app.state.store
    back = f"/review/persons/{int(person_id)}"

    def work() -> dict:
        person = people.find_person(store, person_id)
        if confirm.strip() != f"forget {person.name}":
            raise ValueError(f"type exactly 'forget {person.name}' to forget this person")
        # services.forgetting holds forget (labels has none); the library root lets it take
        # the name out of the sidecars export-tags wrote, as the REST forget does. Off the
        # event loop: its disk scrub rewrites tables for seconds.
        return forgetting.forget_person(
            store, str(person_id), library_root=request.app.state.library_root
        )

    try:
        done = await run_in_threadpool(work)
    except (LookupError, ValueError) as exc:
        return _error(str(exc).strip("'\""), caller, back)
    rest.labelled(request)
    return _back("/review/persons", done="forgotten", n=done["faces_deleted"])


# --- faces -------------------------------------------------------------------------------------


@router.get("/review/faces/{face_id}/photo")
def face_photo(request: Request, face_id: int, _: CallerDep) -> Response:
    """From any face to its full photo, with the face's box drawn."""
    facts = people.face_facts(request.app.state.store, [face_id])
    if face_id not in facts:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no face {face_id}")
    return _back(f"/review/photos/{int(facts[face_id]['asset_id'])}?face={int(face_id)}")


@router.post("/review/faces/{face_id}/unassign")
def unassign_form(request: Request, face_id: int, caller: CallerDep) -> Response:
    state = request.app.state
    try:
        result = labels.unassign_face(state.store, face_id, state.pack)
    except (LookupError, ValueError) as exc:
        return _error(str(exc), caller)
    rest.labelled(request)
    person = int(result["person_id"])
    return _back(f"/review/persons/{person}", done="unassigned", person=person, face=face_id)


@router.post("/review/faces/{face_id}/label")
async def face_label_form(request: Request, face_id: int, caller: CallerDep) -> Response:
    """Name one face (a photo's unnamed face, or the undo of "Not X")."""
    form = await _form(request)
    state = request.app.state
    back = _local(form.get("next"), "/")
    try:
        done = await run_in_threadpool(
            labels.label_faces, state.store, [face_id], form.get("name", ""), state.pack
        )
    except (LookupError, ValueError) as exc:
        return _error(str(exc), caller, back)
    rest.labelled(request)
    return _back(back, done="labelled", person=done["person_id"])


@router.post("/review/faces/{face_id}/not-a-face")
def not_a_face_form(request: Request, face_id: int, caller: CallerDep) -> Response:
    try:
        done = people.not_a_face(request.app.state.store, face_id)
    except (LookupError, ValueError) as exc:
        return _error(str(exc), caller)
    rest.labelled(request)
    return _back(f"/review/photos/{int(done['asset_id'])}", done="notface", mark=done["mark_id"])


@router.post("/review/marks/{mark_id}/undo")
async def undo_mark_form(request: Request, mark_id: int, caller: CallerDep) -> Response:
    state = request.app.state
    try:
        done = await state.models.run(
            lambda models: people.restore_face(state.store, mark_id, models, state.library_root)
        )
    except (LookupError, ValueError) as exc:
        return _error(str(exc), caller)
    rest.labelled(request)
    return _back(f"/review/photos/{int(done['asset_id'])}", done="restored",
                 n=done["faces_found_again"])  # fmt: skip


# --- photos ------------------------------------------------------------------------------------


def _resolve_names(store, raw: str) -> tuple[list[int], list[str]]:
    """Person ids of comma-separated names (or ids), and the names nobody has; at most
    MAX_PERSONS_PER_QUERY names are read (the API's limit on what one query may cost)."""
    found, unknown = [], []
    for part in [p.strip() for p in raw.split(",") if p.strip()][:MAX_PERSONS_PER_QUERY]:
        try:
            found.append(people.find_person(store, part).id)
        except LookupError:
            unknown.append(part)
    return found, unknown


def _day(raw: str) -> datetime | None:
    try:
        return datetime.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@router.get("/review/photos")
def photos_page(
    request: Request,
    caller: CallerDep,
    with_: str = Query("", alias="with"),
    without: str = "",
    taken_from: str = Query("", alias="from"),
    taken_to: str = Query("", alias="to"),
    page: int = Query(1, ge=1),
) -> HTMLResponse:
    """Photos of A and B (and not C), newest first."""
    state = request.app.state
    wanted, unknown = _resolve_names(state.store, with_)
    unwanted, unknown_out = _resolve_names(state.store, without)
    problems = "".join(
        f"<p class=error>Nobody is called {e(n)}.</p>" for n in unknown + unknown_out
    )
    try:
        rows, total = people.photos_of(
            state.store, state.pack, wanted, unwanted, _day(taken_from), _day(taken_to),
            limit=PHOTOS_PER_PAGE, offset=(page - 1) * PHOTOS_PER_PAGE,
        )  # fmt: skip
    except ValueError as exc:
        rows, total, problems = [], 0, problems + f"<p class=error>{e(str(exc))}</p>"
    body = (
        "<h1>Photos</h1><form method=get action='/review/photos' class=filters role=search>"
        f"<label>With <input name=with value='{e(with_)}' placeholder='Ann, Bob'"
        " list=person-names autocomplete=off data-names data-multi></label>"
        f"<label>Without <input name=without value='{e(without)}' placeholder='Carl'"
        " list=person-names autocomplete=off data-names data-multi></label>"
        f"<label>From <input type=date name=from value='{e(taken_from)}'></label>"
        f"<label>To <input type=date name=to value='{e(taken_to)}'></label>"
        "<button>Show photos</button></form>"
        f"{problems}<p>{_count(total, 'photo')}, newest first.</p>"
        f"<div class=grid id=photos>{''.join(_photo_card(r) for r in rows)}</div>"
        + _pager("/review/photos", page, total, PHOTOS_PER_PAGE, **{
            "with": with_, "without": without, "from": taken_from, "to": taken_to})
    )  # fmt: skip
    return _page("Photos", body, caller)


@router.get("/review/photos/{image_id}/image")
async def photo_image(
    request: Request, image_id: int, _: CallerDep, size: int = PREVIEW_LARGE
) -> Response:
    state = request.app.state
    if size not in people.PREVIEW_SIDES:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"size is one of {people.PREVIEW_SIDES}")
    if state.library_root is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the app has no photo library")
    try:
        data = await run_in_threadpool(
            people.photo_preview, state.store, state.library_root, image_id, size
        )
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except (ImageRejected, ValueError) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, f"photo unavailable: {exc}") from exc
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private"})


@router.get("/review/photos/{image_id}")
def photo_page(
    request: Request, image_id: int, caller: CallerDep, face: int | None = None
) -> HTMLResponse:
    """The photo with its faces boxed (the one come from highlighted), each named or to
    name, "not a face", the marks to undo, and a face to draw by hand."""
    state = request.app.state
    try:
        photo = people.photo_detail(state.store, image_id)
        faces = views.image_faces(state.store, image_id, state.pack)
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    facts = people.face_facts(state.store, [f["id"] for f in faces])
    births = people.extras_of(state.store, sorted({f["person_id"] for f in faces
                                                   if f["person_id"]}))  # fmt: skip
    width, height = int(photo["width"] or 1), int(photo["height"] or 1)
    here = f"/review/photos/{int(image_id)}"
    boxes, items = [], []
    for f in faces:
        fid = int(f["id"])
        fact = facts.get(fid, {})
        label = f["person_name"] or "unnamed"
        age = age_on(photo["taken_at"], births.get(f["person_id"], {}).get("birthdate"))
        if age is not None:
            label += f", {age}"
        cls = "box mark" if face == fid else "box"
        boxes.append(
            f"<div class='{cls}' data-x={f['x']} data-y={f['y']} data-w={f['width']}"
            f" data-h={f['height']}><span>{e(label)}</span></div>"
        )
        if f["person_id"]:
            who = f"<a href='/review/persons/{int(f['person_id'])}'>{e(f['person_name'])}</a>"
            act = _post(f"/review/faces/{fid}/unassign", caller, f"Not {f['person_name']}")
        else:
            who = "unnamed"
            act = (
                f"<form method=post action='/review/faces/{fid}/label' class=row>"
                f"{_csrf_input(caller)}<input type=hidden name=next value='{here}'>"
                f"{_name_input()} <button>Name</button></form>"
            )
        items.append(
            f"<li class=face data-face='{fid}'>{_thumb(fid)}<span>{who}"
            f"{' (drawn)' if fact.get('source') == 'manual' else ''}"
            f"{', age ' + str(age) if age is not None else ''}</span>{act}"
            + _post(f"/review/faces/{fid}/not-a-face", caller, "Not a face", cls="quiet")
            + f"<a href='/review/search?face={fid}'>Find similar</a></li>"
        )
    marks = "".join(
        f"<li>A box marked not a face on {m['created_at']:%Y-%m-%d}"
        + _post(f"/review/marks/{int(m['id'])}/undo", caller, "Undo: it is a face")
        + "</li>"
        for m in photo["marks"]
    )
    taken = photo["taken_at"].strftime("%Y-%m-%d %H:%M") if photo["taken_at"] else "undated"
    body = (
        f"<h1>Photo {int(image_id)}</h1><p class=meta>{e(photo['rel_path'])}, taken"
        f" {e(taken)}, {len(faces)} faces</p>"
        f"<div id=photo data-width={width} data-height={height}>"
        f"<img src='{here}/image' alt='photo {int(image_id)}' draggable=false>"
        f"{''.join(boxes)}<div id=drawn class='box draft' hidden></div></div>"
        "<p class=meta>Missing a face? Drag a box around it on the photo (a finger works"
        " too), then name it.</p>"
        f"<form method=post action='{here}/faces' id=draw-form class=row hidden>"
        f"{_csrf_input(caller)}<input type=hidden name=x><input type=hidden name=y>"
        f"<input type=hidden name=w><input type=hidden name=h>{_name_input()}"
        " <button>Add this face</button></form>"
        f"<h2>Faces</h2><ul class=faces>{''.join(items) or '<li>No faces.</li>'}</ul>"
        + (f"<h2>Not faces</h2><ul>{marks}</ul>" if marks else "")
    )
    return _page(f"Photo {image_id}", body, caller, flash=_flash(request, caller))


@router.post("/review/photos/{image_id}/faces")
async def draw_form(request: Request, image_id: int, caller: CallerDep) -> Response:
    form = await _form(request)
    state = request.app.state
    here = f"/review/photos/{int(image_id)}"
    try:
        x, y, w, h = (float(form.get(k, "")) for k in ("x", "y", "w", "h"))
        if state.library_root is None:
            raise ValueError("the app has no photo library")
        done = await state.models.run(
            lambda models: people.add_manual_face(
                state.store, models, state.library_root, image_id, (x, y, x + w, y + h),
                form.get("name", ""),
            )
        )  # fmt: skip
    except (LookupError, ValueError, ImageRejected) as exc:
        return _error(str(exc), caller, here)
    rest.labelled(request)
    return _back(f"{here}?face={done['face_id']}", done="drawn", person=done["person_id"],
                 refined=int(done["refined"]))  # fmt: skip


# --- search by face ----------------------------------------------------------------------------


def _results(found: people.SearchResult) -> str:
    persons = "".join(
        f"<li><a href='/review/persons/{int(p['person_id'])}'>{_thumb(p['face_id'])}"
        f"<strong>{e(p['person_name'])}</strong></a> <span class=meta>similarity"
        f" {p['similarity']:.2f}{' (likely)' if p['similarity'] >= found.threshold else ''}"
        "</span></li>"
        for p in found.persons
    )
    faces = "".join(
        f"<a class=face href='/review/faces/{int(f['id'])}/photo'>{_thumb(f['id'])}"
        f"<span class=meta>{f['similarity']:.2f} {e(f['person_name'] or 'unnamed')}</span></a>"
        for f in found.faces
    )
    return (
        f"<h2>Persons</h2><ol class=persons id=search-persons>{persons or '<li>none</li>'}</ol>"
        f"<h2>Faces, nearest first</h2><div class=grid id=search-faces>{faces}</div>"
    )


def _search_form(caller: Caller) -> str:
    return (
        "<form method=post action='/review/search' enctype=multipart/form-data class=row"
        f" id=search-form>{_csrf_input(caller)}<label>A photo of someone <input type=file"
        " name=file accept='image/*' required></label> <button>Search by face</button></form>"
        "<form method=get action='/review/persons' class=row role=search><input name=q"
        " placeholder='or a name' aria-label='search by name' list=person-names"
        " autocomplete=off data-names> <button>Search by name</button></form>"
    )


@router.get("/review/search")
async def search_page(request: Request, caller: CallerDep, face: int | None = None):
    state = request.app.state
    results = ""
    if face is not None:
        try:
            vector = people.face_vector(state.store, face, state.pack)
        except (LookupError, ValueError) as exc:
            return _error(str(exc), caller, "/review/search")
        found = await run_in_threadpool(people.search, state.store, state.pack, vector,
                                        SEARCH_RESULTS, face)  # fmt: skip
        results = f"<p>Faces like face {int(face)}:</p>{_thumb(face)}" + _results(found)
    body = "<h1>Search</h1>" + _search_form(caller) + results
    return _page("Search", body, caller)


@router.post("/review/search")
async def search_upload(request: Request, caller: CallerDep) -> Response:
    """A photo uploaded from the page: its largest face searched for."""
    state = request.app.state
    form = await request.form()
    upload = form.get("file")
    data = await upload.read() if hasattr(upload, "read") else b""
    try:
        bgr = await run_in_threadpool(analysis.decode, data)
        embedded = await state.models.run(lambda models: analysis.embed(models, bgr))
    except ImageRejected as exc:
        return _error(f"no search: {exc.reason}: {exc.detail}", caller, "/review/search")
    found = await run_in_threadpool(
        people.search, state.store, state.pack, embedded.vector, SEARCH_RESULTS
    )
    body = (
        "<h1>Search</h1>" + _search_form(caller) + "<p>Persons and faces most like the largest"
        " face of your photo:</p>" + _results(found)
    )
    return _page("Search results", body, caller)


# --- the "Is this X?" queue --------------------------------------------------------------------


@router.get("/review/queue")
def queue_page(request: Request, caller: CallerDep) -> HTMLResponse:
    """One question at a time, filled in by review.js from /api/v1/faces/review/queue."""
    body = (
        "<h1>Is this X?</h1><p>The questions the system is least sure about, one at a time."
        " <span class=keys>Keys: <kbd>y</kbd> yes, <kbd>n</kbd> no, <kbd>s</kbd> skip,"
        " <kbd>u</kbd> undo.</span></p><p id=left class=meta></p>"
        "<div id=question aria-live=polite><p>Loading&hellip;</p></div>"
        "<p class=answers><button id=yes>Yes</button> <button id=no>No</button>"
        " <button id=skip>Skip</button> <button id=undo hidden>Undo</button></p>"
        "<p id=status class=meta role=status></p>"
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
