"""The People endpoints under /api/v1/faces: a face the detector missed, "not a face" and its
undo, cover faces and birthdates, photos of several persons, search by face, a photo's
pixels, the undo of a cluster label or of a review answer. Same token, CSRF and error rules
as the rest of the API (app.py)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import cv2
from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi import status as http
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from face_assets.api import people_schemas as ps
from face_assets.api import schemas as s
from face_assets.api.auth import require_caller
from face_assets.api.rest_kit import PREFIX, Page, PageSize, from_row, labelled, page_args
from face_assets.api.service import _decoded, _upload_bytes
from face_assets.services import (
    analysis,
    cluster_naming,
    face_removal,
    face_search,
    manual_faces,
    person_photos,
    person_profiles,
    review_queue,
)
from face_assets.vision.decode import ImageRejected
from face_assets.vision.faces import encode_jpeg

PHOTO_MAX_SIDE = 1600  # longest side of a photo served to the page: a screen's width
MAX_PERSONS_PER_QUERY = 10  # persons (wanted + excluded) one photos query may name
# PhotoOut's fields that the store's photo rows (store/person_photos.photos_of) name otherwise.
PHOTO_ROW_KEYS = {"asset_id": "id", "path": "rel_path", "face_count": "faces"}

router = APIRouter(prefix=PREFIX, tags=["people"], dependencies=[Depends(require_caller)])


def _library(request: Request) -> Path:
    root = request.app.state.library_root
    if root is None:
        raise HTTPException(http.HTTP_503_SERVICE_UNAVAILABLE, "the app has no photo library")
    return root


@router.post("/faces", response_model=ps.ManualFaceResponse, status_code=201)
async def add_face(request: Request, body: ps.ManualFaceRequest) -> ps.ManualFaceResponse:
    """A face the detector missed: the drawn box is refined by the detector on its region at
    a lower threshold (else aligned from the box), embedded, stored as a manual face and
    labelled with the name as a human label. It survives re-detection."""
    state = request.app.state
    box = (body.bbox.x, body.bbox.y, body.bbox.x + body.bbox.width, body.bbox.y + body.bbox.height)
    root = _library(request)
    try:
        done = await state.models.run(
            lambda models: manual_faces.add_manual_face(
                state.store, models, root, body.asset_id, box, body.name
            )
        )
    except ImageRejected as exc:
        raise HTTPException(http.HTTP_409_CONFLICT, f"photo unreadable: {exc.reason}") from exc
    labelled(request)
    return ps.ManualFaceResponse(**done)


@router.post("/faces/{face_id}/not-a-face", response_model=ps.NotAFaceResponse)
def not_a_face(request: Request, face_id: int) -> ps.NotAFaceResponse:
    """Delete a false face (a statue, a poster): a mark on its box keeps every later detection
    from bringing it back. Undo within 30 days with the mark's id."""
    done = face_removal.not_a_face(request.app.state.store, face_id)
    labelled(request)
    return ps.NotAFaceResponse(**done)


@router.post("/marks/{mark_id}/undo", response_model=ps.RestoreFaceResponse)
async def undo_not_a_face(request: Request, mark_id: int) -> ps.RestoreFaceResponse:
    """Undo "not a face": the mark goes and the photo is detected again now."""
    state = request.app.state
    root = state.library_root
    done = await state.models.run(
        lambda models: face_removal.restore_face(state.store, mark_id, models, root)
    )
    labelled(request)
    return ps.RestoreFaceResponse(**done)


@router.patch("/persons/{person_id}", response_model=ps.PersonUpdateResponse)
def update_person(
    request: Request, person_id: int, body: ps.PersonUpdateRequest
) -> ps.PersonUpdateResponse:
    """Set the cover face (`featureFaceId`) and/or the birthdate; a field left out keeps its
    value, null clears it. A birthdate releases automatic assignments in earlier photos and
    is refused while a human label sits in one."""
    state = request.app.state
    sent = body.model_fields_set
    if not sent:
        raise ValueError("send featureFaceId and/or birthdate")
    released = 0
    if "feature_face_id" in sent:
        person_profiles.set_cover(state.store, person_id, body.feature_face_id)
    if "birthdate" in sent:
        done = person_profiles.set_birthdate(state.store, person_id, body.birthdate, state.pack)
        released = done["auto_assignments_released"]
    labelled(request)
    extras = person_profiles.extras_of(state.store, [person_id])[person_id]
    return ps.PersonUpdateResponse(
        person_id=person_id,
        feature_face_id=extras["cover_face_id"],
        birthdate=extras["birthdate"],
        auto_assignments_released=released,
    )


def _ids(raw: str | None, field: str) -> list[int]:
    parts = [p.strip() for p in (raw or "").split(",") if p.strip()]
    if not all(p.isdigit() for p in parts):
        raise ValueError(f"{field} is a comma-separated list of person ids")
    return [int(p) for p in parts]


@router.get("/photos", response_model=ps.PhotoListResponse)
def photos(
    request: Request,
    persons: Annotated[
        str | None, Query(description="person ids, all in the photo", examples=["3,7"])
    ] = None,
    exclude: Annotated[str | None, Query(description="person ids none of whom is in it")] = None,
    taken_from: Annotated[
        datetime | None, Query(alias="from", description="taken at or after")
    ] = None,
    taken_to: Annotated[datetime | None, Query(alias="to", description="taken before")] = None,
    min_faces: Annotated[int | None, Query(alias="minFaces", ge=0)] = None,
    max_faces: Annotated[int | None, Query(alias="maxFaces", ge=0)] = None,
    page: int = Page,
    page_size: int = PageSize,
) -> ps.PhotoListResponse:
    """Photos of A and B (and not C), newest first, paged: served from the faces-by-person
    and photos-by-date indexes."""
    wanted, unwanted = _ids(persons, "persons"), _ids(exclude, "exclude")
    if len(wanted) + len(unwanted) > MAX_PERSONS_PER_QUERY:
        raise ValueError(f"at most {MAX_PERSONS_PER_QUERY} persons per query")
    limit, offset = page_args(page, page_size)
    state = request.app.state
    rows, total = person_photos.photos_of(
        state.store, state.pack, wanted, unwanted, taken_from, taken_to, min_faces, max_faces,
        limit, offset,
    )  # fmt: skip
    return ps.PhotoListResponse(
        items=[
            from_row(
                ps.PhotoOut,
                r,
                PHOTO_ROW_KEYS,
                persons=[ps.PhotoPerson(id=i, name=n) for i, n in r["persons"]],
            )
            for r in rows
        ],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.post("/search", response_model=ps.SearchResponse)
async def search(
    request: Request,
    file: Annotated[
        UploadFile | None, File(description="a photo: its largest face is searched")
    ] = None,
    face_id: Annotated[int | None, Form(alias="faceId", description="or a stored face")] = None,
    limit: Annotated[
        int, Form(ge=1, le=face_search.SEARCH_MAX_FACES)
    ] = face_search.SEARCH_DEFAULT_FACES,
) -> ps.SearchResponse:
    """Persons and faces most like a face, nearest first, with cosine similarities, through
    the pgvector HNSW index of the pack (a bounded walk: fast on a million faces)."""
    state = request.app.state
    if (file is None) == (face_id is None):
        raise ValueError("send a photo ('file') or a stored face ('faceId'), one of them")
    query_face = None
    if face_id is not None:
        vector = face_search.face_vector(state.store, face_id, state.pack)
    else:
        async with _decoded(request, await _upload_bytes(file, None)) as bgr:
            try:
                found = await state.models.run(lambda models: analysis.embed(models, bgr))
            except ImageRejected as exc:
                raise HTTPException(http.HTTP_422_UNPROCESSABLE_CONTENT, exc.detail) from exc
        vector = found.vector
        query_face = None if found.face is None else [round(float(v), 1) for v in found.face.bbox]
    result = await run_in_threadpool(
        face_search.search, state.store, state.pack, vector, limit, face_id
    )
    return ps.SearchResponse(
        persons=[
            ps.SearchPerson(**p, likely=p["similarity"] >= result.threshold) for p in result.persons
        ],
        faces=[
            from_row(ps.SearchFace, f, {"face_id": "id"}, similarity=round(f["similarity"], 4))
            for f in result.faces
        ],
        threshold=result.threshold,
        query_face=query_face,
    )


def photo_jpeg(request: Request, asset_id: int) -> bytes:
    """The photo upright, at most PHOTO_MAX_SIDE wide or high, as JPEG."""
    bgr = person_photos.photo_pixels(request.app.state.store, _library(request), asset_id)
    scale = PHOTO_MAX_SIDE / max(bgr.shape[:2])
    if scale < 1:
        size = (round(bgr.shape[1] * scale), round(bgr.shape[0] * scale))
        bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
    return encode_jpeg(bgr)


@router.get(
    "/assets/{asset_id}/photo",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 404: {"description": "no such photo"}},
)
async def asset_photo(request: Request, asset_id: int) -> Response:
    """The photo itself (upright, downscaled to a screen), for drawing faces on it."""
    try:
        data = await run_in_threadpool(photo_jpeg, request, asset_id)
    except ImageRejected as exc:
        raise HTTPException(http.HTTP_409_CONFLICT, f"photo unreadable: {exc.reason}") from exc
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private"})


@router.post(
    "/labels/{event_id}/undo",
    response_model=ps.UndoLabelResponse,
    responses={400: {"description": "already undone, older than 30 days, or predates undo"}},
)
def undo_label(request: Request, event_id: int) -> ps.UndoLabelResponse:
    """Take back a cluster's naming (its `eventId`): the faces and tracks still named by it go
    back, unnamed, to the cluster; what a human changed since stays."""
    state = request.app.state
    done = cluster_naming.undo_cluster_label(state.store, state.pack, event_id)
    labelled(request)
    return ps.UndoLabelResponse(**done)


@router.post("/review/undo", response_model=ps.UndoResponse)
def review_undo(request: Request, body: s.AnswerRequest) -> ps.UndoResponse:
    """Take back an answer of the queue (the same body): a face's or a track's yes or no, or
    two persons kept apart. A merge or a named cluster is not undone here."""
    state = request.app.state
    done = review_queue.undo_answer(
        state.store, state.pack, review_queue.Reply(**body.model_dump())
    )
    labelled(request)
    return ps.UndoResponse(undone=done["undone"])
