"""Quality of month-by-month refreshes against a full run, on real embeddings (lfw_dev).

    python benchmarks/refresh_drift.py [--cache var/bench/lfw_dev_buffalo_s.npz] [--seeds 3]

A refresh (refresh.refresh_labels, what services/clusters.py runs for each new month) lets new
faces join last run's clusters and never re-cuts them; only a full run (the weekly schedule)
does. This measures what that costs: the photos of ../shared/data/lfw_dev (embeddings cached by
benchmarks/lfw_embeddings.py) are dealt at random into months; the first month is clustered in
full, then every later month arrives as a refresh with exact neighbour lists (new faces against
everything so far), as the store's probe gives them. The largest face of each photo is scored
(BCubed against its LFW identity, unclustered faces as singletons), for the refreshed library
and for a full run on the same faces.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from face_assets.defaults import QUALITY_GATE
from face_assets.identity import knn, linkage, metrics, refresh

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = ROOT / "var/bench/lfw_dev_buffalo_s.npz"


def refreshed_labels(x: np.ndarray, photos: np.ndarray, month: np.ndarray) -> np.ndarray:
    """Labels after clustering month 0 in full and adding every later month by a refresh."""
    order = np.argsort(month, kind="stable")
    x, photos, month = x[order], photos[order], month[order]
    labels = np.full(x.shape[0], -1, dtype=np.int64)
    first = month == month.min()
    labels[first] = linkage.cluster_graph(x[first], photos[first])
    for m in np.unique(month)[1:].tolist():
        seen = month <= m
        n = int(seen.sum())
        new = month[:n] == m
        lists = knn.knn_graph(x[:n], knn.DEFAULT_K)
        rows = np.flatnonzero(new)
        previous = labels[:n].copy()

        def sums_of(groups: np.ndarray, previous=previous, n=n) -> np.ndarray:
            return np.stack([x[:n][previous == g].sum(axis=0, dtype=np.float64) for g in groups])

        out = refresh.refresh_labels(
            previous,
            new,
            photos[:n],
            knn.Neighbours(lists.indices[rows], lists.similarities[rows]),
            lambda r, n=n: x[:n][r],
            sums_of,
        )
        labels[:n] = out.labels
    back = np.empty_like(labels)
    back[order] = labels
    return back


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    if not args.cache.exists():
        print(f"{args.cache} missing: run benchmarks/lfw_embeddings.py first", file=sys.stderr)
        return 2
    data = np.load(args.cache)
    keep = data["quality"] >= QUALITY_GATE
    x, photos = data["embeddings"][keep], data["photo"][keep]
    scored = data["is_largest"][keep]
    truth = data["identity"][keep][scored]
    full = linkage.cluster_graph(x, photos)
    fp, fr, ff = metrics.bcubed_scores(truth, full[scored])
    print(f"{x.shape[0]} faces of quality >= {QUALITY_GATE}, {int(scored.sum())} scored")
    print(f"{'run':28} {'B3 P':>7} {'B3 R':>7} {'B3 F1':>7} {'clusters':>8} {'s':>6}")
    print(f"{'full':28} {fp:7.4f} {fr:7.4f} {ff:7.4f} {np.unique(full[full >= 0]).size:8d}")
    worst = 1.0
    for months in (12, 48):
        for seed in range(args.seeds):
            rng = np.random.default_rng(seed)
            photo_month = rng.integers(0, months, size=int(photos.max()) + 1)
            t0 = time.perf_counter()
            labels = refreshed_labels(x, photos, photo_month[photos])
            seconds = time.perf_counter() - t0
            p, r, f = metrics.bcubed_scores(truth, labels[scored])
            worst = min(worst, f)
            clusters = np.unique(labels[labels >= 0]).size
            name = f"{months} monthly refreshes, seed {seed}"
            print(f"{name:28} {p:7.4f} {r:7.4f} {f:7.4f} {clusters:8d} {seconds:6.1f}")
    print(f"worst refreshed F1 {worst:.4f} vs full {ff:.4f} ({worst - ff:+.4f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
