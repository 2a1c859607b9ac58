"""The new-clips sensor on a real library folder: one faces_embed run per month of new or
changed clips, never a second one for an unchanged file, restart-safe through the store."""

from __future__ import annotations

import os

import pytest
from dagster import build_sensor_context

from face_assets.defs.automation import new_videos_sensor
from face_assets.defs.partitions import partition_of
from face_assets.defs.resources import FaceModelsResource, PhotoLibraryResource
from face_assets.services import video_harvest, video_registration
from face_assets.vision.harvest_rules import HarvestConfig
from face_assets_tests.defs.assets.helpers import store_resource
from face_assets_tests.vision import clips

NOVEMBER = 1_700_000_000  # 2023-11-14: the clips carry no container time, so the file time
DECEMBER = 1_702_000_000  # 2023-12-08


def _dated(path, when):
    os.utime(path, (when, when))
    return path


@pytest.fixture
def clip_library(tmp_path, shared_data):
    root = tmp_path / "library"
    (root / "nov").mkdir(parents=True)
    (root / "dec").mkdir()
    scene = clips.scene_clip(root / "nov" / "scene.mp4", shared_data / "faces_real", 1.0, 1.0)
    clips.truncated_copy(root / "nov" / "scene.mp4", root / "nov" / "broken.mov")
    (root / "dec" / "party.mp4").write_bytes((root / "nov" / "scene.mp4").read_bytes())
    _dated(root / "nov" / "scene.mp4", NOVEMBER)
    _dated(root / "nov" / "broken.mov", NOVEMBER)
    _dated(root / "dec" / "party.mp4", DECEMBER)
    del scene
    return root


def _tick(store, root, cursor=None):
    context = build_sensor_context(
        cursor=cursor,
        resources={
            "library": PhotoLibraryResource(root=str(root)),
            "store": store_resource(store),
            "face_models": FaceModelsResource(),
        },
    )
    result = new_videos_sensor(context)
    return result.run_requests or [], result.cursor


def test_new_clips_launch_one_video_run_per_month_never_twice(
    store, clip_library, face_models, shared_data
):
    requests, cursor = _tick(store, clip_library)
    assert sorted(r.partition_key for r in requests) == ["2023-11", "2023-12"]
    assert {r.job_name for r in requests} == {"faces_embed"}
    by_month = {r.partition_key: r for r in requests}
    assert by_month["2023-11"].tags["face_assets/new_files"] == "2"  # the broken clip too
    assert by_month["2023-11"].tags["face_assets/trigger"] == "new_videos"
    again, cursor = _tick(store, clip_library, cursor)
    assert again == []  # unchanged files: no second request, even before the runs finish

    # November's run happens: it registers every clip of the library (December's too) and
    # harvests November's; the broken clip gets its reason and is not pending any more.
    video_registration.register_videos(store, clip_library, partition_of)
    stats = video_harvest.harvest_month(
        store, clip_library, "2023-11", face_models, HarvestConfig()
    )
    assert stats.harvested == 1 and dict(stats.rejected_videos) == {"truncated": 1}
    done, cursor = _tick(store, clip_library, cursor)
    assert done == []
    # Restart-safe: without the cursor the store says what is done; December's clip was
    # registered by November's run but never harvested, so it is still asked for, alone.
    (lost,), _ = _tick(store, clip_library, None)
    assert lost.partition_key == "2023-12" and lost.tags["face_assets/new_files"] == "1"

    # A harvest at another run config is still a harvest of this file: not asked again.
    video_harvest.harvest_month(
        store, clip_library, "2023-11", face_models, HarvestConfig(sample_interval=12)
    )
    assert [r.partition_key for r in _tick(store, clip_library, None)[0]] == ["2023-12"]

    # The November clip changes on disk (same month): one new request, under a new run key.
    clips.scene_clip(clip_library / "nov" / "scene.mp4", shared_data / "faces_real", 1.0, 0.5)
    _dated(clip_library / "nov" / "scene.mp4", NOVEMBER + 60)
    changed, cursor = _tick(store, clip_library, cursor)
    assert [r.partition_key for r in changed] == ["2023-11"]
    assert changed[0].run_key != by_month["2023-11"].run_key
    assert _tick(store, clip_library, cursor)[0] == []
    # Its run re-registers and re-harvests it (the same config, another file): then it is done.
    video_registration.register_videos(store, clip_library, partition_of)
    redo = video_harvest.harvest_month(
        store, clip_library, "2023-11", face_models, HarvestConfig(sample_interval=12)
    )
    assert redo.harvested == 1 and redo.unchanged == 0
    assert [r.partition_key for r in _tick(store, clip_library, None)[0]] == ["2023-12"]


def test_the_sensor_probes_a_bounded_number_of_clips_per_tick(store, clip_library, monkeypatch):
    import face_assets.defs.automation as automation

    monkeypatch.setattr(automation, "MAX_PROBES_PER_TICK", 1)
    seen = []
    cursor = None
    for _ in range(3):  # one clip probed a tick: December's, then November's two in turn
        requests, cursor = _tick(store, clip_library, cursor)
        seen.append([(r.partition_key, r.tags["face_assets/new_files"]) for r in requests])
    assert seen == [[("2023-12", "1")], [("2023-11", "1")], [("2023-11", "2")]]
    assert _tick(store, clip_library, cursor)[0] == []
