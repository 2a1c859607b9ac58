"""Seed 001's stateless InsightFace service on the app: /health, /detect, /extract-embedding
(every face with its embedding, as /detect answers), and /extract-single-embedding (one
embedding with seed 000's blur quality). Uploads are decoded by the ingest path's decoder, so a bomb
or a non-image is refused with the same reason codes ingest records."""

from __future__ import annotations

import base64
import binascii
import contextlib
import time
from collections.abc import AsyncIterator
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile, status
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUpload

from face_assets.api.auth import require_caller
from face_assets.api.decode_budget import TooCostly, decode_cost
from face_assets.api.limits import MAX_UPLOAD_BYTES
from face_assets.api.schemas import MAX_MIN_FACE_SIZE
from face_assets.api.service_schemas import (
    DetectedFaceOut,
    DetectResponse,
    EmbeddingResponse,
    HealthResponse,
)
from face_assets.defaults import MIN_CONFIDENCE, MIN_FACE_SIZE
from face_assets.services import analysis, maintenance
from face_assets.services.analysis import AnalysedFace
from face_assets.vision.decode import ImageRejected
from face_assets.vision.packs import embedding_dim

router = APIRouter(tags=["detection service"])
UPLOAD_READ_CHUNK = 1024 * 1024  # bytes read from the spooled upload at a time


def app_version() -> str:
    try:
        return version("face_assets")
    except PackageNotFoundError:
        return "unknown"


def _face_out(face: AnalysedFace) -> DetectedFaceOut:
    return DetectedFaceOut(
        bbox=[round(float(v), 2) for v in face.bbox],
        landmarks=[[round(float(x), 2), round(float(y), 2)] for x, y in face.landmarks],
        det_score=round(face.det_score, 4),
        quality=face.quality,
        embedding=None if face.embedding is None else face.embedding.tolist(),
        age=face.age,
        gender=face.gender,
    )


async def _upload_bytes(file: UploadFile | None, image_base64: str | None) -> bytes:
    """The image's bytes from a multipart file or a base64 field (seed 001 accepts both).
    The body size was already capped by the limits middleware."""
    if file is not None:
        chunks = []
        while chunk := await file.read(UPLOAD_READ_CHUNK):
            chunks.append(chunk)
        return b"".join(chunks)
    if image_base64:
        try:
            return base64.b64decode(image_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, "image_base64 is not valid base64"
            ) from exc
    raise HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT, "send the image as a 'file' or 'image_base64'"
    )


@contextlib.asynccontextmanager
async def _decoded(request: Request, data: bytes) -> AsyncIterator[np.ndarray]:
    """The upload's BGR pixels, decoded only once its estimated memory fits in the app's
    decode budget (held until the caller is done with the pixels: decode_budget.py)."""
    try:
        cost = decode_cost(data)
        async with request.app.state.decode_budget.reserve(cost):
            bgr = await run_in_threadpool(analysis.decode, data)
            yield bgr
    except TooCostly as exc:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(exc)) from exc
    except ImageRejected as exc:
        code = (
            status.HTTP_413_CONTENT_TOO_LARGE
            if exc.reason == "too_many_pixels"
            else status.HTTP_400_BAD_REQUEST
        )
        raise HTTPException(code, f"image refused: {exc.reason}: {exc.detail}") from exc


@router.get("/health", response_model=HealthResponse)
def health(request: Request) -> HealthResponse:
    """Liveness without auth: models, providers, database. Says nothing about the library."""
    state = request.app.state
    models = state.models.loaded
    database = "reachable" if maintenance.database_reachable(state.store) else "unreachable"
    healthy = models is not None and database == "reachable"
    return HealthResponse(
        status="healthy" if healthy else "degraded",
        version=app_version(),
        model=state.models.pack,
        models_loaded=models is not None,
        onnx_providers=list(models.providers) if models else [],
        embedding_dimension=embedding_dim(state.models.pack),
        database=database,
    )


def _detect_response(result: analysis.Analysis, started: float, pack: str) -> DetectResponse:
    """/detect's answer (also /extract-embedding's): the faces, the image's size, the pack and
    the time since `started` (perf_counter)."""
    return DetectResponse(
        faces=[_face_out(f) for f in result.faces],
        processing_time_ms=round((time.perf_counter() - started) * 1000, 2),
        image_width=result.width,
        image_height=result.height,
        model=pack,
    )


@router.post("/detect", response_model=DetectResponse, dependencies=[Depends(require_caller)])
async def detect(
    request: Request,
    file: Annotated[UploadFile | None, File(description="the image")] = None,
    image_base64: Annotated[str | None, Form(description="or the image in base64")] = None,
    min_confidence: Annotated[float, Form(ge=0.0, le=1.0)] = MIN_CONFIDENCE,
    min_face_size: Annotated[float, Form(ge=1, le=MAX_MIN_FACE_SIZE)] = MIN_FACE_SIZE,
    # Seed 001's /detect answers every face with its embedding; false skips the embedding step.
    include_embedding: Annotated[bool, Form(description="the pack's embeddings")] = True,
    model: Annotated[str | None, Form(description="pack for this request only")] = None,
) -> DetectResponse:
    """Faces of an uploaded image: box, 5 landmarks, detection score, quality (and embedding),
    largest first; the same filters and steps as ingest. `model` picks a pack for this request
    (an unknown pack is a 400, one whose weights are not installed a 409)."""
    from face_assets.api import recognition  # it imports this module

    started = time.perf_counter()
    service = request.app.state.models
    if model is not None:
        service = recognition.state_of(request).service(model)
        await recognition._loaded(service)
    async with _decoded(request, await _upload_bytes(file, image_base64)) as bgr:
        result = await service.run(
            lambda models: analysis.analyse(
                models, bgr, min_confidence, min_face_size, include_embedding
            )
        )
    return _detect_response(result, started, service.pack)


_IMAGE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["image_base64"],
                    "properties": {"image_base64": {"type": "string"}},
                }
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "image_base64": {"type": "string"},
                    },
                }
            },
        },
    }
}


async def _request_image(request: Request) -> bytes:
    """The image of a JSON body {"image_base64": ...} (seed 001) or of a multipart form
    (`file` or `image_base64`, as /detect takes it)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            body = await request.json()
        except ValueError as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "the body is not JSON") from exc
        if not isinstance(body, dict) or not isinstance(body.get("image_base64"), str):
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, 'send {"image_base64": "..."}'
            )
        return await _upload_bytes(None, body["image_base64"])
    if kind in ("multipart/form-data", "application/x-www-form-urlencoded"):
        form = await request.form(max_part_size=MAX_UPLOAD_BYTES)
        file, text = form.get("file"), form.get("image_base64")
        return await _upload_bytes(
            file if isinstance(file, StarletteUpload) else None,
            text if isinstance(text, str) else None,
        )
    raise HTTPException(
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        "send JSON {\"image_base64\": ...} or a multipart form with 'file'",
    )


@router.post(
    "/extract-embedding",
    response_model=DetectResponse,
    dependencies=[Depends(require_caller)],
    openapi_extra=_IMAGE_BODY,
)
async def extract_embedding(request: Request) -> DetectResponse:
    """Seed 001: every face of an image with its embedding, in /detect's format; the image as
    JSON {"image_base64": ...} (the seed's body) or multipart (`file` or `image_base64`)."""
    started = time.perf_counter()
    service = request.app.state.models
    async with _decoded(request, await _request_image(request)) as bgr:
        result = await service.run(
            lambda models: analysis.analyse(models, bgr, MIN_CONFIDENCE, MIN_FACE_SIZE, True)
        )
    return _detect_response(result, started, service.pack)


@router.post(
    "/extract-single-embedding",
    response_model=EmbeddingResponse,
    dependencies=[Depends(require_caller)],
)
async def extract_single_embedding(
    request: Request,
    file: Annotated[UploadFile | None, File(description="a face photo or aligned crop")] = None,
    image_base64: Annotated[str | None, Form(description="or the image in base64")] = None,
    normalize: Annotated[bool, Form(description="L2-normalise the embedding")] = True,
) -> EmbeddingResponse:
    """One embedding (the pack's width): of an aligned crop as sent, else of the photo's
    largest face (detected and aligned as ingest does), with the crop's blur quality (seed
    000). This was /extract-embedding before that name took seed 001's meaning (every face, as
    /detect)."""
    started = time.perf_counter()
    service = request.app.state.models
    async with _decoded(request, await _upload_bytes(file, image_base64)) as bgr:
        try:
            result = await service.run(lambda models: analysis.embed(models, bgr, normalize))
        except ImageRejected as exc:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, f"{exc.reason}: {exc.detail}"
            ) from exc
    return EmbeddingResponse(
        embedding=result.vector.tolist(),
        embedding_dim=int(result.vector.shape[0]),
        normalize=normalize,
        quality_score=result.blur_quality,
        blur_variance=result.blur_variance,
        aligned_input=result.aligned_input,
        face=None if result.face is None else _face_out(result.face),
        processing_time_ms=round((time.perf_counter() - started) * 1000, 2),
        model=service.pack,
    )
