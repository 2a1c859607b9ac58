"""The review app's video track actions: naming a whole track (also the undo of "Not X") and
"Not X" on a track (it leaves the person and is never proposed to them again), the same
services as POST /tracks/{id}/label and /reject."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from face_assets.api.auth import CallerDep
from face_assets.api.page_kit import form_fields, local_target, perform, see_other
from face_assets.services import track_labels

router = APIRouter(include_in_schema=False)


@router.post("/review/tracks/{track_id}/label")
async def track_label_form(request: Request, track_id: int, caller: CallerDep) -> Response:
    """Name a whole track (every frame of it is that person)."""
    form = await form_fields(request)
    store = request.app.state.store
    back = local_target(form.get("next"), "/")
    return await perform(request, caller, lambda: track_labels.label_track(
        store, track_id, form.get("name", "")
    ), back, lambda done: see_other(
        back, done="track_named", person=done["person_id"], n=done["faces"]
    ))  # fmt: skip


@router.post("/review/tracks/{track_id}/reject")
async def track_reject_form(request: Request, track_id: int, caller: CallerDep) -> Response:
    """ "Not X" on a whole track, back to X's page with an undo."""
    form = await form_fields(request)
    store = request.app.state.store
    person = form.get("person", "")
    back = local_target(form.get("next"), f"/review/persons/{person}" if person.isdigit() else "/")
    return await perform(request, caller, lambda: track_labels.reject_track(
        store, track_id, int(person) if person.isdigit() else person
    ), back, lambda done: see_other(
        back, done="track_rejected", person=done["person_id"], track=done["track_id"]
    ))  # fmt: skip
