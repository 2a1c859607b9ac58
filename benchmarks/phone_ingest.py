"""Phone-sized photos: our ingest against the plain insightface loop, JPEG and HEIC (issue 19).

    python ../shared/tools/make_phone_photos.py ../shared/data/lfw_dev /tmp/phone 60
    python benchmarks/phone_ingest.py /tmp/phone [--heic-dir /tmp/phone_heic] [--repeat 1]

The library: 4032 x 3024 JPEGs (q 92, sensor-like noise, EXIF dates, 1-4 real LFW faces of
500-900 px). The HEIC set is the same photos encoded by pillow-heif (made once, kept).
(a) plain: cv2.imread + FaceAnalysis('buffalo_s', detection+recognition).get() per photo; for
    HEIC (which OpenCV cannot read) pillow-heif's decode + the same get().
(b) project: scan and registration, then detected_faces, face_embeddings and face_quality's
    functions (reduced decoding, detection, alignment, crops, embeddings, quality) writing to a
    real embedded PostgreSQL + pgvector. Both warmed up; model loading excluded.
Prints images/s, the ratio, the share of time per stage, and this process's peak RSS after
our path ran on half and on all of the library, before the plain loop (flat = no growth with
the library's size; for HEIC the JPEG round came first); ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import cv2
import numpy as np
from ingest import fresh_store, plain_analysis, stop_servers
from PIL import Image

from face_assets.defaults import RECOGNITION_BATCH
from face_assets.defs.partitions import partition_of
from face_assets.library import list_library, scan_library
from face_assets.services import face_detection, face_embedding, face_scoring
from face_assets.store import images as image_store
from face_assets.vision.decode import decode_image
from face_assets.vision.models import load_face_models

HEIC_QUALITY = 80  # a phone's HEIC is about half its JPEG's size
# x265 "ultrafast": encoding 60 photos at the default preset takes ~30 min on 2 cores; the
# preset changes encoding tools, not what a decoder must do per pixel.
HEIC_ENCODER = {"preset": "ultrafast"}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def make_heic(jpegs: Path, out: Path) -> None:
    """The same photos as HEIC (with their EXIF), made once."""
    for entry in list_library(jpegs):
        target = (out / entry.rel_path).with_suffix(".heic")
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        img = Image.open(jpegs / entry.rel_path)
        exif = img.info.get("exif", b"")
        img.save(target, "HEIF", quality=HEIC_QUALITY, exif=exif, enc_params=HEIC_ENCODER)


def run_plain(app, paths: list[Path]) -> tuple[float, int]:
    started = time.perf_counter()
    faces = 0
    for path in paths:
        if path.suffix.lower() == ".heic":
            rgb = np.asarray(Image.open(path).convert("RGB"))
            img = np.ascontiguousarray(rgb[..., ::-1])
        else:
            img = cv2.imread(str(path))
        faces += len(app.get(img))
    return time.perf_counter() - started, faces


def run_project(models, store, library: Path) -> dict:
    started = time.perf_counter()
    store.url()
    scanned = list(scan_library(library, {}, partition_of))
    months = sorted({s.file.month for s in scanned})
    with store.transaction() as conn:
        image_store.upsert_files(conn, [s.file for s in scanned])
        image_store.register_images(conn, [s.image for s in scanned if s.image is not None])
    register_s = time.perf_counter() - started
    detection = face_detection.detect_faces(models, store, library, months)
    embedding = face_embedding.embed_faces(models, store, months, batch_size=RECOGNITION_BATCH)
    quality = face_scoring.score_faces(store, models.pack, months)
    total = time.perf_counter() - started
    return {
        "seconds": total,
        "images": detection.images,
        "faces": detection.faces,
        "reread": detection.reread_images,
        "failed": dict(detection.failed),
        "stages": {
            "scan+register": register_s,
            "decode": detection.decode_seconds,
            "detect": detection.detect_seconds,
            "align+crops": detection.align_seconds,
            "embed": embedding.model_seconds,
            "store": detection.store_seconds + (embedding.seconds - embedding.model_seconds),
            "quality": quality.seconds,
        },
    }


def subset(library: Path, work: Path, count: int) -> Path:
    """The first `count` photos of the library, linked into a folder of their own."""
    out = Path(tempfile.mkdtemp(prefix="subset_", dir=work))
    for entry in list(list_library(library))[:count]:
        target = out / entry.rel_path
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(library / entry.rel_path, target)
    return out


def measure_format(label, app, models, library: Path, work: Path, repeat: int) -> dict:
    paths = [library / e.rel_path for e in list_library(library) if e.problem is None]
    half = subset(library, work, len(paths) // 2)
    run_plain(app, paths[:2])
    # Our path first on half the library (also the warm-up), then on all of it, before the
    # plain loop holds any full-size photo: the two peaks say whether memory grows with size.
    run_project(models, fresh_store(work), half)
    rss_half = peak_rss_mb()
    runs = [run_project(models, fresh_store(work), library)]
    rss_all = peak_rss_mb()
    plain_times = []
    seconds, plain_faces = run_plain(app, paths)
    plain_times.append(seconds)
    for _ in range(repeat - 1):  # more rounds interleaved, so drift hits both paths alike
        runs.append(run_project(models, fresh_store(work), library))
        seconds, plain_faces = run_plain(app, paths)
        plain_times.append(seconds)
    plain_s = statistics.median(plain_times)
    run = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
    return {
        "format": label,
        "images": len(paths),
        "plain_seconds": round(plain_s, 2),
        "plain_images_per_s": round(len(paths) / plain_s, 2),
        "plain_faces": plain_faces,
        "project_seconds": round(run["seconds"], 2),
        "project_images_per_s": round(run["images"] / run["seconds"], 2),
        "project_faces": run["faces"],
        "reread_images": run["reread"],
        "failed": run["failed"],
        "ratio": round(plain_s / run["seconds"], 2),
        "stage_share": {k: round(v / run["seconds"], 3) for k, v in run["stages"].items()},
        "peak_rss_mb_half": round(rss_half, 0),
        "peak_rss_mb_all": round(rss_all, 0),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("jpegs", type=Path, help="folder made by make_phone_photos.py")
    parser.add_argument("--heic-dir", type=Path, help="where the HEIC copies are (made once)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-heic", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_phone_"))
    try:
        sample = next(p for p in args.jpegs.rglob("*.jpg"))
        full = decode_image(sample.read_bytes(), name=sample.name)
        print(f"{sample.name}: {full.bgr.shape[1]} x {full.bgr.shape[0]}; {os.cpu_count()} CPUs")
        app = plain_analysis()
        models = load_face_models("buffalo_s", ("CPUExecutionProvider",))
        results = [measure_format("JPEG", app, models, args.jpegs, work, args.repeat)]
        if not args.no_heic:
            heic = args.heic_dir or work / "heic"
            make_heic(args.jpegs, heic)
            results.append(measure_format("HEIC", app, models, heic, work, args.repeat))
        print(
            f"{'format':6} {'photos':>6} {'plain img/s':>11} {'ours img/s':>10} {'ratio':>6}"
            f" {'faces plain/ours':>16} {'re-read':>7} {'RSS half/all MB':>15}"
        )
        for r in results:
            print(
                f"{r['format']:6} {r['images']:6d} {r['plain_images_per_s']:11.2f}"
                f" {r['project_images_per_s']:10.2f} {r['ratio']:6.2f}"
                f" {r['plain_faces']:>7d}/{r['project_faces']:<8d} {r['reread_images']:7d}"
                f" {r['peak_rss_mb_half']:>7.0f}/{r['peak_rss_mb_all']:<7.0f}"
            )
        for r in results:
            shares = ", ".join(f"{k} {v:.0%}" for k, v in r["stage_share"].items())
            print(f"{r['format']} share of our time: {shares}")
        print(json.dumps(results))
    finally:
        stop_servers(work)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
