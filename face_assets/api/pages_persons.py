"""The review app's persons: the grid with cover faces and a name search, name suggestions,
merging two persons, and a person's page (photos with a filter, faces, timeline, cover,
birthdate, rename, hide, forget behind a typed confirmation)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, Response

from face_assets.api.auth import Caller, CallerDep
from face_assets.api.page_kit import (
    PHOTOS_PER_PAGE,
    SECURITY_HEADERS,
    counted,
    csrf_input,
    e,
    flash_line,
    form_fields,
    html_page,
    name_input,
    pager,
    perform,
    photo_card,
    post_button,
    see_other,
    thumb_img,
    track_img,
)
from face_assets.identity.names import MAX_NAME_LENGTH
from face_assets.services import forgetting, labels, person_photos, person_profiles, views
from face_assets.services.views import clip_time

FACES_PER_PERSON_PAGE = 48  # faces on one page of a person's faces
TRACKS_PER_PERSON_PAGE = 48  # video tracks shown on a person's page (each one picture)
PERSONS_PER_PAGE = 48  # persons on one page of the persons grid
NAME_SUGGESTIONS = 10  # names offered while typing one

router = APIRouter(include_in_schema=False)


@router.get("/review/names")
def name_suggestions(request: Request, _: CallerDep, q: str = "") -> JSONResponse:
    """Active persons' names containing `q`, most faces first (the name inputs' suggestions)."""
    rows, _total = views.person_grid(request.app.state.store, q[:MAX_NAME_LENGTH], "active",
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
    rows, total = views.person_grid(
        store, q[:MAX_NAME_LENGTH], show, PERSONS_PER_PAGE, (page - 1) * PERSONS_PER_PAGE
    )
    cards = "".join(
        f"<a class=card href='/review/persons/{int(p['id'])}'>"
        + (thumb_img(p["cover"]) if p["cover"] else "<span class=nocover></span>")
        + f"<strong>{e(p['name'])}</strong><span class=meta>{counted(p['faces'], 'face')},"
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
        f"<p>{total} {e(show)} persons{' named like ' + e(repr(q)) if q else ''}, most faces"
        " first.</p>"
        f"<div class=grid id=persons>{cards or '<p>Nobody here yet.</p>'}</div>"
        + pager("/review/persons", page, total, PERSONS_PER_PAGE, q=q, show=show)
        + "<h2>Merge two persons</h2><p>Someone named one person twice? Type both names.</p>"
        f"<form method=post action='/review/merge' id=merge-form class=row>{csrf_input(caller)}"
        f"{name_input('source', placeholder='This person')} is the same as"
        f" {name_input('into', placeholder='that person')} <button>Merge</button></form>"
    )
    return html_page("Persons", body, caller, flash=flash_line(request, caller))


@router.post("/review/merge")
async def merge_form(request: Request, caller: CallerDep) -> Response:
    state = request.app.state
    form = await request.form()

    def work() -> tuple:
        source = views.find_person(state.store, str(form.get("source") or ""))
        into = views.find_person(state.store, str(form.get("into") or ""))
        return into, labels.merge_persons(state.store, str(source.id), str(into.id), state.pack)

    return await perform(request, caller, work, "/review/persons", lambda done: see_other(
        f"/review/persons/{done[0].id}", done="merged", person=done[0].id,
        n=done[1]["faces_moved"],
    ))  # fmt: skip


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
        return see_other(f"/review/persons/{int(p['merged_into'])}")
    extra = person_profiles.profile(state.store, person_id)
    facts = person_profiles.face_facts(
        state.store, [f["id"] for f in p["face_list"]], extra["birthdate"]
    )
    name = p["name"]
    others, problem = [], ""
    if with_.strip():
        try:
            others = [views.find_person(state.store, with_).id]
        except LookupError:
            problem = f"<p class=error>Nobody is called {e(with_)}.</p>"
    shots, shot_total = person_photos.photos_of(
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
    tracks = views.person_tracks(state.store, person_id, TRACKS_PER_PERSON_PAGE)
    n_tracks = len(tracks) if len(tracks) < TRACKS_PER_PERSON_PAGE else (
        views.person_track_count(state.store, person_id)
    )  # fmt: skip
    track_part = (
        f"<h2>Video tracks</h2><p>{counted(n_tracks, 'video track')}, each shown by its best"
        ' frame; a track is one person throughout, so "Not" takes the whole track away.'
        + (f" The {len(tracks)} longest are shown." if n_tracks > len(tracks) else "")
        + "</p><div class=grid id=tracks>"
        + "".join(_person_track(t, name, caller) for t in tracks)
        + "</div>"
        if tracks
        else ""
    )
    cover = thumb_img(extra["cover_face_id"], "class=cover") if extra["cover_face_id"] else ""
    birth = extra["birthdate"].isoformat() if extra["birthdate"] else ""
    hide = "unhide" if p["status"] == "hidden" else "hide"
    base = f"/review/persons/{int(person_id)}"
    body = (
        f"<header class=person>{cover}<div><h1>{e(name)}</h1><p class=meta>{e(p['status'])},"
        f" {int(p['faces'])} faces"
        f"{', ' + counted(n_tracks, 'video track') if tracks else ''};"
        f" first seen {e(first)}, last seen {e(last)}"
        f"{', born ' + e(birth) if birth else ''}</p></div></header>"
        f"<ul class=years aria-label='faces per year'>{years}</ul>"
        f"<h2>Photos</h2><form method=get action='{base}' class=row role=search>"
        f"<input name=with value='{e(with_)}' placeholder='with another person'"
        " aria-label='with another person' list=person-names autocomplete=off data-names>"
        " <button>Filter</button></form>"
        f"{problem}<p>{counted(shot_total, 'photo')}{' with ' + e(with_) if others else ''}, newest"
        f" first.</p><div class=grid id=photos>"
        + "".join(photo_card(s) for s in shots)
        + "</div>"
        + pager(base, photos, shot_total, PHOTOS_PER_PAGE, key="photos", **{"with": with_})
        + f"<h2>Faces</h2><p>Human labels first, then the least sure automatic ones.</p>"
        f"<div class=grid id=faces>{faces}</div>"
        + pager(base, page, int(p["faces"]), FACES_PER_PERSON_PAGE)
        + track_part
        + "<h2>Edit</h2><div class=edit>"
        f"<form method=post action='{base}/rename' class=row>{csrf_input(caller)}"
        f"<input name=name value='{e(name)}' required maxlength={MAX_NAME_LENGTH}"
        " aria-label='new name'> <button>Rename</button></form>"
        f"<form method=post action='{base}/birthdate' class=row id=birthdate-form>"
        f"{csrf_input(caller)}<label>Birthdate <input type=date name=birthdate"
        f" value='{e(birth)}'></label> <button>Save birthdate</button></form>"
        + post_button(f"{base}/{hide}", caller, hide.capitalize() + " this person")
        + f"<form method=post action='{base}/forget' class=row id=forget-form>"
        f"{csrf_input(caller)}<label>Type <kbd>forget {e(name)}</kbd> to delete this"
        " person's faces and name for good: <input name=confirm required autocomplete=off>"
        "</label> <button class=danger>Forget</button></form></div>"
    )
    return html_page(name, body, caller, flash=flash_line(request, caller))


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
        else post_button(
            f"/review/persons/{int(face['person_id'])}/cover",
            caller,
            "Make cover",
            f"<input type=hidden name=face value='{face_id}'>",
        )
    )
    return (
        f"<div class=face data-face='{face_id}'><a href='/review/faces/{face_id}/photo'>"
        f"{thumb_img(face_id)}</a><span class=meta>{e(how)}</span>"
        f"<span class=meta>{e(when)}{e(age)}</span>"
        + post_button(f"/review/faces/{face_id}/unassign", caller, f"Not {name}")
        + make_cover
        + "</div>"
    )


def _person_track(track: dict, name: str, caller: Caller) -> str:
    """One video track of the person: its best frame, the clip and time, and "Not X"."""
    track_id, person = int(track["track_id"]), int(track["person_id"])
    return (
        f"<div class='face track' data-track='{track_id}'>{track_img(track_id)}"
        f"<span class='meta when'>{e(clip_time(track['video'], track['time_s']))}</span>"
        f"<span class=meta>{counted(track['face_count'], 'frame')}</span>"
        + post_button(
            f"/review/tracks/{track_id}/reject",
            caller,
            f"Not {name}",
            f"<input type=hidden name=person value='{person}'>",
        )
        + "</div>"
    )


async def _person_action(request: Request, person_id: int, caller: Caller, work) -> Response:
    """A person form: `work` returns the message line's fields; back to the person's page."""
    here = f"/review/persons/{int(person_id)}"
    return await perform(request, caller, work, here,
                         lambda flash: see_other(here, person=person_id, **flash))  # fmt: skip


@router.post("/review/persons/{person_id}/rename")
async def rename_form(request: Request, person_id: int, caller: CallerDep) -> Response:
    name = (await form_fields(request)).get("name", "")
    store = request.app.state.store
    return await _person_action(request, person_id, caller, lambda: (
        labels.rename_person(store, str(person_id), name) and {"done": "renamed"}
    ))  # fmt: skip


@router.post("/review/persons/{person_id}/birthdate")
async def birthdate_form(request: Request, person_id: int, caller: CallerDep) -> Response:
    raw = (await form_fields(request)).get("birthdate", "").strip()
    state = request.app.state

    def work() -> dict:
        try:
            when = date.fromisoformat(raw) if raw else None
        except ValueError as exc:
            raise ValueError(f"{raw!r} is not a date like 2015-06-01") from exc
        done = person_profiles.set_birthdate(state.store, person_id, when, state.pack)
        return {"done": "birthdate", "n": done["auto_assignments_released"]}

    return await _person_action(request, person_id, caller, work)


@router.post("/review/persons/{person_id}/cover")
async def cover_form(request: Request, person_id: int, caller: CallerDep) -> Response:
    face = (await form_fields(request)).get("face", "")
    store = request.app.state.store
    return await _person_action(request, person_id, caller, lambda: (
        person_profiles.set_cover(store, person_id, int(face) if face.isdigit() else None)
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
    confirm = (await form_fields(request)).get("confirm", "")
    store = request.app.state.store
    back = f"/review/persons/{int(person_id)}"

    def work() -> dict:
        person = views.find_person(store, person_id)
        if confirm.strip() != f"forget {person.name}":
            raise ValueError(f"type exactly 'forget {person.name}' to forget this person")
        # services.forgetting holds forget (labels has none); the library root lets it take
        # the name out of the sidecars export-tags wrote, as the REST forget does. Off the
        # event loop: its disk scrub rewrites tables for seconds.
        return forgetting.forget_person(
            store, str(person_id), library_root=request.app.state.library_root
        )

    return await perform(request, caller, work, back, lambda done: see_other(
        "/review/persons", done="forgotten", n=done["faces_deleted"]
    ))  # fmt: skip
