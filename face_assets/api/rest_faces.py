"""Seed 002's face and asset endpoints: "not this person", a face's thumbnail, a photo's faces."""

from __future__ import annotations

from fastapi import Request, Response

from face_assets.api import schemas as s
from face_assets.api.rest_kit import face_out, labelled, library_router, thumbnail, thumbnail_route
from face_assets.services import labels, person_profiles, views

router = library_router()


@router.post("/faces/{face_id}/unassign", response_model=s.UnassignResponse)
def unassign_face(request: Request, face_id: int) -> s.UnassignResponse:
    """ "Not this person": the face leaves its person and is never given back to them."""
    state = request.app.state
    result = labels.unassign_face(state.store, face_id, state.pack)
    labelled(request)
    return s.UnassignResponse(face_id=face_id, person_id=result["person_id"], was=result["was"])


@router.get("/faces/{face_id}/thumbnail", **thumbnail_route("face"))
def face_thumbnail(request: Request, face_id: int) -> Response:
    data = views.face_thumbnail(request.app.state.store, face_id)
    return thumbnail(data, f"no thumbnail for face {face_id}")


@router.get("/assets/{asset_id}", response_model=s.FaceListResponse)
def asset_faces(request: Request, asset_id: int) -> s.FaceListResponse:
    """A photo's faces (asset = image id), in face order, with their persons."""
    state = request.app.state
    faces = views.image_faces(state.store, asset_id, state.pack)
    facts = person_profiles.face_facts(state.store, [f["id"] for f in faces])
    return s.FaceListResponse(
        items=[face_out(f, facts) for f in faces], total=len(faces), page=1, page_size=len(faces)
    )
