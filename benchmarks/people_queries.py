"""Latency of the People app's two library-wide reads on a large synthetic store: search by face
(face_search.search, pgvector's HNSW walk) and photos of A and B (person_photos.photos_of),
p50 / p95.

    python benchmarks/people_queries.py --faces 100000 [--persons 2000] [--queries 200]
        [--seed 0] [--keep DIR]

The library is face_assets.identity.synthetic's (cosine distributions and people sizes fitted
to ../shared/data/lfw_dev), loaded by store.bulk into a fresh embedded PostgreSQL + pgvector
with its HNSW index (setup, not measured; --keep DIR keeps it for the next run with the same
--faces and --seed). Each photo gets a date inside its month; the faces of the --persons
largest synthetic people are assigned to persons (what a finished assignment run leaves).
Measured, each through the service the REST endpoint calls, one query at a time:
- search: --queries faces of the library, each with noise (a new photo of that person),
  24 nearest faces and their persons; recall of the faces at or above the pack's threshold
  among the exact 24 nearest (a full scan);
- photos of A and B: pairs of persons seen together in a photo (non-empty answers), first page
  of 20, newest first, with the total;
- photos of A and not B, and all of A's photos (the person page): the same pairs.
Targets (issue 23): well under a second on 1M faces. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from face_assets.identity import synthetic
from face_assets.services import face_search, person_photos
from face_assets.store import Store, bulk, db

PACK = "buffalo_s"
PAGE = 20  # the API's default page size (seed 002)
SEARCH_FACES = 24  # what the review page's search shows
QUERY_NOISE = 0.03  # per-dimension noise on a stored face: cosine ~0.83 to it, a new photo


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def setup(store: Store, lib: synthetic.SyntheticLibrary, persons: int, rng) -> np.ndarray:
    """Load the library, date its photos, assign the largest people; returns face ids."""
    with store.transaction() as conn:
        bulk.drop_vector_index(conn, PACK)
        ids = bulk.add_library(conn, PACK, lib)
        conn.execute(
            "UPDATE images SET taken_at = to_timestamp(month || '-01', 'YYYY-MM-DD')::timestamp"
            " + (hashtext(sha256) & 2147483647) % (27 * 86400) * interval '1 second'"
        )
        sizes = np.bincount(lib.person_ids)
        known = np.argsort(-sizes, kind="stable")[:persons]
        person_ids = [
            conn.execute(
                "INSERT INTO persons (name) VALUES (%s) RETURNING id", (f"p{p}",)
            ).fetchone()[0]
            for p in known
        ]
        of = dict(zip(known.tolist(), person_ids, strict=True))
        rows = [(of[int(p)], int(f)) for f, p in zip(ids, lib.person_ids, strict=True)
                if int(p) in of]  # fmt: skip
        conn.execute("CREATE TEMP TABLE _a (person_id bigint, face_id bigint)")
        with conn.cursor().copy("COPY _a FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.execute(
            "UPDATE faces f SET person_id = a.person_id, assignment_method = 'auto',"
            " assignment_similarity = 0.6, assigned_at = now() FROM _a a WHERE f.id = a.face_id"
        )
        bulk.build_vector_index(conn, PACK)
        conn.execute("ANALYZE")
    return ids


def pairs_together(store: Store, count: int, rng) -> list[tuple[int, int]]:
    """Pairs of persons who share a photo, drawn at random."""
    with store.transaction() as conn:
        rows = conn.execute(
            "SELECT DISTINCT a.person_id, b.person_id FROM faces a JOIN faces b"
            " ON b.image_id = a.image_id AND b.person_id > a.person_id"
            " WHERE a.person_id IS NOT NULL"
        ).fetchall()
    if not rows:
        raise SystemExit("no two persons share a photo: use more --persons")
    picked = rng.choice(len(rows), size=min(count, len(rows)), replace=False)
    return [rows[i] for i in picked]


def timed(calls) -> np.ndarray:
    seconds = []
    for call in calls:
        t = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - t)
    return np.asarray(seconds) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--persons", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="keep the loaded library here and reuse it")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(args.seed)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_people_"))
    work.mkdir(parents=True, exist_ok=True)
    out: dict = {"faces": args.faces, "persons": args.persons, "queries": args.queries}
    try:
        t0 = time.perf_counter()
        lib = synthetic.synthetic_library(args.faces, seed=args.seed)
        store = Store(db.embedded_database_url(work / "pgdata"), work)
        saved = work / "people_library.npz"
        meta = np.load(saved) if saved.exists() else None
        if meta is not None and (int(meta["faces"]), int(meta["seed"]), int(meta["persons"])) == (
            args.faces, args.seed, args.persons
        ):  # fmt: skip
            ids = meta["ids"]
            log(f"setup: reused {len(ids)} faces in {work}")
        else:
            ids = setup(store, lib, args.persons, rng)
            np.savez(saved, ids=ids, faces=args.faces, seed=args.seed, persons=args.persons)
            log(f"setup: {len(ids)} faces loaded in {time.perf_counter() - t0:.1f} s")

        picks = rng.choice(len(ids), size=args.queries, replace=False)
        noisy = lib.embeddings[picks] + rng.normal(0, QUERY_NOISE, (args.queries, 512))
        noisy = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)
        found = []
        search_ms = timed(
            (lambda v=v: found.append(face_search.search(store, PACK, v, SEARCH_FACES)))
            for v in noisy
        )
        # Recall of what a user looks for: the faces at or above the pack's threshold among
        # the exact SEARCH_FACES nearest (a full scan), found by the HNSW search.
        threshold = found[0].threshold
        hits, wanted = 0, 0
        for r, sims in zip(found, noisy @ lib.embeddings.T, strict=True):
            top = np.argsort(-sims)[:SEARCH_FACES]
            match = set(ids[top[sims[top] >= threshold]].tolist())
            hits += len(match & {f["id"] for f in r.faces})
            wanted += len(match)
        out["search_recall_of_matches"] = round(hits / max(1, wanted), 4)
        out["search_matches_per_query"] = round(wanted / len(found), 1)
        pairs = pairs_together(store, args.queries, rng)
        totals = []
        both_ms = timed(
            (
                lambda a=a, b=b: totals.append(
                    person_photos.photos_of(store, PACK, [a, b], limit=PAGE)[1]
                )
            )
            for a, b in pairs
        )
        out["pair_photos_median"] = float(np.median(totals))
        without_ms = timed(
            (lambda a=a, b=b: person_photos.photos_of(store, PACK, [a], [b], limit=PAGE))
            for a, b in pairs
        )
        one_ms = timed(
            (lambda a=a: person_photos.photos_of(store, PACK, [a], limit=PAGE)) for a, _ in pairs
        )
    finally:
        db.stop_embedded_server(work / "pgdata")
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    rows = [
        ("search by face (24)", search_ms),
        ("photos of A and B", both_ms),
        ("photos of A not B", without_ms),
        ("photos of A", one_ms),
    ]
    print(f"{args.faces} synthetic faces, {args.persons} persons, {args.queries} queries each")
    print(f"{'query':22} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, ms in rows:
        p50, p95 = np.percentile(ms, 50), np.percentile(ms, 95)
        print(f"{name:22} {p50:>8.1f} {p95:>8.1f} {ms.max():>8.1f}")
        key = name.split(" (")[0].replace(" ", "_").lower()
        out[key] = {
            "p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p95_ms": round(float(np.percentile(ms, 95)), 2),
        }
    print(
        f"search: {out['search_recall_of_matches']:.3f} of the faces at or above the threshold"
        f" among the exact {SEARCH_FACES} nearest found ({out['search_matches_per_query']} a"
        " query);"
        f" photos of A and B: median total {out['pair_photos_median']:.0f} photos"
    )
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
