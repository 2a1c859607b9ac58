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

    def it_is(who: str, action: str) -> str:
        """The Undo of a 'not this person': name the face or track (`action`) `who` again."""
        return post_button(
            action,
            caller,
            f"Undo: it is {who}",
            f"<input type=hidden name=name value='{e(who)}'>"
            f"<input type=hidden name=next value='{e(request.url.path)}'>",
        )

    n, undo = number("n"), ""
    faces = counted(n, "face")

    def faces_and_tracks() -> str:
        """'2 faces and 1 video track': the faces left out when only tracks were named."""
        tracks = number("tracks")
        parts = [faces] if n or not tracks else []
        if tracks:
            parts.append(counted(tracks, "video track"))
        return " and ".join(parts)

    if code == "named":
        text = f"Named {faces_and_tracks()} as {person_name()}."
        for key, noun in (("left", "face"), ("tleft", "video track")):
            if number(key):
                stay = "stays" if number(key) == 1 else "stay"
                text += (
                    f" {counted(number(key), noun)} you unticked {stay} unnamed, marked as not"
                    " this person."
                )
        if number("event"):
            undo = post_button(f"/review/labels/{number('event')}/undo", caller, "Undo")
    elif code == "unnamed":
        text = f"Undone: {faces_and_tracks()} back in the cluster, unnamed."
        if number("left"):
            rest = "stays as it is" if number("left") == 1 else "stay as they are"
            text += f" {counted(number('left'), 'face')} changed since and {rest}."
    elif code == "split":
        text = f"Split into {n} clusters; {number('left')} faces left without a cluster."
    elif code == "merged":
        text = f"Merged into {person_name()}: {faces} moved."
    elif code == "unassigned":
        who = person_name()
        text = f"The face is no longer {who}'s and will not be given back to them."
        undo = it_is(who, f"/review/faces/{number('face')}/label")
    elif code == "notface":
        text = "Marked as not a face: no later detection brings it back."
        undo = post_button(f"/review/marks/{number('mark')}/undo", caller, "Undo")
    elif code == "restored":
        text = f"Restored: {faces} found again on the photo."
    elif code == "drawn":
        how = "placed by the detector" if q.get("refined") == "1" else "aligned from your box"
        text = f"Added the face you drew as {person_name()} ({how})."
    elif code == "labelled":
        text = f"Named the face {person_name()}."
    elif code == "track_named":
        text = f"Named the whole video track ({faces}) {person_name()}."
    elif code == "track_rejected":
        who = person_name()
        text = f"The video track is not {who}'s and will not be given back to them."
        undo = it_is(who, f"/review/tracks/{number('track')}/label")
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
