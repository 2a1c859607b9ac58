"""`pack: auto`: the selector's choice for given memory figures and requirements."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from face_assets.vision import packs, selector


@pytest.fixture
def registry(monkeypatch):
    """Three packs with known figures: big-accurate, small-fast, mid (commercial)."""
    base = packs.pack_info("buffalo_s")
    fake = {
        "big": dataclasses.replace(
            base, name="big", lfw_accuracy=0.998, load_memory_mb=900.0,
            detect_images_per_s=2.0, embed_faces_per_s=3.0,
        ),
        "small": dataclasses.replace(
            base, name="small", lfw_accuracy=0.990, load_memory_mb=60.0,
            detect_images_per_s=20.0, embed_faces_per_s=30.0,
        ),
        "mid": dataclasses.replace(
            base, name="mid", lfw_accuracy=0.994, load_memory_mb=150.0, commercial_use=True,
            detect_images_per_s=15.0, embed_faces_per_s=25.0,
        ),
        "unmeasured": dataclasses.replace(base, name="unmeasured", load_memory_mb=None),
    }  # fmt: skip
    monkeypatch.setattr(packs, "PACKS", fake)
    return list(fake)


def test_accuracy_takes_the_best_pack_that_fits(registry):
    assert selector.select_pack("accuracy", 8000, registry).pack == "big"
    # 900 MB needs 1800 MB free at 50% headroom: with 1000 MB the next best is chosen.
    choice = selector.select_pack("accuracy", 1000, registry)
    assert choice.pack == "mid" and "big" not in choice.candidates
    assert "unmeasured" not in choice.candidates  # no measured figures, never chosen
    assert "1000 MB free" in choice.reason and choice.metadata()["pack"] == "mid"


def test_speed_minimal_memory_and_balanced(registry):
    assert selector.select_pack("speed", 8000, registry).pack == "small"
    assert selector.select_pack("minimal_memory", 8000, registry).pack == "small"
    # balanced: most accurate within 10% of free memory and half the fastest speed.
    assert selector.select_pack("balanced", 8000, registry).pack == "mid"
    assert selector.select_pack("balanced", 20000, registry).pack == "mid"  # big is slow
    assert selector.select_pack("balanced", 1000, registry).pack == "small"  # tight memory


def test_licence_filter_and_nothing_fits(registry):
    assert selector.select_pack("accuracy", 8000, registry, commercial_only=True).pack == "mid"
    with pytest.raises(selector.NoPackFitsError, match="60"):
        selector.select_pack("minimal_memory", 100, registry, device="cuda")
    with pytest.raises(ValueError, match="balanced"):
        selector.select_pack("fastest", 8000, registry)


def test_the_real_registry_choice_on_this_machine():
    installed = selector.installed_packs()
    assert {"buffalo_s", packs.PERMISSIVE_PACK} <= set(installed)
    assert "antelopev2" not in installed  # no weights offline
    choice = selector.select_pack("accuracy", 4000, installed)
    assert choice.pack in installed and set(choice.candidates) <= set(installed)
    assert selector.select_pack("accuracy", 4000, installed, commercial_only=True).pack == (
        packs.PERMISSIVE_PACK
    )
    assert selector.free_memory_mb("cpu") > 0


def test_pack_auto_in_the_settings_resolves_once_and_says_why():
    from face_assets.settings import Settings

    chosen = Settings.from_env(
        {"FACE_ASSETS_PACK": "auto", "FACE_ASSETS_PACK_REQUIREMENT": "minimal_memory"}
    )
    assert chosen.pack in selector.installed_packs()
    assert chosen.pack_choice["requirement"] == "minimal_memory"
    assert chosen.pack_choice["pack"] == chosen.pack and chosen.pack_choice["reason"]


def test_pack_auto_and_its_reason_reach_the_model_assets_run_metadata(tmp_path):
    from face_assets.defs.code_location import build_definitions
    from face_assets.defs.resources import FaceModelsResource
    from face_assets.settings import Settings

    chosen = Settings.from_env(
        {"FACE_ASSETS_PACK": "auto", "FACE_ASSETS_PACK_REQUIREMENT": "minimal_memory"}
    )
    models = build_definitions(chosen, library_root=tmp_path).resources["face_models"]
    assert models.pack == chosen.pack
    loaded = SimpleNamespace(pack=chosen.pack, providers=["CPUExecutionProvider"])
    meta = models.run_metadata(loaded)  # what every model asset adds to its own
    assert (meta["model_pack"], meta["providers"]) == (chosen.pack, "CPUExecutionProvider")
    assert meta["pack_selected_by"] == "auto"
    assert meta["pack_choice"].startswith("minimal_memory on cpu: ")
    assert chosen.pack_choice["reason"] in meta["pack_choice"]
    named = FaceModelsResource(pack="buffalo_s").run_metadata(loaded)
    assert "pack_selected_by" not in named and "pack_choice" not in named  # a named pack
