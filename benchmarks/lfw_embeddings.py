"""Embed ../shared/data/lfw_dev with the real buffalo_s models into a tuning cache (.npz).

    python benchmarks/lfw_embeddings.py [--data DIR] [--out var/bench/lfw_dev_buffalo_s.npz]

Every detected face of every photo is kept, exactly as ingestion would keep it (same decoder,
SCRFD thresholds, face order, aligned crop and quality formula), because the product clusters
all faces of quality >= 0.5, not only the labelled ones. The identity in manifest.csv belongs to
the photo's largest face only (LFW centres the named person); other faces are strangers.

Arrays in the cache (one row per face unless said otherwise):
  embeddings (n, 512) float32, L2-normalised    photo (n,) int64: row of `paths`
  is_largest (n,) bool: the photo's first face  identity (n,) str: the photo's identity
  quality (n,) float32                          paths (photos,) str, identities (photos,) str

This is a cache for tuning face_assets.identity.linkage (benchmarks/graph_tuning.py); it skips
the database on purpose. The end-to-end benchmark runs the real Dagster/PostgreSQL pipeline.
Takes a few minutes on 2 CPU cores. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

from face_assets.defaults import MIN_CONFIDENCE, MIN_FACE_SIZE, RECOGNITION_BATCH
from face_assets.vision.decode import ImageRejected, decode_image
from face_assets.vision.faces import aligned_crop, kept_faces
from face_assets.vision.models import load_face_models
from face_assets.vision.quality import quality_parts

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared/data/lfw_dev"
DEFAULT_OUT = ROOT / "var/bench/lfw_dev_buffalo_s.npz"
PACK = "buffalo_s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--limit", type=int, default=0, help="first N photos only (0: all)")
    args = parser.parse_args(argv)

    with open(args.data / "manifest.csv", newline="") as fh:
        rows = [(r["path"], r["identity"]) for r in csv.DictReader(fh)]
    if args.limit:
        rows = rows[: args.limit]
    models = load_face_models(PACK)
    started = time.perf_counter()
    crops, photo, largest, quality, failed = [], [], [], [], 0
    for index, (path, _identity) in enumerate(rows):
        try:
            bgr = decode_image((args.data / path).read_bytes()).bgr
        except (ImageRejected, OSError):
            failed += 1
            continue
        boxes, kps = models.detect(bgr, threshold=MIN_CONFIDENCE)
        for rank, face in enumerate(kept_faces(boxes, kps, MIN_CONFIDENCE, MIN_FACE_SIZE)):
            crop = aligned_crop(bgr, face.landmarks)
            parts = quality_parts(face.det_score, face.width, face.height, crop, face.landmarks)
            crops.append(crop)
            photo.append(index)
            largest.append(rank == 0)
            quality.append(parts.quality)
        if (index + 1) % 250 == 0:
            print(f"{index + 1}/{len(rows)} photos, {len(crops)} faces", file=sys.stderr)
    embeddings = models.embed(crops, batch_size=RECOGNITION_BATCH)
    seconds = time.perf_counter() - started
    photo_arr = np.asarray(photo, dtype=np.int64)
    identities = np.asarray([identity for _, identity in rows])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        embeddings=embeddings.astype(np.float32),
        photo=photo_arr,
        is_largest=np.asarray(largest, dtype=bool),
        identity=identities[photo_arr],
        quality=np.asarray(quality, dtype=np.float32),
        paths=np.asarray([path for path, _ in rows]),
        identities=identities,
    )
    summary = {
        "photos": len(rows),
        "failed": failed,
        "faces": len(crops),
        "photos_without_face": int(len(rows) - failed - np.unique(photo_arr).size),
        "quality_ge_0.5": int(np.sum(np.asarray(quality) >= 0.5)),
        "seconds": round(seconds, 1),
        "out": str(args.out),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
