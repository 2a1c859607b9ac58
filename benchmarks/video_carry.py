"""Re-harvest carrying (issue 20): when a clip is harvested again with another run config, does
each human decision land on the new track that shows the same person, and only there?

    nice python benchmarks/video_carry.py [--size 960x540] [--scene CLIP]

The scene clip of benchmarks/video.py (60 s, 4 shots, 6 true appearances of 5 people: A alone
20 s | B + C 20 s | D alone 10 s | A + E 10 s), built from faces_real photos. It is harvested
once with the defaults (every 24th frame) and each track is given the person its faces show
(as if a human labelled every track); then harvested again with other configs, and the new
tracks matched with the old ones by vision/harvest_carry.py (box overlap at the same moment +
the pack's same-person bar on the tracks' means), as services/video_harvest.py does on a
re-harvest.
Figures: old tracks continued (their label carried somewhere), new tracks given a label, of
those given the wrong person's, new tracks given none although the first harvest had a track
of the same appearance (missed), the matching time, and the wrong ones when boxes alone decide
(no same-person bar: what the bar is for). Prints a table and ends with one JSON line.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

warnings.filterwarnings("ignore")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from face_assets.vision import harvest_carry
from face_assets.vision.harvest import harvest_video
from face_assets.vision.harvest_rules import HarvestConfig
from face_assets.vision.models import load_face_models
from face_assets.vision.packs import person_threshold
from face_assets.vision.video import probe_video
from face_assets_tests.vision import clips

_spec = importlib.util.spec_from_file_location("video_bench", Path(__file__).with_name("video.py"))
video_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(video_bench)

RECONFIGS = (
    ("interval 6", HarvestConfig(sample_interval=6)),
    ("interval 10 (no common frame but 1 in 120)", HarvestConfig(sample_interval=10)),
    ("interval 12", HarvestConfig(sample_interval=12)),
    ("interval 48", HarvestConfig(sample_interval=48)),
    ("every 0.75 s", HarvestConfig(sample_seconds=0.75)),
    ("max_crops_per_track 5", HarvestConfig(max_crops_per_track=5)),
    ("min_quality 0.8", HarvestConfig(min_quality=0.8)),
)


def person_tracks(result, truth) -> tuple[list[harvest_carry.TrackFaces], dict[int, int]]:
    """The harvest's tracks as the matcher sees them, and each track's true appearance (most of
    its faces': an index into truth.appearances, whose first field is the person)."""
    tracks, appearance = [], {}
    for track_id, summary in sorted(result.tracks.items()):
        faces = [f for f in result.faces if f.track_id == track_id]
        tracks.append(
            harvest_carry.TrackFaces(
                track_id, [f.time_s for f in faces], [list(f.bbox) for f in faces],
                summary.embedding,
            )
        )  # fmt: skip
        seen = Counter(video_bench.appearance_of(truth, f, result.info.width) for f in faces)
        appearance[track_id] = seen.most_common(1)[0][0]
    return tracks, appearance


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="960x540", help="clip size WxH")
    parser.add_argument("--scene", help="reuse a scene clip of this size built earlier")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    work = Path(tempfile.mkdtemp(prefix="video_carry_"))
    scene = Path(args.scene) if args.scene else work / f"scene_{args.size}.mp4"
    if args.scene:
        truth = clips.segments_truth(video_bench.SEGMENTS)
    else:
        truth = clips.segments_clip(scene, video_bench.FACES_REAL, video_bench.SEGMENTS, size)
    models = load_face_models("buffalo_s", ("CPUExecutionProvider",))
    bar = person_threshold("buffalo_s")
    info = probe_video(scene)

    def harvest(config):
        with tempfile.TemporaryDirectory() as spool:
            return harvest_video(scene, info, models, config, Path(spool))

    old, old_app = person_tracks(harvest(HarvestConfig()), truth)

    def person(appearance: int) -> str:
        return truth.appearances[appearance][0]

    rows = {}
    for label, config in RECONFIGS:
        new, new_app = person_tracks(harvest(config), truth)
        t0 = time.perf_counter()
        parents = harvest_carry.parents(new, old, bar)
        match_ms = (time.perf_counter() - t0) * 1000
        wrong = sum(1 for n, o in parents.items() if person(new_app[n]) != person(old_app[o]))
        by_box = harvest_carry.parents(new, old)  # without the same-person bar: boxes alone
        wrong_by_box = sum(1 for n, o in by_box.items() if person(new_app[n]) != person(old_app[o]))
        tracked = set(old_app.values())  # appearances the first harvest has a track of
        missed = sum(1 for t in new if t.key not in parents and new_app[t.key] in tracked)
        rows[label] = {
            "old_tracks": len(old),
            "old_continued": len(set(parents.values())),
            "new_tracks": len(new),
            "new_labelled": len(parents),
            "wrong_person": wrong,
            "wrong_by_boxes_alone": wrong_by_box,
            "missed": missed,
            "match_ms": round(match_ms, 1),
        }
    print(f"scene {scene.name}: {truth.frames} frames, first harvest every 24th frame:"
          f" {len(old)} tracks")  # fmt: skip
    head = ("re-harvest", "old continued", "new labelled", "wrong person", "missed", "match ms",
            "wrong by boxes alone")  # fmt: skip
    widths = (44, 14, 13, 13, 7, 9, 20)
    print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    for label, r in rows.items():
        cells = (
            label, f"{r['old_continued']}/{r['old_tracks']}",
            f"{r['new_labelled']}/{r['new_tracks']}", r["wrong_person"], r["missed"],
            r["match_ms"], r["wrong_by_boxes_alone"],
        )  # fmt: skip
        print("  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)))
    print(json.dumps({"size": args.size, "old_tracks": len(old), "reharvests": rows}))


if __name__ == "__main__":
    main()
