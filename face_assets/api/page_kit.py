"""What every page of the review app shares: the document frame (nav, CSP headers, the
session's CSRF token), small widgets (one-button forms, name inputs, thumbnails, photo cards,
pagers), the see-other back to a page with its message line, the error page that says
nothing was changed, and the wrapper every form's service call runs in.

Every user-supplied string (names, cluster ids) goes through html.escape (`e`); forms carry
the session's CSRF token; the Content-Security-Policy allows scripts from this origin only
(review.js: the queue, the box drawing, name suggestions).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlencode

from fastapi import Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from face_assets.api import rest_kit
from face_assets.api.auth import CSRF_FIELD, Caller
from face_assets.api.schemas import MAX_RAW_NAME_LENGTH
from face_assets.errors import ConflictError
from face_assets.services import person_photos, views

PHOTOS_PER_PAGE = 24  # photos on one page of a photo grid
PREVIEW_SMALL, PREVIEW_LARGE = person_photos.PREVIEW_SIDES

# Scripts, styles and images from this origin only; nothing inline can run.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self';"
    " img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none';"
    " base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

e = html.escape
T = TypeVar("T")


def html_page(
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


def csrf_input(caller: Caller) -> str:
    return f"<input type=hidden name={CSRF_FIELD} value='{e(caller.csrf)}'>"


def post_button(action: str, caller: Caller, label: str, fields: str = "", cls: str = "") -> str:
    """A one-button form (a POST with the CSRF token)."""
    return (
        f"<form method=post action='{e(action)}' class='inline {cls}'>{csrf_input(caller)}"
        f"{fields}<button>{e(label)}</button></form>"
    )


def counted(n: int, noun: str) -> str:
    return f"{int(n)} {noun}{'' if int(n) == 1 else 's'}"


def thumb_img(face_id: int, extra: str = "") -> str:
    return f"<img src='/thumb/{int(face_id)}' alt='face {int(face_id)}' loading=lazy {extra}>"


def track_img(track_id: int, extra: str = "") -> str:
    """A video track as its best frame (one image for the whole track)."""
    return (
        f"<img src='/thumb/track/{int(track_id)}' alt='video track {int(track_id)}'"
        f" loading=lazy {extra}>"
    )


def name_input(name: str = "name", value: str = "", placeholder: str = "Name") -> str:
    return (
        f"<input name={name} value='{e(value)}' placeholder='{e(placeholder)}' required"
        f" maxlength={MAX_RAW_NAME_LENGTH} list=person-names autocomplete=off data-names>"
    )


def error_page(
    message: str, caller: Caller, back: str = "/", status_code: int = status.HTTP_400_BAD_REQUEST
) -> HTMLResponse:
    body = (
        f"<h1>Nothing was changed</h1><p class=error>{e(message)}</p>"
        f"<p><a href='{e(back)}'>Back</a></p>"
    )
    return html_page("Not done", body, caller, status_code)


def conflict_page(exc: ConflictError, caller: Caller, back: str = "/") -> HTMLResponse:
    """Another reviewer changed it since this page was read: say so, change nothing."""
    return error_page(
        f"{exc} (reload the page to see it now)", caller, back, status.HTTP_409_CONFLICT
    )


def version_input(version: str | None) -> str:
    return "" if not version else f"<input type=hidden name=version value='{e(version)}'>"


def see_other(location: str, **flash: object) -> RedirectResponse:
    """See-other to a page of ours, with what happened for its message line."""
    if flash:
        location += ("&" if "?" in location else "?") + urlencode(
            {k: v for k, v in flash.items() if v is not None}
        )
    return RedirectResponse(location, status.HTTP_303_SEE_OTHER, headers=SECURITY_HEADERS)


def local_target(target: str | None, default: str) -> str:
    """A return address of this site only (never another host)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def pager(base: str, page: int, total: int, per_page: int, key: str = "page", **keep) -> str:
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

# The message line of each action (`done=` in the address) whose words need nothing but the
# address: {n} is its count, {faces} that many faces, {left} the faces left over and {person}
# the person's name. named, unnamed and drawn have more to say (flash_line).
FLASH_TEXTS = {
    "split": "Split into {n} clusters; {left} faces left without a cluster.",
    "merged": "Merged into {person}: {faces} moved.",
    "unassigned": "The face is no longer {person}'s and will not be given back to them.",
    "notface": "Marked as not a face: no later detection brings it back.",
    "restored": "Restored: {faces} found again on the photo.",
    "labelled": "Named the face {person}.",
    "track_named": "Named the whole video track ({faces}) {person}.",
    "track_rejected": "The video track is not {person}'s and will not be given back to them.",
    "cover": "Cover face set.",
    "birthdate": "Birthdate saved; {n} automatic assignments in earlier photos released.",
    "renamed": "Renamed to {person}.",
    "hidden": "{person} is hidden; {n} automatic assignments released.",
    "unhidden": "{person} is shown again.",
    "forgotten": "Forgotten: {faces} and their files deleted for good.",
}
# The actions the message line can undo: the undo endpoint and the address key of its id.
UNDO_ACTIONS = {
    "named": ("/review/labels/{}/undo", "event"),
    "notface": ("/review/marks/{}/undo", "mark"),
}
# A "not this person" is undone by naming the face or track that person again.
IT_IS_ACTIONS = {
    "unassigned": ("/review/faces/{}/label", "face"),
    "track_rejected": ("/review/tracks/{}/label", "track"),
}


def flash_line(request: Request, caller: Caller) -> str:
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
            return views.find_person(state.store, pid).name if pid else "?"
        except LookupError:
            return "a forgotten person"

    n = number("n")
    faces = counted(n, "face")

    def faces_and_tracks() -> str:
        """'2 faces and 1 video track': the faces left out when only tracks were named."""
        tracks = number("tracks")
        parts = [faces] if n or not tracks else []
        if tracks:
            parts.append(counted(tracks, "video track"))
        return " and ".join(parts)

    who = ""
    if code in FLASH_TEXTS:
        template = FLASH_TEXTS[code]
        if "{person}" in template:  # a store lookup only for the messages that name someone
            who = person_name()
        text = template.format(n=n, faces=faces, left=number("left"), person=who)
    elif code == "named":
        text = f"Named {faces_and_tracks()} as {person_name()}."
        for key, noun in (("left", "face"), ("tleft", "video track")):
            if number(key):
                stay = "stays" if number(key) == 1 else "stay"
                text += (
                    f" {counted(number(key), noun)} you unticked {stay} unnamed, marked as not"
                    " this person."
                )
    elif code == "unnamed":
        text = f"Undone: {faces_and_tracks()} back in the cluster, unnamed."
        if number("left"):
            rest = "stays as it is" if number("left") == 1 else "stay as they are"
            text += f" {counted(number('left'), 'face')} changed since and {rest}."
    elif code == "drawn":
        how = "placed by the detector" if q.get("refined") == "1" else "aligned from your box"
        text = f"Added the face you drew as {person_name()} ({how})."
    else:
        return ""
    undo = ""
    if code in UNDO_ACTIONS:
        path, key = UNDO_ACTIONS[code]
        if number(key):
            undo = post_button(path.format(number(key)), caller, "Undo")
    elif code in IT_IS_ACTIONS:  # 'Undo: it is X' names the face or track X again
        path, key = IT_IS_ACTIONS[code]
        undo = post_button(
            path.format(number(key)),
            caller,
            f"Undo: it is {who}",
            f"<input type=hidden name=name value='{e(who)}'>"
            f"<input type=hidden name=next value='{e(request.url.path)}'>",
        )
    return f"<div class=flash role=status>{e(text)} {undo}</div>"


def photo_card(photo: dict, highlight: int | None = None) -> str:
    names = ", ".join(e(n) for _, n in photo["persons"]) or "nobody named"
    taken = photo["taken_at"].strftime("%Y-%m-%d") if photo["taken_at"] else "undated"
    link = f"/review/photos/{int(photo['id'])}" + (f"?face={int(highlight)}" if highlight else "")
    return (
        f"<a class=photo href='{e(link)}'><img src='/review/photos/{int(photo['id'])}/image"
        f"?size={PREVIEW_SMALL}' alt='photo {int(photo['id'])}' loading=lazy>"
        f"<span class=meta>{e(taken)} · {counted(photo['faces'], 'face')} · {names}</span></a>"
    )


async def form_fields(request: Request) -> dict:
    form = await request.form()
    return {k: str(v) for k, v in form.items()}


def failure_text(exc: Exception) -> str:
    """What went wrong, in words: a KeyError's message without the quotes its str() adds."""
    return str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)


async def perform(
    request: Request,
    caller: Caller,
    work: Callable[[], T],
    back: str,
    then: Callable[[T], Response],
    labelled: bool = True,
) -> Response:
    """Every form's service call, off the event loop (the handlers are async to read their
    form; the database work must not stall the app's other requests): a conflict or a bad
    input changes nothing and says why with a link `back`; done, the labelled hook runs
    (unless the service ran it) and `then` gives the next page."""
    try:
        done = await run_in_threadpool(work)
    except ConflictError as exc:
        return conflict_page(exc, caller, back)
    except (LookupError, ValueError) as exc:
        return error_page(failure_text(exc), caller, back)
    if labelled:
        rest_kit.labelled(request)
    return then(done)
