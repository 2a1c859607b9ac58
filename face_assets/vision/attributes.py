"""Age and gender from a pack's attribute model (seed 001's optional `age`, `gender`).

InsightFace's genderage.onnx (in buffalo_l, antelopev2 and the zoo's buffalo_s zip) reads a
96x96 box-centred crop and answers [female logit, male logit, age / 100]. The crop and its
pixel scaling are InsightFace's own (insightface.model_zoo.attribute.Attribute, which the
model zoo's router builds for a 96x96 input): the face box's centre, its longer side x 1.5
scaled to the input, RGB, and the mean/std the graph's first nodes call for (0/1 for the
MXNet-converted genderage.onnx, 127.5/128 otherwise). We call that class, so what a face gets
is exactly what InsightFace's FaceAnalysis would say."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

GENDER_LABELS = ("F", "M")  # InsightFace: gender index 0 = female, 1 = male (Face.sex)
ATTRIBUTE_INPUT = 96  # genderage.onnx's input side; the zoo's router keys on it
GENDERAGE_OUTPUTS = 3  # female logit, male logit, age / 100


@dataclass(frozen=True)
class FaceAttributes:
    age: int
    gender: str  # "M" or "F", as seed 001 answers


class _Box(dict):
    """The face InsightFace's Attribute.get reads (`.bbox`) and writes its findings into."""

    def __init__(self, bbox) -> None:
        super().__init__()
        self.bbox = np.asarray(bbox[:4], dtype=np.float32)


class AttributeModel:
    """A loaded genderage model: one forward pass per face box."""

    def __init__(self, model: object) -> None:
        if getattr(model, "taskname", None) != "genderage":
            raise ValueError(
                f"not a genderage model (InsightFace read it as {type(model).__name__}): a"
                f" genderage.onnx reads 1x3x{ATTRIBUTE_INPUT}x{ATTRIBUTE_INPUT} and answers"
                f" {GENDERAGE_OUTPUTS} values"
            )
        self.model = model

    def estimate(self, bgr: np.ndarray, bbox) -> FaceAttributes:
        """Age and gender of the face in `bbox` (x1, y1, x2, y2) of a BGR image, by
        InsightFace's Attribute.get: its crop, scaling, forward pass and decoding (gender =
        argmax of the two logits, age = round(third output x 100))."""
        gender, age = self.model.get(bgr, _Box(bbox))
        return FaceAttributes(age=int(age), gender=GENDER_LABELS[int(gender)])


def load_attribute_model(
    path: Path, providers: list[str], provider_options: list[dict], sess_options
) -> AttributeModel:
    """The attribute model at `path` through InsightFace's model zoo (as the detector and the
    recognizer are loaded); ValueError when the file is not a genderage model."""
    from insightface.model_zoo import get_model

    model = get_model(
        str(path), providers=providers, provider_options=provider_options,
        sess_options=sess_options,
    )  # fmt: skip
    return AttributeModel(model)
