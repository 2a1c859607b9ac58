"""The review app's one-face actions: a face's photo, "Not X" (unassign), naming one face
(also the undo of "Not X"), "not a face" and its undo."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response

from face_assets.api import rest_kit
from face_assets.api.auth import CallerDep
from face_assets.api.page_kit import (
    error_page,
    form_fields,
    local_target,
    perform,
    see_other,
)
from face_assets.services import face_removal, labels, person_profiles

router = APIRouter(include_in_schema=False)


@router.get("/review/faces/{face_id}/photo")
def face_photo(request: Request, face_id: int, _: CallerDep) -> Response:
    """From any face to its full photo, with the face's box drawn."""
    facts = person_profiles.face_facts(request.app.state.store, [face_id])
    if face_id not in facts:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no face {face_id}")
    return see_other(f"/review/photos/{int(facts[face_id]['asset_id'])}?face={int(face_id)}")


@router.post("/review/faces/{face_id}/unassign")
def unassign_form(request: Request, face_id: int, caller: CallerDep) -> Response:
    state = request.app.state
    try:
        result = labels.unassign_face(state.store, face_id, state.pack)
    except (LookupError, ValueError) as exc:
        return error_page(str(exc), caller)
    rest_kit.labelled(request)
    person = int(result["person_id"])
    return see_other(f"/review/persons/{person}", done="unassigned", person=person, face=face_id)


@router.post("/review/faces/{face_id}/label")
async def face_label_form(request: Request, face_id: int, caller: CallerDep) -> Response:
    """Name one face (a photo's unnamed face, or the undo of "Not X")."""
    form = await form_fields(request)
    state = request.app.state
    back = local_target(form.get("next"), "/")
    return await perform(request, caller, lambda: labels.label_faces(
        state.store, [face_id], form.get("name", ""), state.pack
    ), back, lambda done: see_other(back, done="labelled", person=done["person_id"]))  # fmt: skip


@router.post("/review/faces/{face_id}/not-a-face")
def not_a_face_form(request: Request, face_id: int, caller: CallerDep) -> Response:
    try:
        done = face_removal.not_a_face(request.app.state.store, face_id)
    except (LookupError, ValueError) as exc:
        return error_page(str(exc), caller)
    rest_kit.labelled(request)
    return see_other(
        f"/review/photos/{int(done['asset_id'])}", done="notface", mark=done["mark_id"]
    )


@router.post("/review/marks/{mark_id}/undo")
async def undo_mark_form(request: Request, mark_id: int, caller: CallerDep) -> Response:
    state = request.app.state
    try:
        done = await state.models.run(
            lambda models: face_removal.restore_face(
                state.store, mark_id, models, state.library_root
            )
        )
    except (LookupError, ValueError) as exc:
        return error_page(str(exc), caller)
    rest_kit.labelled(request)
    return see_other(f"/review/photos/{int(done['asset_id'])}", done="restored",
                 n=done["faces_found_again"])  # fmt: skip
