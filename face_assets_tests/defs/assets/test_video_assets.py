"""The video branch through real Dagster runs: the faces_embed job's assets for a month, run
config with the seed's names, re-run that harvests nothing again, and the month's export."""

from __future__ import annotations

import json
import os
import warnings

from dagster import materialize

from face_assets.defs.assets import videos as video_assets
from face_assets.defs.resources import FaceModelsResource, PhotoLibraryResource
from face_assets_tests.defs.assets.helpers import metadata_of, store_resource
from face_assets_tests.vision import clips

MONTH = "2023-11"
STAMP = 1_700_000_000  # 2023-11-14 (the clip has no container time: its file time decides)


def test_faces_embed_assets_for_a_month(store, tmp_path, shared_data):
    root = tmp_path / "library"
    root.mkdir()
    clips.scene_clip(root / "party.mp4", shared_data / "faces_real", 2.0, 2.0)
    os.utime(root / "party.mp4", (STAMP, STAMP))
    resources = {
        "face_models": FaceModelsResource(),
        "store": store_resource(store),
        "library": PhotoLibraryResource(root=str(root)),
    }
    selection = [video_assets.raw_videos, video_assets.video_faces, video_assets.faces_export]
    config = {"ops": {"video_faces": {"config": {"sample_interval": 12,
                                                  "max_crops_per_track": 2}}}}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = materialize(selection, resources=resources, partition_key=MONTH, run_config=config)
        again = materialize(selection, resources=resources, partition_key=MONTH, run_config=config)
    assert first.success and again.success
    harvest = metadata_of(first, "video_faces")
    assert harvest["clips_harvested"] == 1 and harvest["tracks"] == 3
    assert harvest["faces_kept"] <= 3 * 2  # max_crops_per_track from the run config
    assert "over_max_crops_per_track" in harvest["rejection_reason"]
    assert metadata_of(again, "video_faces")["clips_unchanged"] == 1
    with store.transaction() as conn:
        faces = conn.execute("SELECT count(*) FROM video_faces").fetchone()[0]
    assert faces == harvest["faces_kept"]
    out = store.home_path / "exports" / MONTH
    lines = (out / "faces.jsonl").read_text().splitlines()
    assert len(lines) == faces and all(json.loads(x)["track_id"] for x in lines)
