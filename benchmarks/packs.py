"""Verification, calibrated thresholds, speed and memory of every installed model pack.

    nice python benchmarks/packs.py --packs buffalo_s dlib_resnet [--data DIR] [--far 1e-3]

For each pack, on ../shared/data/lfw_dev (250x250 deep-funneled LFW photos):
- Faces: each photo's face is the detection nearest the image centre (LFW centres the named
  person). A photo where nothing passes the 0.5 confidence filter is retried at a lower
  confidence (RETRY_CONFIDENCE); where still nothing is found the face is cut at the mean
  landmarks of the detected photos (LFW photos are aligned, so the mean is a fair prior).
  Every photo thus gets a face; the counts of retries and fallbacks are printed.
- Verification in LFW's way: LFW's own View 2 pairs among lfw_dev's people
  (pairs_official.txt: 789 matched, 219 mismatched) plus mismatched pairs drawn with a fixed
  seed from lfw_dev's other people until the two kinds balance; 10 folds; each fold's
  threshold maximises accuracy on the other nine. Both plain and flip-averaged embeddings
  (mean of the crop's and its mirror's embedding; a known test-time gain), whatever the pack's
  registry option flip_average says (the pipeline embeds the way it says).
- Calibrated threshold: every pair of photos of different people among all lfw_dev photos
  (~4.8M impostor pairs) gives the similarity at a stated false-accept rate; TAR there is over
  every same-person pair (~7k genuine pairs). Also the FAR of the pack's current registry
  threshold.
- Speed: detection photos/s (decode + detect + 5 points) and embedding faces/s (batches of
  the pipeline's RECOGNITION_BATCH) on this machine; load memory = resident set growth.
Ends with one JSON line per pack (the figures registry entries quote).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import psutil

from face_assets.vision.decode import decode_image
from face_assets.vision.faces import MIN_CONFIDENCE, MIN_FACE_SIZE, kept_faces
from face_assets.vision.models import RECOGNITION_BATCH, load_face_models
from face_assets.vision.packs import PACKS, pack_info

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared/data/lfw_dev"
RETRY_CONFIDENCE = 0.2  # second try for a photo where nothing passes the 0.5 filter
FOLDS = 10  # LFW View 2
SEED = 21  # mismatched pairs drawn for balance
FARS = (1e-3, 1e-4, 1e-5)  # false-accept rates the thresholds are reported at


def _photo(name: str, number: int) -> str:
    return f"{name}/{name}_{number:04d}.jpg"


def lfw_pairs(data: Path, rng: np.random.Generator) -> tuple[list, list]:
    """(matched, mismatched) pairs of photo paths: LFW's own, then balancing mismatches."""
    matched, mismatched = [], []
    for line in (data / "pairs_official.txt").read_text().splitlines():
        parts = line.split("\t")
        if len(parts) == 3:
            matched.append((_photo(parts[0], int(parts[1])), _photo(parts[0], int(parts[2]))))
        elif len(parts) == 4:
            mismatched.append((_photo(parts[0], int(parts[1])), _photo(parts[2], int(parts[3]))))
    with open(data / "manifest.csv", newline="") as fh:
        rows = [(r["path"], r["identity"]) for r in csv.DictReader(fh)]
    seen = set(mismatched)
    while len(mismatched) < len(matched):
        a, b = rng.choice(len(rows), 2, replace=False)
        if rows[a][1] == rows[b][1] or (rows[a][0], rows[b][0]) in seen:
            continue
        seen.add((rows[a][0], rows[b][0]))
        mismatched.append((rows[a][0], rows[b][0]))
    return matched, mismatched


def centre_face(faces: list, shape: tuple[int, int]):
    """The detection nearest the photo's centre (LFW's named person)."""
    cy, cx = shape[0] / 2, shape[1] / 2
    return min(
        faces,
        key=lambda f: (
            ((f.bbox[0] + f.bbox[2]) / 2 - cx) ** 2 + ((f.bbox[1] + f.bbox[3]) / 2 - cy) ** 2
        ),
    )


def photo_faces(models, data: Path, paths: list[str]) -> dict:
    """Every photo's centre face: crops, how found, timings."""
    landmarks, images, how = {}, {}, {}
    started = time.perf_counter()
    for index, path in enumerate(paths):
        bgr = decode_image((data / path).read_bytes()).bgr
        images[path] = bgr
        for confidence, label in ((MIN_CONFIDENCE, "detected"), (RETRY_CONFIDENCE, "retried")):
            boxes, kps = models.detect(bgr, threshold=confidence)
            faces = kept_faces(boxes, kps, confidence, MIN_FACE_SIZE)
            if faces:
                landmarks[path] = centre_face(faces, bgr.shape[:2]).landmarks
                how[path] = label
                break
        if (index + 1) % 500 == 0:
            print(f"  {models.pack}: {index + 1}/{len(paths)} photos", file=sys.stderr)
    detect_seconds = time.perf_counter() - started
    prior = np.mean([landmarks[p] for p in landmarks], axis=0)
    for path in paths:
        if path not in landmarks:
            landmarks[path], how[path] = prior, "fallback"
    crops = {p: models.align(images[p], landmarks[p]) for p in paths}
    return {"crops": crops, "how": how, "detect_seconds": detect_seconds}


def fold_accuracy(sims: np.ndarray, same: np.ndarray, folds: int = FOLDS) -> tuple[float, float]:
    """LFW-style: threshold chosen on nine folds, accuracy on the tenth; mean and std."""
    order = np.random.default_rng(SEED).permutation(len(sims))
    fold_of = np.empty(len(sims), dtype=int)
    fold_of[order] = np.arange(len(sims)) % folds
    accs = []
    for fold in range(folds):
        train, test = fold_of != fold, fold_of == fold
        candidates = np.unique(sims[train])
        best = max(
            candidates,
            key=lambda t: np.mean((sims[train] >= t) == same[train]),
        )
        accs.append(np.mean((sims[test] >= best) == same[test]))
    return float(np.mean(accs)), float(np.std(accs))


def library_pairs(emb: np.ndarray, identity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Similarities of every same-person pair and every different-person pair."""
    sims = emb @ emb.T
    upper = np.triu(np.ones_like(sims, dtype=bool), k=1)
    same = identity[:, None] == identity[None, :]
    return sims[upper & same], sims[upper & ~same]


def measure(
    pack: str, data: Path, far_list: tuple[float, ...], limit: int, save: Path | None = None
) -> dict:
    proc = psutil.Process(os.getpid())
    rss0 = proc.memory_info().rss
    t0 = time.perf_counter()
    models = load_face_models(pack, ("CPUExecutionProvider",))
    load_seconds = time.perf_counter() - t0
    load_mb = (proc.memory_info().rss - rss0) / 2**20
    rng = np.random.default_rng(SEED)
    matched, mismatched = lfw_pairs(data, rng)
    with open(data / "manifest.csv", newline="") as fh:
        rows = [(r["path"], r["identity"]) for r in csv.DictReader(fh)]
    if limit:  # a quick run: the first photos, pairs among them, rebalanced among them
        rows = rows[:limit]
        keep = {p for p, _ in rows}
        matched = [p for p in matched if p[0] in keep and p[1] in keep]
        mismatched = [p for p in mismatched if p[0] in keep and p[1] in keep]
        seen = set(mismatched)
        while len(mismatched) < len(matched):
            a, b = rng.choice(len(rows), 2, replace=False)
            if rows[a][1] != rows[b][1] and (rows[a][0], rows[b][0]) not in seen:
                seen.add((rows[a][0], rows[b][0]))
                mismatched.append((rows[a][0], rows[b][0]))
    paths = [p for p, _ in rows]
    found = photo_faces(models, data, paths)
    crops = [found["crops"][p] for p in paths]
    # Both kinds whatever the registry's flip_average says (it is what this measures): plain
    # is one view per face (the registry option off), flip the registry's flip averaging on.
    registered = PACKS[pack]
    try:
        PACKS[pack] = replace(registered, flip_average=False)
        t1 = time.perf_counter()
        emb = models.embed(crops, batch_size=RECOGNITION_BATCH)
        embed_seconds = time.perf_counter() - t1
        PACKS[pack] = replace(registered, flip_average=True)
        both = models.embed(crops, batch_size=RECOGNITION_BATCH)
    finally:
        PACKS[pack] = registered
    row_of = {p: i for i, p in enumerate(paths)}
    identity = np.asarray([i for _, i in rows])
    out = {
        "pack": pack,
        "dim": int(emb.shape[1]),
        "photos": len(paths),
        "detected": sum(v == "detected" for v in found["how"].values()),
        "retried": sum(v == "retried" for v in found["how"].values()),
        "fallback": sum(v == "fallback" for v in found["how"].values()),
        "load_mb": round(load_mb, 1),
        "load_s": round(load_seconds, 2),
        "detect_images_per_s": round(len(paths) / found["detect_seconds"], 1),
        "embed_faces_per_s": round(len(paths) / embed_seconds, 1),
        "pairs": [len(matched), len(mismatched)],
    }
    if save:
        save.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            save / f"lfw_dev_{pack}.npz",
            embeddings=emb, flipped=both, identity=identity, paths=np.asarray(paths),
        )  # fmt: skip
    threshold_now = pack_info(pack).person_threshold
    bar_now = pack_info(pack).cluster_min_similarity
    for label, vectors in (("plain", emb), ("flip", both)):
        pair_list = matched + mismatched
        sims = np.asarray([float(vectors[row_of[a]] @ vectors[row_of[b]]) for a, b in pair_list])
        same = np.asarray([True] * len(matched) + [False] * len(mismatched))
        acc, std = fold_accuracy(sims, same)
        genuine, impostor = library_pairs(vectors, identity)
        entry = {
            "lfw_accuracy": round(acc, 4),
            "lfw_std": round(std, 4),
            "genuine_pairs": int(genuine.size),
            "impostor_pairs": int(impostor.size),
            "far_at_registry_threshold": float(np.mean(impostor >= threshold_now)),
            "tar_at_registry_threshold": round(float(np.mean(genuine >= threshold_now)), 4),
            "far_at_cluster_bar": float(np.mean(impostor >= bar_now)),
        }
        for far in far_list:
            threshold = float(np.quantile(impostor, 1.0 - far))
            entry[f"threshold_far_{far:g}"] = round(threshold, 4)
            entry[f"tar_far_{far:g}"] = round(float(np.mean(genuine >= threshold)), 4)
        out[label] = entry
    return out


def print_table(results: list[dict], fars: tuple[float, ...]) -> None:
    head = (
        f"{'pack':12} {'dim':>4} {'emb':5} {'LFW acc':>15} "
        + " ".join(f"{'thr@' + format(f, 'g'):>10} {'TAR':>6}" for f in fars)
        + f" {'FAR@reg':>9} {'det/s':>6} {'emb/s':>6} {'MB':>6} {'no face':>8}"
    )
    print(head)
    for r in results:
        for label in ("plain", "flip"):
            e = r[label]
            cells = " ".join(
                f"{e[f'threshold_far_{f:g}']:>10.3f} {e[f'tar_far_{f:g}']:>6.3f}" for f in fars
            )
            print(
                f"{r['pack']:12} {r['dim']:>4} {label:5} "
                f"{e['lfw_accuracy'] * 100:>8.2f} +-{e['lfw_std'] * 100:4.2f} {cells} "
                f"{e['far_at_registry_threshold']:>9.2e} {r['detect_images_per_s']:>6} "
                f"{r['embed_faces_per_s']:>6} {r['load_mb']:>6} "
                f"{r['retried']:>3}+{r['fallback']:<4}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packs", nargs="+", default=["buffalo_s", "dlib_resnet"])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--far", type=float, nargs="+", default=list(FARS))
    parser.add_argument("--limit", type=int, default=0, help="first N photos only (0: all)")
    parser.add_argument("--save", type=Path, help="folder for lfw_dev_<pack>.npz embeddings")
    args = parser.parse_args(argv)
    unknown = [p for p in args.packs if p not in PACKS]
    if unknown:
        parser.error(f"unknown packs {unknown}; choose from {sorted(PACKS)}")
    results = [measure(p, args.data, tuple(args.far), args.limit, args.save) for p in args.packs]
    print_table(results, tuple(args.far))
    for r in results:
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
