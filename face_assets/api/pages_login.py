"""Signing in to the review app (the token once, then a session cookie) and the files every
page loads: its own script and style, and face and video track thumbnails."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from face_assets.api import rest_faces, videos
from face_assets.api.auth import Caller, CallerDep
from face_assets.api.page_kit import (
    SECURITY_HEADERS,
    e,
    html_page,
    local_target,
    see_other,
)

STATIC_DIR = Path(__file__).parent / "static"

router = APIRouter(include_in_schema=False)


def logged_in(request: Request, target: str) -> RedirectResponse:
    auth = request.app.state.auth
    response = see_other(target)
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
        f" value='{e(local_target(next, '/'))}'><input name=token type=password required"
        " autocomplete=current-password aria-label=token> <button>Sign in</button></form>"
    )
    return html_page("Sign in", body, Caller("anonymous"), status_code)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    token = str(form.get("token") or "")
    if not request.app.state.auth.token_matches(token):
        return html_page("Sign in", "<p class=error>Wrong token.</p>", Caller("anonymous"), 401)
    return logged_in(request, local_target(str(form.get("next") or ""), "/"))


@router.get("/thumb/{face_id}")
def thumbnail(request: Request, face_id: int, _: CallerDep) -> Response:
    """A face's JPEG, found by id in the store; never a file outside the media root."""
    return rest_faces.face_thumbnail(request, face_id)


@router.get("/thumb/track/{track_id}")
def track_thumbnail(request: Request, track_id: int, _: CallerDep) -> Response:
    """A video track's best frame, found by id in the store; never outside the media root."""
    return videos.track_thumbnail(request, track_id)


@router.get("/static/{name}")
def static(name: str, _: CallerDep) -> Response:
    """The page's own script and style (two known files; nothing else is served)."""
    files = {"review.js": "text/javascript", "review.css": "text/css"}
    if name not in files:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    return FileResponse(STATIC_DIR / name, media_type=files[name], headers=SECURITY_HEADERS)
