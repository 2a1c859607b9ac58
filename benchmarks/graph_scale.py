"""Scale of graph clustering on synthetic libraries: time, memory, incremental refresh.

    python benchmarks/graph_scale.py --faces 100000 [--seed 0] [--method average]
    python benchmarks/graph_scale.py --faces 100000 --compare-hnsw   # index choice

Library: face_assets.identity.synthetic (long-tailed people, group photos, 100 months). The
newest month (1% of faces) is held back; the rest is clustered in full (index build + kNN graph
+ clustering; peak RSS from getrusage), then the month is added incrementally: its faces go into
the kept index, and they join the clusters they reach (refresh.refresh_labels, the maths of the
product's refresh in services/clusters.py, with the data in memory instead of the store); the
same library is then clustered in full for comparison. Quality is BCubed F1 against the
synthetic persons.
Targets (issue "Identities at library scale", 2 cores): 100k full <= 60 s, <= 4 GB, month
<= 10 s; 1M full <= 15 min, <= 16 GB, month <= 60 s. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

import _graph_tools as graph_tools
import numpy as np

from face_assets.identity import knn, linkage, metrics, refresh, synthetic


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux: KiB


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _compare_hnsw(x: np.ndarray, k: int, exact_sample: int = 2000) -> dict:
    """Build + full self-search time and edge recall of FAISS IVF vs hnswlib on x."""
    import hnswlib

    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(x.shape[0], size=min(exact_sample, x.shape[0]), replace=False))
    exact = graph_tools.neighbours_of(x[sample], x, k + 1)
    truth = [
        set(i[(s >= linkage.DEFAULT_MIN_SIMILARITY) & (i != r)].tolist())
        for i, s, r in zip(exact.indices, exact.similarities, sample, strict=True)
    ]

    def recall(indices: np.ndarray) -> float:
        found = sum(len(t & set(row.tolist())) for t, row in zip(truth, indices, strict=True))
        return found / max(1, sum(len(t) for t in truth))

    out = {}
    t0 = time.perf_counter()
    index = knn.FaceIndex.build(x, exact_below=0)
    built = time.perf_counter() - t0
    nb = knn.knn_graph(x, k, index=index)
    out["ivf"] = {
        "build_s": round(built, 1),
        "total_s": round(time.perf_counter() - t0, 1),
        "edge_recall": round(recall(nb.indices[sample]), 4),
    }
    t0 = time.perf_counter()
    h = hnswlib.Index(space="ip", dim=x.shape[1])
    h.init_index(max_elements=x.shape[0], M=16, ef_construction=100, random_seed=0)
    h.add_items(x, np.arange(x.shape[0]), num_threads=2)
    built = time.perf_counter() - t0
    h.set_ef(64)
    labels, _ = h.knn_query(x, k=k + 1, num_threads=2)
    out["hnswlib"] = {
        "build_s": round(built, 1),
        "total_s": round(time.perf_counter() - t0, 1),
        "edge_recall": round(recall(labels[sample].astype(np.int64)), 4),
    }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--method", default=linkage.DEFAULT_GRAPH_METHOD)
    parser.add_argument("--k", type=int, default=knn.DEFAULT_K)
    parser.add_argument("--compare-hnsw", action="store_true")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    lib = synthetic.synthetic_library(args.faces, seed=args.seed)
    gen_s = time.perf_counter() - t0
    newest = lib.months == lib.months.max()
    old = ~newest
    n_old = int(old.sum())  # rows are ordered by month: the old faces are a prefix (views)
    x_old, photos_old = lib.embeddings[:n_old], lib.photo_ids[:n_old]
    _log(f"generated {args.faces} faces in {gen_s:.1f} s; newest month {int(newest.sum())}")
    result: dict = {"faces": args.faces, "method": args.method, "k": args.k}
    if args.compare_hnsw:
        result["index"] = _compare_hnsw(lib.embeddings, args.k)
        _log(json.dumps(result["index"]))

    rss_before = _rss_gb()
    t0 = time.perf_counter()
    index = knn.FaceIndex.build(x_old, seed=args.seed)
    nb_old = knn.knn_graph(x_old, args.k, index=index)
    knn_s = time.perf_counter() - t0
    labels_old = linkage.cluster_graph(
        x_old, photos_old, neighbours=nb_old, method=args.method, k=args.k
    )
    full_s = time.perf_counter() - t0
    peak = _rss_gb()
    _log(f"full: kNN {knn_s:.1f} s, total {full_s:.1f} s, peak RSS {peak:.2f} GB")
    comp = linkage.graph_components(nb_old)
    comp_sizes = np.bincount(comp)

    t0 = time.perf_counter()
    nb_all = graph_tools.extend_neighbours(nb_old, index, lib.embeddings[n_old:])
    x_all, photos_all, persons_all = lib.embeddings, lib.photo_ids, lib.person_ids
    is_new = newest
    prev = np.concatenate([labels_old, np.full(newest.sum(), -1)])
    new_rows = np.flatnonzero(is_new)
    # The product's refresh (services/clusters.py) with the data in memory instead of the store:
    # the new faces' lists, their embeddings, and the sums of the clusters they reach.
    members = np.argsort(prev, kind="stable")
    starts = np.searchsorted(prev[members], np.arange(prev.max() + 2))

    def sums_of(labels: np.ndarray) -> np.ndarray:
        rows = [members[starts[c] : starts[c + 1]] for c in labels]
        return np.stack([x_all[r].sum(axis=0, dtype=np.float64) for r in rows])

    refreshed = refresh.refresh_labels(
        prev,
        is_new,
        photos_all,
        knn.Neighbours(nb_all.indices[new_rows], nb_all.similarities[new_rows]),
        lambda rows: x_all[rows],
        sums_of,
    )
    month_s = time.perf_counter() - t0
    _log(f"month: {month_s:.1f} s, {refreshed.nodes} units for {refreshed.faces} faces")

    t0 = time.perf_counter()
    full_again = linkage.cluster_graph(
        x_all, photos_all, neighbours=nb_all, method=args.method, k=args.k
    )
    recluster_s = time.perf_counter() - t0
    same_partition = bool(
        np.array_equal(
            linkage.final_labels(refreshed.labels, 2), linkage.final_labels(full_again, 2)
        )
    )
    p, r, f = metrics.bcubed_scores(persons_all, refreshed.labels)
    pp, pr, pf = metrics.pairwise_scores(persons_all, refreshed.labels)
    full_p, full_r, full_f = metrics.bcubed_scores(persons_all, full_again)
    result.update(
        {
            "generate_s": round(gen_s, 1),
            "knn_s": round(knn_s, 1),
            "full_s": round(full_s, 1),
            "peak_rss_gb": round(peak, 2),
            "rss_before_gb": round(rss_before, 2),
            "month_faces": int(newest.sum()),
            "month_s": round(month_s, 2),
            "touched": int(refreshed.touched.sum()),
            "refresh_units": refreshed.nodes,
            "refresh_faces": refreshed.faces,
            "recluster_same_graph_s": round(recluster_s, 1),
            "incremental_equals_full": same_partition,
            "largest_component": int(comp_sizes.max()),
            "largest_person": int(np.bincount(lib.person_ids).max()),
            "bcubed": [round(p, 4), round(r, 4), round(f, 4)],
            "pairwise": [round(pp, 4), round(pr, 4), round(pf, 4)],
            "bcubed_full_again": [round(full_p, 4), round(full_r, 4), round(full_f, 4)],
            "clusters": int(np.unique(refreshed.labels[refreshed.labels >= 0]).size),
            "people": int(np.unique(persons_all).size),
        }
    )
    print(
        f"{'faces':>10} {'full s':>8} {'RSS GB':>7} {'month s':>8} {'B-F1':>7} {'full F1':>7}"
        f" {'giant':>7}"
    )
    print(
        f"{args.faces:>10} {full_s:>8.1f} {peak:>7.2f} {month_s:>8.2f} {f:>7.4f} {full_f:>7.4f}"
        f" {int(comp_sizes.max()):>7}"
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
