"""Identities at library scale through the real store: full clustering, a month's refresh,
and assignment of every face against 10k persons, on a synthetic library.

    python benchmarks/identity_scale.py --faces 100000 [--persons 10000] [--seed 0] [--keep DIR]

The library comes from face_assets.identity.synthetic (same-person and different-person cosine
distributions and a long-tailed people-size distribution fitted to ../shared/data/lfw_dev;
benchmarks/graph_tuning.py prints both side by side). It is loaded into a fresh embedded
PostgreSQL + pgvector (setup, not measured), its newest month (~1% of faces) held back; with
--keep DIR the loaded library (and its HNSW index: ~25 min at 1M faces on 2 cores) stays in DIR
and a later run with the same --faces and --seed starts from it, after clearing everything the
run writes (clusters, clustered-face records, persons, assignments, the newest month's faces). Then,
each through the services the Dagster assets call:
1. full cluster: clusters.recluster(full=True): read, kNN graph, clustering, write back;
2. incremental month: the held-back month is loaded and clusters.recluster() lets its faces
   join the clusters they reach;
3. assignment: one face of each of the largest --persons synthetic people is labelled by a
   "human", prototypes are built (timed apart), identities.assign_months runs over every
   month (read, match, resolve and write phases printed).
Seconds and peak RSS (this process; PostgreSQL is a separate process) of each; quality against
the synthetic truth. Targets (issue #10, 2 cores): 100k: full <= 60 s and <= 4 GB, month <= 10 s,
assignment <= 20 s; 1M: full <= 15 min and <= 16 GB, month <= 60 s, assignment <= 3 min.
Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from face_assets.identity import metrics, synthetic
from face_assets.services import clusters, identities, matching
from face_assets.store import Store, bulk, db

PACK = "buffalo_s"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load(store: Store, lib: synthetic.SyntheticLibrary, rows: np.ndarray) -> np.ndarray:
    with store.transaction() as conn:
        return bulk.add_library(conn, PACK, lib, rows)


def _same_library(saved: Path, faces: int, seed: int) -> bool:
    meta = np.load(saved)
    return int(meta["faces"]) == faces and int(meta["seed"]) == seed


def _clear_run(conn, newest_months: list[str]) -> None:
    """Back to the state after loading: what an earlier run wrote goes."""
    conn.execute("DELETE FROM faces WHERE month = ANY(%s)", (newest_months,))
    conn.execute("DELETE FROM images WHERE month = ANY(%s)", (newest_months,))
    conn.execute(
        "UPDATE faces SET person_id = NULL, assignment_method = NULL, assignment_similarity ="
        " NULL, assignment_prototype_id = NULL, assignment_head = NULL, assigned_at = NULL,"
        " cluster_id = NULL WHERE person_id IS NOT NULL OR cluster_id IS NOT NULL"
    )
    conn.execute("DELETE FROM person_prototypes")
    conn.execute("DELETE FROM label_events")
    conn.execute("DELETE FROM persons")
    conn.execute("DELETE FROM clustered_faces")
    conn.execute("DELETE FROM identity_watermarks")


def cluster_quality(store: Store, face_ids: np.ndarray, truth: np.ndarray) -> dict:
    with store.transaction() as conn:
        rows = dict(
            conn.execute(
                "SELECT id, cluster_id FROM faces WHERE id = ANY(%s)", (face_ids.tolist(),)
            ).fetchall()
        )
    codes: dict[str, int] = {}
    predicted = [
        codes.setdefault(c, len(codes)) if (c := rows.get(int(f))) else -1 for f in face_ids
    ]
    p, r, f1 = metrics.bcubed_scores(truth, predicted)
    pp, pr, pf = metrics.pairwise_scores(truth, predicted)
    return {"bcubed_precision": p, "bcubed_recall": r, "bcubed_f1": f1, "pairwise_f1": pf}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--persons", type=int, default=10_000, help="known persons to assign to")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="keep the loaded library here and reuse it")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_scale_"))
    work.mkdir(parents=True, exist_ok=True)
    out: dict = {"faces": args.faces}
    try:
        t0 = time.perf_counter()
        lib = synthetic.synthetic_library(args.faces, seed=args.seed)
        newest = lib.months == lib.months.max()
        old_rows, new_rows = np.flatnonzero(~newest), np.flatnonzero(newest)
        store = Store(db.embedded_database_url(work / "pgdata"), work)
        saved = work / "library.npz"
        if saved.exists() and _same_library(saved, args.faces, args.seed):
            old_ids = np.load(saved)["old_ids"]
            with store.transaction() as conn:
                _clear_run(conn, sorted(set(bulk.month_names(lib.months[new_rows]))))
            log(f"setup: reused {len(old_rows)} faces in {work} ({time.perf_counter() - t0:.1f} s)")
        else:
            with store.transaction() as conn:
                bulk.drop_vector_index(conn, PACK)
            old_ids = load(store, lib, old_rows)
            with store.transaction() as conn:
                bulk.build_vector_index(conn, PACK)  # a real library maintains it during ingest
            np.savez(saved, old_ids=old_ids, faces=args.faces, seed=args.seed)
            log(f"setup: {len(old_rows)} faces loaded in {time.perf_counter() - t0:.1f} s")

        t = time.perf_counter()
        full = clusters.recluster(store, PACK, full=True)
        out["full_cluster_seconds"] = round(time.perf_counter() - t, 2)
        out["full_phases"] = full.phases
        out["rss_after_full_mb"] = round(rss_mb())
        out["largest_component"] = full.largest_component
        log(f"full: {out['full_cluster_seconds']} s {full.phases}, {full.clusters} clusters")

        new_ids = load(store, lib, new_rows)
        t = time.perf_counter()
        refresh = clusters.recluster(store, PACK)
        out["incremental_seconds"] = round(time.perf_counter() - t, 2)
        out["incremental_phases"] = refresh.phases
        out["incremental_new_faces"] = refresh.new_faces
        out["incremental_reclustered_faces"] = refresh.reclustered_faces
        out["incremental_mode"] = refresh.mode
        log(f"month: {out['incremental_seconds']} s {refresh.phases} ({refresh.mode})")
        t = time.perf_counter()
        unchanged = clusters.recluster(store, PACK)
        out["unchanged_seconds"] = round(time.perf_counter() - t, 2)
        assert unchanged.mode == "unchanged"

        ids = np.concatenate([old_ids, new_ids])
        truth = np.concatenate([lib.person_ids[old_rows], lib.person_ids[new_rows]])
        out.update(cluster_quality(store, ids, truth))

        # Assignment: the largest persons get one human-labelled face each.
        sizes = np.bincount(truth)
        known = np.argsort(-sizes, kind="stable")[: args.persons]
        known = known[sizes[known] >= 2]
        first_face = {int(p): int(ids[np.flatnonzero(truth == p)[0]]) for p in known}
        with store.transaction() as conn:
            persons = bulk.label_faces(
                conn, list(first_face.values()), [f"person {p}" for p in first_face]
            )
        person_of_truth = dict(zip(first_face, persons, strict=True))
        t = time.perf_counter()
        identities.refresh_prototypes(store, PACK)
        out["prototypes_seconds"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        months = sorted(set(bulk.month_names(lib.months)))
        stats = identities.assign_months(store, PACK, months, matching.matching_rule(store, PACK))
        out["assign_seconds"] = round(time.perf_counter() - t, 2)
        out["assign_faces"] = stats.faces
        out["assign_phases"] = {k: round(v, 2) for k, v in stats.phases.items()}
        out["persons"] = len(persons)
        with store.transaction() as conn:
            got = dict(
                conn.execute(
                    "SELECT id, person_id FROM faces WHERE assignment_method = 'auto'"
                ).fetchall()
            )
        truth_of = dict(zip(ids.tolist(), truth.tolist(), strict=True))
        seeds = set(first_face.values())
        held = [f for f, p in truth_of.items() if p in person_of_truth and f not in seeds]
        correct = sum(1 for f in held if got.get(f) == person_of_truth[truth_of[f]])
        strangers = [f for f, p in truth_of.items() if p not in person_of_truth]
        out["assign_precision"] = round(correct / max(1, len(got)), 4)
        out["assign_recall"] = round(correct / max(1, len(held)), 4)
        out["strangers"] = len(strangers)
        out["strangers_named"] = sum(1 for f in strangers if f in got)
        out["peak_rss_mb"] = round(rss_mb())
        log(f"assign: {out['assign_seconds']} s for {stats.faces} faces, {len(persons)} persons")
    finally:
        db.stop_embedded_server(work / "pgdata")
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    rows = [
        ("full cluster", out["full_cluster_seconds"], "60 s / 15 min"),
        ("incremental month", out["incremental_seconds"], "10 s / 60 s"),
        ("unchanged refresh", out["unchanged_seconds"], "seconds"),
        ("prototypes", out["prototypes_seconds"], "-"),
        ("assignment", out["assign_seconds"], "20 s / 3 min"),
    ]
    print(f"{args.faces} synthetic faces, {out['persons']} known persons, 2 cores")
    print(f"{'phase':20} {'seconds':>9}  target (100k / 1M)")
    for name, seconds, target in rows:
        print(f"{name:20} {seconds:>9.2f}  {target}")
    print(
        f"peak RSS {out['peak_rss_mb']} MB (after full cluster {out['rss_after_full_mb']} MB);"
        f" largest graph component {out['largest_component']} faces"
    )
    print(
        f"clusters vs truth: BCubed P {out['bcubed_precision']:.4f} R {out['bcubed_recall']:.4f}"
        f" F1 {out['bcubed_f1']:.4f}, pairwise F1 {out['pairwise_f1']:.4f}"
    )
    print(
        f"assignment: precision {out['assign_precision']}, recall {out['assign_recall']},"
        f" strangers named {out['strangers_named']} / {out['strangers']};"
        f" phases {out['assign_phases']}"
    )
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
