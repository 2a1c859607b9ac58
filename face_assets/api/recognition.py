"""The multi-model recognition seed's API (seed 003) under /api/v1/face-recognition, with the
seed's field names: extract-embedding, compare-faces, match-face, statistics, switch-model.

Its models are this project's packs (vision/packs.py), each loaded once per process through
its own ModelService (one semaphore per pack, as the app's own). `model` on a request picks a
pack for that request only; /switch-model changes the service's current pack. Thresholds are
the pack's calibrated defaults, never the seed's placeholders. What the seed answered with 500
gets a 4xx here: an unknown pack (400), a pack whose weights are not installed (409), vectors
of the wrong width (422), a gallery over MAX_GALLERY (413).
"""

from __future__ import annotations

import threading
import time
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile, status
from pydantic import BaseModel, Field

from face_assets.api import service as seed_service
from face_assets.api.auth import require_caller
from face_assets.api.models import ModelService
from face_assets.services import analysis
from face_assets.vision.decode import ImageRejected
from face_assets.vision.models import ModelPackMissingError
from face_assets.vision.packs import PACKS, pack_info
from face_assets.vision.providers import ProviderUnavailableError

PREFIX = "/api/v1/face-recognition"
MAX_GALLERY = 1000  # gallery entries per /match-face: 1000 x 512 floats is ~10 MB of JSON

router = APIRouter(
    prefix=PREFIX, tags=["recognition (seed 003)"], dependencies=[Depends(require_caller)]
)


class RecognitionState:
    """The seed's service state: current pack, loaded packs, and its statistics."""

    def __init__(self, default: ModelService) -> None:
        self.current = default.pack
        self._services = {default.pack: default}
        self._default = default
        self._lock = threading.Lock()
        self.total_recognitions = 0
        self.total_matches = 0
        self.total_seconds = 0.0
        self.model_usage: dict[str, int] = {}

    def service(self, model: str | None) -> ModelService:
        """The ModelService of a pack (the current one when None); ValueError if unknown."""
        name = model or self.current
        pack_info(name)  # ValueError naming the packs: 400
        with self._lock:
            if name not in self._services:
                self._services[name] = ModelService(
                    name, self._default.providers, self._default.concurrency
                )
            return self._services[name]

    def record(self, pack: str, seconds: float, matched: bool | None = None) -> None:
        with self._lock:
            self.total_recognitions += 1
            self.total_seconds += seconds
            self.model_usage[pack] = self.model_usage.get(pack, 0) + 1
            self.total_matches += bool(matched)

    def statistics(self) -> dict:
        with self._lock:
            n = self.total_recognitions
            return {
                "current_model": self.current,
                "total_recognitions": n,
                "total_matches": self.total_matches,
                "match_rate": self.total_matches / n if n else 0.0,
                "average_processing_time": self.total_seconds / n if n else 0.0,
                "model_usage": dict(self.model_usage),
                "loaded_models": sorted(
                    name for name, svc in self._services.items() if svc.loaded is not None
                ),
            }


def state_of(request: Request) -> RecognitionState:
    app = request.app
    if getattr(app.state, "recognition", None) is None:
        app.state.recognition = RecognitionState(app.state.models)
    return app.state.recognition


async def _loaded(service: ModelService) -> None:
    """Load a pack before use; a missing pack or provider is the caller's 409, not a 500."""
    if service.loaded is not None:
        return
    try:
        await service.run(lambda models: None)
    except (ModelPackMissingError, ProviderUnavailableError) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc


def _vector(values: list[float], width: int, field: str) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    if v.shape != (width,):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"{field} has {v.size} values; the pack's embeddings have {width}",
        )
    norm = float(np.linalg.norm(v))
    if not np.isfinite(norm) or norm == 0.0:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{field} is zero or not finite")
    return v / norm


def _confidence(similarity: float, threshold: float, is_match: bool) -> float:
    """The seed's confidence: similarity over threshold capped at 1 for a match, else 0."""
    if not is_match:
        return 0.0
    return min(similarity / threshold, 1.0) if threshold > 0 else 1.0


class CompareRequest(BaseModel):
    embedding1: list[float]
    embedding2: list[float]
    model: str | None = Field(default=None, description="pack of both embeddings")


class GalleryEntry(BaseModel):
    id: str
    embedding: list[float]


class MatchRequest(BaseModel):
    query_embedding: list[float]
    gallery_embeddings: list[GalleryEntry]
    threshold: float | None = Field(default=None, ge=-1.0, le=1.0)
    model: str | None = None


class SwitchRequest(BaseModel):
    model_name: str


@router.get("/models")
def list_models(request: Request) -> dict:
    """Every pack: width, licence, commercial flag, threshold, measured figures."""
    current = state_of(request).current
    return {
        "current_model": current,
        "models": [{**p.__dict__, "current": p.name == current} for p in PACKS.values()],
    }


@router.post("/extract-embedding")
async def extract_embedding(
    request: Request,
    image: Annotated[UploadFile, File(description="a face photo or an aligned crop")],
    model: Annotated[str | None, Form(description="pack for this request only")] = None,
) -> dict:
    """The embedding of the photo's largest face (or of an aligned crop of the pack's input
    size), with its detection confidence and quality, as the seed's extract_embedding."""
    rec = state_of(request)
    service = rec.service(model)
    await _loaded(service)
    started = time.perf_counter()
    upload = await seed_service._upload_bytes(image, None)
    async with seed_service._decoded(request, upload) as bgr:  # within the decode budget
        try:
            result = await service.run(lambda models: analysis.embed(models, bgr))
        except ImageRejected as exc:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, f"{exc.reason}: {exc.detail}"
            ) from exc
    seconds = time.perf_counter() - started
    rec.record(service.pack, seconds)
    face = result.face
    quality = face.quality.quality if face is not None else result.blur_quality
    return {
        "success": True,
        "embedding": result.vector.tolist(),
        "embedding_dim": int(result.vector.shape[0]),
        "confidence": face.det_score if face is not None else result.blur_quality,
        "model_used": service.pack,
        "processing_time": seconds,
        "face_quality": quality,
    }


@router.post("/compare-faces")
def compare_faces(request: Request, body: CompareRequest) -> dict:
    """Cosine similarity of two embeddings of one pack, and whether it reaches the pack's
    calibrated threshold."""
    rec = state_of(request)
    info = pack_info(body.model or rec.current)
    a = _vector(body.embedding1, info.embedding_dim, "embedding1")
    b = _vector(body.embedding2, info.embedding_dim, "embedding2")
    similarity = float(a @ b)
    return {
        "success": True,
        "similarity": similarity,
        "is_match": similarity >= info.person_threshold,
        "threshold": info.person_threshold,
        "model": info.name,
    }


@router.post("/match-face")
def match_face(request: Request, body: MatchRequest) -> dict:
    """The gallery sorted by similarity to the query, each with the seed's fields."""
    rec = state_of(request)
    info = pack_info(body.model or rec.current)
    if len(body.gallery_embeddings) > MAX_GALLERY:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"{len(body.gallery_embeddings)} gallery entries; at most {MAX_GALLERY} a request",
        )
    started = time.perf_counter()
    query = _vector(body.query_embedding, info.embedding_dim, "query_embedding")
    threshold = info.person_threshold if body.threshold is None else body.threshold
    matches = []
    if body.gallery_embeddings:
        gallery = np.vstack(
            [
                _vector(g.embedding, info.embedding_dim, f"gallery_embeddings[{i}].embedding")
                for i, g in enumerate(body.gallery_embeddings)
            ]
        )
        sims = gallery @ query
        for i in np.argsort(-sims, kind="stable"):
            sim = float(sims[i])
            is_match = sim >= threshold
            matches.append(
                {
                    "identity_id": body.gallery_embeddings[i].id,
                    "similarity": sim,
                    # the seed's confidence: similarity over threshold, capped at 1
                    "confidence": _confidence(sim, threshold, is_match),
                    "match_threshold": threshold,
                    "is_match": is_match,
                }
            )
    rec.record(info.name, time.perf_counter() - started, bool(matches and matches[0]["is_match"]))
    return {"success": True, "model": info.name, "matches": matches}


@router.get("/statistics")
def statistics(request: Request) -> dict:
    return state_of(request).statistics()


@router.post("/switch-model")
async def switch_model(request: Request, body: SwitchRequest) -> dict:
    """Make a pack the service's current one (loaded now, so a missing pack fails here)."""
    rec = state_of(request)
    service = rec.service(body.model_name)
    await _loaded(service)
    rec.current = service.pack
    return {"success": True, "current_model": service.pack}
