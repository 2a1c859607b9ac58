"""The review app's photos and search: photos of several persons (and not others) by date,
a photo's page (its faces boxed on it, a face drawn by hand, the "not a face" marks to
undo), its preview image, and search by face (an uploaded photo or a face of ours)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from face_assets.api import rest_kit
from face_assets.api.auth import Caller, CallerDep
from face_assets.api.page_kit import (
    PHOTOS_PER_PAGE,
    PREVIEW_LARGE,
    counted,
    csrf_input,
    e,
    error_page,
    flash_line,
    form_fields,
    html_page,
    name_input,
    pager,
    photo_card,
    post_button,
    see_other,
    thumb_img,
)
from face_assets.api.people import MAX_PERSONS_PER_QUERY
from face_assets.identity.lifetime import age_on
from face_assets.services import (
    analysis,
    face_search,
    manual_faces,
    person_photos,
    person_profiles,
    views,
)
from face_assets.vision.decode import ImageRejected

SEARCH_RESULTS = 24  # faces shown by a search by face

router = APIRouter(include_in_schema=False)


def _resolve_names(store, raw: str) -> tuple[list[int], list[str]]:
    """Person ids of comma-separated names (or ids), and the names nobody has; at most
    MAX_PERSONS_PER_QUERY names are read (the API's limit on what one query may cost)."""
    found, unknown = [], []
    for part in [p.strip() for p in raw.split(",") if p.strip()][:MAX_PERSONS_PER_QUERY]:
        try:
            found.append(views.find_person(store, part).id)
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
        rows, total = person_photos.photos_of(
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
        f"{problems}<p>{counted(total, 'photo')}, newest first.</p>"
        f"<div class=grid id=photos>{''.join(photo_card(r) for r in rows)}</div>"
        + pager("/review/photos", page, total, PHOTOS_PER_PAGE, **{
            "with": with_, "without": without, "from": taken_from, "to": taken_to})
    )  # fmt: skip
    return html_page("Photos", body, caller)


@router.get("/review/photos/{image_id}/image")
async def photo_image(
    request: Request, image_id: int, _: CallerDep, size: int = PREVIEW_LARGE
) -> Response:
    state = request.app.state
    if size not in person_photos.PREVIEW_SIDES:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, f"size is one of {person_photos.PREVIEW_SIDES}"
        )
    if state.library_root is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the app has no photo library")
    try:
        data = await run_in_threadpool(
            person_photos.photo_preview, state.store, state.library_root, image_id, size
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
        photo = person_photos.photo_detail(state.store, image_id)
        faces = views.image_faces(state.store, image_id, state.pack)
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    facts = person_profiles.face_facts(state.store, [f["id"] for f in faces])
    births = person_profiles.extras_of(state.store, sorted({f["person_id"] for f in faces
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
            act = post_button(f"/review/faces/{fid}/unassign", caller, f"Not {f['person_name']}")
        else:
            who = "unnamed"
            act = (
                f"<form method=post action='/review/faces/{fid}/label' class=row>"
                f"{csrf_input(caller)}<input type=hidden name=next value='{here}'>"
                f"{name_input()} <button>Name</button></form>"
            )
        items.append(
            f"<li class=face data-face='{fid}'>{thumb_img(fid)}<span>{who}"
            f"{' (drawn)' if fact.get('source') == 'manual' else ''}"
            f"{', age ' + str(age) if age is not None else ''}</span>{act}"
            + post_button(f"/review/faces/{fid}/not-a-face", caller, "Not a face", cls="quiet")
            + f"<a href='/review/search?face={fid}'>Find similar</a></li>"
        )
    marks = "".join(
        f"<li>A box marked not a face on {m['created_at']:%Y-%m-%d}"
        + post_button(f"/review/marks/{int(m['id'])}/undo", caller, "Undo: it is a face")
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
        f"{csrf_input(caller)}<input type=hidden name=x><input type=hidden name=y>"
        f"<input type=hidden name=w><input type=hidden name=h>{name_input()}"
        " <button>Add this face</button></form>"
        f"<h2>Faces</h2><ul class=faces>{''.join(items) or '<li>No faces.</li>'}</ul>"
        + (f"<h2>Not faces</h2><ul>{marks}</ul>" if marks else "")
    )
    return html_page(f"Photo {image_id}", body, caller, flash=flash_line(request, caller))


@router.post("/review/photos/{image_id}/faces")
async def draw_form(request: Request, image_id: int, caller: CallerDep) -> Response:
    form = await form_fields(request)
    state = request.app.state
    here = f"/review/photos/{int(image_id)}"
    try:
        x, y, w, h = (float(form.get(k, "")) for k in ("x", "y", "w", "h"))
        if state.library_root is None:
            raise ValueError("the app has no photo library")
        done = await state.models.run(
            lambda models: manual_faces.add_manual_face(
                state.store, models, state.library_root, image_id, (x, y, x + w, y + h),
                form.get("name", ""),
            )
        )  # fmt: skip
    except (LookupError, ValueError, ImageRejected) as exc:
        return error_page(str(exc), caller, here)
    rest_kit.labelled(request)
    return see_other(f"{here}?face={done['face_id']}", done="drawn", person=done["person_id"],
                 refined=int(done["refined"]))  # fmt: skip


# --- search by face ----------------------------------------------------------------------------


def _results(found: face_search.SearchResult) -> str:
    persons = "".join(
        f"<li><a href='/review/persons/{int(p['person_id'])}'>{thumb_img(p['face_id'])}"
        f"<strong>{e(p['person_name'])}</strong></a> <span class=meta>similarity"
        f" {p['similarity']:.2f}{' (likely)' if p['similarity'] >= found.threshold else ''}"
        "</span></li>"
        for p in found.persons
    )
    faces = "".join(
        f"<a class=face href='/review/faces/{int(f['id'])}/photo'>{thumb_img(f['id'])}"
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
        f" id=search-form>{csrf_input(caller)}<label>A photo of someone <input type=file"
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
            vector = face_search.face_vector(state.store, face, state.pack)
        except (LookupError, ValueError) as exc:
            return error_page(str(exc), caller, "/review/search")
        found = await run_in_threadpool(face_search.search, state.store, state.pack, vector,
                                        SEARCH_RESULTS, face)  # fmt: skip
        results = f"<p>Faces like face {int(face)}:</p>{thumb_img(face)}" + _results(found)
    body = "<h1>Search</h1>" + _search_form(caller) + results
    return html_page("Search", body, caller)


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
        return error_page(f"no search: {exc.reason}: {exc.detail}", caller, "/review/search")
    found = await run_in_threadpool(
        face_search.search, state.store, state.pack, embedded.vector, SEARCH_RESULTS
    )
    body = (
        "<h1>Search</h1>" + _search_form(caller) + "<p>Persons and faces most like the largest"
        " face of your photo:</p>" + _results(found)
    )
    return html_page("Search results", body, caller)
