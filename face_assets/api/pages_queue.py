"""The review app's "Is this X?" queue: one question at a time, filled in by review.js from
/api/v1/faces/review/queue (the page itself is a shell)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from face_assets.api.auth import CallerDep
from face_assets.api.page_kit import (
    html_page,
)

router = APIRouter(include_in_schema=False)


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
    return html_page("Is this X?", body, caller)
