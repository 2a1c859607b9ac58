"""Ingest throughput: the plain insightface loop against our path with storage, in one process.

    python benchmarks/ingest.py [IMAGE_DIR] [--repeat N] [--dagster]

(a) plain: cv2.imread + FaceAnalysis('buffalo_s', detection+recognition).get() per image.
(b) project: the library scan and registration of raw_images, then the functions behind
    detected_faces, face_embeddings and face_quality (safe decoding, detection, alignment,
    crops and thumbnails on disk, batched embeddings, quality) writing to a real embedded
    PostgreSQL + pgvector. Model loading is excluded from both; both are warmed up first.
(c) with --dagster: the same work as (b) through Dagster's materialize(), one run per month,
    on a fresh store, to show the orchestration overhead.
Prints a table and ends with one JSON line of figures.
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
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

import cv2

from face_assets.defaults import MIN_FACE_SIZE, RECOGNITION_BATCH
from face_assets.defs.partitions import partition_of
from face_assets.defs.resources import FaceStoreResource
from face_assets.library import list_library, scan_library
from face_assets.sample_library import build_sample_library
from face_assets.services import face_detection, face_embedding, face_scoring
from face_assets.store import (
    Store,
    db,
)
from face_assets.store import images as image_store
from face_assets.vision.models import (
    load_face_models,
    vectron_model_dir,
)
from face_assets.vision.packs import PACKS


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def plain_analysis():
    """insightface's own FaceAnalysis on exactly the buffalo_s files our pack uses."""
    from insightface.app import FaceAnalysis

    folder = Path(tempfile.mkdtemp(prefix="buffalo_s_"))
    for name in (PACKS["buffalo_s"].detector, PACKS["buffalo_s"].recognizer):
        (folder / name).symlink_to(vectron_model_dir() / name)
    app = FaceAnalysis(
        name=str(folder),
        allowed_modules=["detection", "recognition"],
        providers=["CPUExecutionProvider"],
    )
    app.prepare(ctx_id=-1, det_size=(640, 640), det_thresh=0.5)
    return app


def run_plain(app, paths: list[Path]) -> tuple[float, int]:
    started = time.perf_counter()
    faces = 0
    for path in paths:
        img = cv2.imread(str(path))
        if img is None:
            continue
        faces += len(app.get(img))
    return time.perf_counter() - started, faces


_SERVERS: list[Path] = []  # embedded servers outlive the process unless stopped


def fresh_store(base: Path) -> Store:
    home = Path(tempfile.mkdtemp(prefix="store_", dir=base))
    url = db.embedded_database_url(home / "pgdata")
    _SERVERS.append(home / "pgdata")
    return Store(url, home)


def stop_servers(work: Path) -> None:
    for pgdata in _SERVERS:
        db.stop_embedded_server(pgdata)
    shutil.rmtree(work, ignore_errors=True)


def run_project(
    models, store: Store, library: Path, min_face_size: float = MIN_FACE_SIZE
) -> tuple[float, int, int]:
    started = time.perf_counter()
    store.url()  # migrations, once (as a run's first step does)

    def month_of(moment):
        return partition_of(moment)

    scanned = list(scan_library(library, {}, month_of))
    months = sorted({s.file.month for s in scanned})
    with store.transaction() as conn:
        image_store.upsert_files(conn, [s.file for s in scanned])
        image_store.register_images(conn, [s.image for s in scanned if s.image is not None])
    detection = face_detection.detect_faces(
        models, store, library, months, min_face_size=min_face_size
    )
    face_embedding.embed_faces(models, store, months, batch_size=RECOGNITION_BATCH)
    face_scoring.score_faces(store, models.pack, months)
    return time.perf_counter() - started, detection.images, detection.faces


def run_dagster(store: Store, library: Path) -> float:
    from dagster import materialize

    from face_assets.defs.jobs import INGEST_ASSETS as FACE_ASSETS
    from face_assets.defs.resources import FaceModelsResource, PhotoLibraryResource

    resources = {
        "face_models": FaceModelsResource(),
        "store": FaceStoreResource(database_url=store.database_url, home=str(store.home_path)),
        "library": PhotoLibraryResource(root=str(library)),
    }
    scanned = list(scan_library(library, {}, partition_of))
    months = sorted({s.file.month for s in scanned})
    started = time.perf_counter()
    for month in months:
        result = materialize(FACE_ASSETS, resources=resources, partition_key=month)
        assert result.success
    return time.perf_counter() - started


def print_table(figures: dict) -> None:
    """One row a path (dagster only when it was timed), then the throughput ratio."""
    print(f"{'path':10} {'seconds':>8} {'images/s':>9} {'faces/s':>8} {'faces':>6}")
    for path, faces in (("plain", figures["plain_faces"]), ("project", figures["faces"])):
        print(
            f"{path:10} {figures[f'{path}_seconds']:8.2f} {figures[f'{path}_images_per_s']:9.2f}"
            f" {figures[f'{path}_faces_per_s']:8.2f} {faces:6d}"
        )
    if "dagster_seconds" in figures:
        print(
            f"{'dagster':10} {figures['dagster_seconds']:8.2f}"
            f" {figures['dagster_images_per_s']:9.2f}"
        )
    print(
        f"ratio project/plain throughput: {figures['ratio']:.3f}; peak RSS"
        f" {figures['peak_rss_mb']:.0f} MB"
    )


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="bench_ingest_"))
    try:
        return measure(work)
    finally:
        stop_servers(work)


def measure(work: Path) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="?", help="image folder (default: the sample library)")
    parser.add_argument("--repeat", type=int, default=2, help="timed repetitions of each path")
    parser.add_argument("--dagster", action="store_true", help="also time materialize()")
    args = parser.parse_args()

    library = Path(args.images) if args.images else work / "library"
    if not args.images:
        build_sample_library(library)
    paths = [library / e.rel_path for e in list_library(library) if e.problem is None]
    print(f"{len(paths)} images in {library}; {os.cpu_count()} CPUs")

    app = plain_analysis()
    models = load_face_models("buffalo_s", ("CPUExecutionProvider",))
    run_plain(app, paths[:2])  # warm-up
    run_project(models, fresh_store(work), library)  # warm-up (also starts PostgreSQL)

    plain_times, project_times, all_faces_times = [], [], []
    plain_faces = project_faces = all_faces = images = 0
    for _ in range(args.repeat):  # interleaved so drift hits every path alike
        seconds, plain_faces = run_plain(app, paths)
        plain_times.append(seconds)
        seconds, images, project_faces = run_project(models, fresh_store(work), library)
        project_times.append(seconds)
        # Same faces as the plain loop: it has no size filter, so it embeds tiny faces too.
        seconds, _, all_faces = run_project(models, fresh_store(work), library, min_face_size=0)
        all_faces_times.append(seconds)
    plain_s, project_s = statistics.median(plain_times), statistics.median(project_times)
    all_faces_s = statistics.median(all_faces_times)
    figures = {
        "images": len(paths),
        "faces": project_faces,
        "plain_faces": plain_faces,
        "plain_seconds": round(plain_s, 3),
        "project_seconds": round(project_s, 3),
        "plain_images_per_s": round(len(paths) / plain_s, 2),
        "project_images_per_s": round(images / project_s, 2),
        "plain_faces_per_s": round(plain_faces / plain_s, 2),
        "project_faces_per_s": round(project_faces / project_s, 2),
        "ratio": round(plain_s / project_s, 3),
        "project_no_size_filter_faces": all_faces,
        "project_no_size_filter_seconds": round(all_faces_s, 3),
        "ratio_same_faces": round(plain_s / all_faces_s, 3),
    }
    if args.dagster:
        dagster_s = run_dagster(fresh_store(work), library)
        figures["dagster_seconds"] = round(dagster_s, 3)
        figures["dagster_images_per_s"] = round(len(paths) / dagster_s, 2)
        figures["dagster_ratio"] = round(plain_s / dagster_s, 3)
    figures["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print_table(figures)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
