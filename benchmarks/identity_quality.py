"""Identity quality on real labelled photos: clustering and assignment through the real ingest.

    python benchmarks/identity_quality.py [DATA_DIR] [--pack buffalo_s] [--seed N]

DATA_DIR holds one folder of photos per person (default: ../shared/data/faces_real beside the
repository). The photos are copied unchanged into a temporary library, together with
../shared/data/group_photos/2.jpg (Kit Harington and Rose Leslie, not scored), and ingested by
the functions behind the assets (library scan, raw_images registration, detect_faces,
embed_faces, score_faces) into a fresh embedded PostgreSQL + pgvector.
The labelled face of a photo is its largest detected face; other faces stay in the store (as
they would in a real library) but are not scored.

Measured:
1. Clustering (clusters.recluster, before any human label): BCubed and pairwise precision /
   recall / F1 of the labelled faces' cluster ids against the true identities (unclustered faces
   count as singletons), clusters found against true people, and the share of labelled faces
   left unclustered: for our default (average linkage on the kNN graph), small-library HDBSCAN
   settings and Immich's DBSCAN.
2. Assignment: the first photo of each person (sorted by name, or a --seed'ed choice) is labelled
   by a "human" (labels.label_faces), the others are held back; identities.assign_month runs
   for every month and the held-back faces' persons are read back. Precision = correct /
   assigned, recall = correct / held back, at the pack's default threshold, the seed's 0.7 and a
   sweep of thresholds, beside Immich's rule (nearest labelled face within cosine distance 0.5)
   computed in numpy; then again with a second labelled photo for people with >= 3 photos.
   Before that, an open-set run labels only the people with >= 3 photos: the faces of the
   others are strangers, and every name they get counts against precision.
   The pack's threshold is chosen as the lowest of the sweep whose precision is >= 0.99.
Prints tables and ends with one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

warnings.filterwarnings("ignore")
os.environ["DAGSTER_DISABLE_TELEMETRY"] = "1"

import numpy as np
from _work import embedded_work

from face_assets.defaults import QUALITY_GATE, RECOGNITION_BATCH
from face_assets.defs.partitions import partition_of
from face_assets.identity import clustering, linkage, metrics
from face_assets.identity.assignment import ASSIGN_MARGIN
from face_assets.library import IMAGE_EXTENSIONS
from face_assets.services import (
    clusters,
    face_detection,
    face_embedding,
    face_scoring,
    identities,
    labels,
    matching,
    registration,
)
from face_assets.store import (
    Store,
)
from face_assets.store.faces import vector_array
from face_assets.vision.models import load_face_models
from face_assets.vision.packs import person_threshold

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared/data"
DEFAULT_DATA_DIR = SHARED_DATA / "faces_real"
GROUP_PHOTO = SHARED_DATA / "group_photos/2.jpg"  # kit_harington and rose_leslie
GROUP_PEOPLE = ("kit_harington", "rose_leslie")
EXTRA_DIR = "_extra"  # library folder of photos that are ingested but not scored

# Clustering settings compared: (name, method, min_cluster_size, min_samples, eps).
CLUSTER_SETTINGS = (
    (
        "default",
        linkage.DEFAULT_GRAPH_METHOD,
        linkage.DEFAULT_MIN_CLUSTER_SIZE,
        clustering.MIN_SAMPLES,
        clustering.UNKNOWN_EPS,
    ),
    ("small", "hdbscan", 2, 1, clustering.UNKNOWN_EPS),
    ("hdbscan_3_2", "hdbscan", 3, 2, clustering.UNKNOWN_EPS),
    ("agglomerative_2", "agglomerative", 2, 1, clustering.UNKNOWN_EPS),
    # Immich's defaults: maxDistance 0.5 (cosine distance), minFaces 3.
    ("baseline", "dbscan", 3, 1, 0.5),
)
SWEEP = tuple(round(t, 2) for t in np.arange(0.30, 0.8001, 0.05))
SEED_THRESHOLD = 0.7  # the seed's dual-mode default
IMMICH_MAX_DISTANCE = 0.5  # Immich: a labelled face within cosine distance 0.5 names the face
TARGET_PRECISION = 0.99  # how the pack's default threshold is chosen: the lowest that reaches it


@dataclass(frozen=True)
class LabelledFace:
    """The largest face of one identity photo, with its true identity."""

    rel_path: str
    identity: str
    face_id: int
    quality: float
    embedding: np.ndarray


def photos_by_identity(data_dir: Path) -> dict[str, list[Path]]:
    """Photos of each person folder (sorted by name); other files and empty folders ignored."""
    found = {}
    for folder in sorted(p for p in data_dir.iterdir() if p.is_dir()):
        photos = sorted(
            p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
        )
        if photos:
            found[folder.name] = photos
    return found


def library_of(photos: dict[str, list[Path]], extras: list[Path], library: Path) -> dict[str, str]:
    """Copy the photos (original bytes and times) into a library; rel_path -> identity."""
    truth = {}
    for identity, paths in photos.items():
        for path in paths:
            rel_path = f"{identity}/{path.name}"
            (library / identity).mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, library / rel_path)
            truth[rel_path] = identity
    (library / EXTRA_DIR).mkdir(parents=True, exist_ok=True)
    for path in extras:
        shutil.copy2(path, library / EXTRA_DIR / path.name)
    return truth


def ingested_months(models, store: Store, library: Path) -> dict[str, int]:
    """Scan, register, detect, embed and score the whole library; the months and their files."""

    months = registration.scan_months(store, library, partition_of)
    registration.register_months(store, library, months, partition_of)  # as the asset does
    face_detection.detect_faces(models, store, library, months)
    face_embedding.embed_faces(models, store, months, batch_size=RECOGNITION_BATCH)
    face_scoring.score_faces(store, models.pack, months)
    return months


def faces_of_paths(store: Store, pack: str) -> dict[str, list[tuple]]:
    """rel_path -> [(face id, face index, quality, embedding)], largest face first.

    Read-only SQL: the benchmark needs the link from a library path to its faces, which no
    store function returns.
    """
    with store.transaction() as conn:
        rows = conn.execute(
            "SELECT lf.rel_path, f.id, f.face_index, f.quality, e.embedding FROM library_files lf"
            " JOIN faces f ON f.image_id = lf.image_id"
            " JOIN face_embeddings e ON e.face_id = f.id"
            " WHERE f.pack = %s ORDER BY lf.rel_path, f.face_index",
            (pack,),
        ).fetchall()
    found: dict[str, list[tuple]] = {}
    for rel_path, face_id, index, quality, embedding in rows:
        found.setdefault(rel_path, []).append(
            (face_id, index, float(quality or 0.0), vector_array(embedding))
        )
    return found


def labelled_faces(truth: dict[str, str], by_path: dict[str, list[tuple]]) -> list[LabelledFace]:
    """The largest face (face_index 0) of every identity photo that has a face."""
    faces = []
    for rel_path, identity in sorted(truth.items()):
        if rel_path in by_path:
            face_id, _, quality, embedding = by_path[rel_path][0]
            faces.append(LabelledFace(rel_path, identity, face_id, quality, embedding))
    return faces


def face_states(store: Store, face_ids: list[int]) -> dict[int, tuple]:
    """face id -> (cluster id, person name or None, assignment method, similarity)."""
    with store.transaction() as conn:
        rows = conn.execute(
            "SELECT f.id, f.cluster_id, p.name, f.assignment_method, f.assignment_similarity"
            " FROM faces f LEFT JOIN persons p ON p.id = f.person_id WHERE f.id = ANY(%s)",
            (face_ids,),
        ).fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


# --- clustering ---------------------------------------------------------------------------


def clustering_scores(
    store: Store,
    pack: str,
    faces: list[LabelledFace],
    method: str,
    min_cluster_size: int,
    min_samples: int,
    eps: float,
) -> dict:
    """Run recluster on the store and score the labelled faces' cluster ids."""
    params = clusters.ClusterParams(
        method=method, min_cluster_size=min_cluster_size, min_samples=min_samples, eps=eps
    )
    stats = clusters.recluster(store, pack, params, full=True)
    states = face_states(store, [f.face_id for f in faces])
    codes: dict[str, int] = {}
    predicted = [
        codes.setdefault(cid, len(codes)) if (cid := states[f.face_id][0]) else metrics.NOISE_LABEL
        for f in faces
    ]
    truth = [f.identity for f in faces]
    b_p, b_r, b_f = metrics.bcubed_scores(truth, predicted)
    p_p, p_r, p_f = metrics.pairwise_scores(truth, predicted)
    noise = sum(1 for label in predicted if label == metrics.NOISE_LABEL)
    members: dict[int, Counter] = {}
    for label, identity in zip(predicted, truth, strict=True):
        if label != metrics.NOISE_LABEL:
            members.setdefault(label, Counter())[identity] += 1
    mixed = [dict(c.most_common()) for c in members.values() if len(c) > 1]
    return {
        "method": method,
        "min_cluster_size": min_cluster_size,
        "min_samples": min_samples,
        "eps": eps,
        "clusters": stats.clusters,
        "labelled_clusters": len(codes),
        "mixed_clusters": mixed,
        "people": len(set(truth)),
        "noise_share": noise / len(faces),
        "bcubed_precision": b_p,
        "bcubed_recall": b_r,
        "bcubed_f1": b_f,
        "pairwise_precision": p_p,
        "pairwise_recall": p_r,
        "pairwise_f1": p_f,
    }


# --- assignment -----------------------------------------------------------------------------


def one_photo_each(
    faces: list[LabelledFace], rng: np.random.Generator | None
) -> list[LabelledFace]:
    """One photo of each person: the first by name, or a random one when rng is given."""
    by_person: dict[str, list[LabelledFace]] = {}
    for face in faces:
        by_person.setdefault(face.identity, []).append(face)
    return [
        group[0 if rng is None else int(rng.integers(len(group)))] for group in by_person.values()
    ]


def labelled_seeds(store: Store, pack: str, seeds: list[LabelledFace]) -> None:
    """Label each seed face as its true identity (creates the person and its prototypes)."""
    for face in seeds:
        labels.label_faces(store, [face.face_id], face.identity, pack)


def assignment_scores(
    store: Store,
    pack: str,
    months: list[str],
    held: list[LabelledFace],
    threshold: float,
    margin: float = ASSIGN_MARGIN,
    strangers: list[LabelledFace] = (),
) -> dict:
    """assign_month for every month at this threshold, then the held-back faces' scores."""
    rule = matching.matching_rule(store, pack, override=threshold)
    for month in months:
        identities.assign_month(store, pack, month, rule, margin)
    states = face_states(store, [f.face_id for f in [*held, *strangers]])
    result = scored([(f.identity, states[f.face_id][1]) for f in held], threshold)
    return with_strangers(result, [states[f.face_id][1] for f in strangers])


def scored(named: list[tuple[str, str | None]], threshold: float) -> dict:
    """Precision (1.0 when nothing was assigned: no wrong name given) and recall."""
    assigned = sum(1 for _, name in named if name is not None)
    correct = sum(1 for truth, name in named if name == truth)
    return {
        "threshold": threshold,
        "precision": correct / assigned if assigned else 1.0,
        "recall": correct / len(named) if named else 0.0,
        "assigned": assigned,
        "correct": correct,
        "wrong": assigned - correct,
        "held": len(named),
    }


def with_strangers(result: dict, stranger_names: list[str | None]) -> dict:
    """Add the faces of unlabelled people that got a name anyway (every one is wrong)."""
    accepts = sum(1 for name in stranger_names if name is not None)
    total = result["assigned"] + accepts
    return {
        **result,
        "strangers": len(stranger_names),
        "stranger_accepts": accepts,
        "open_precision": result["correct"] / total if total else 1.0,
    }


def immich_scores(
    seeds: list[LabelledFace], held: list[LabelledFace], strangers: list[LabelledFace] = ()
) -> dict:
    """Immich's rule: the nearest labelled face names the face if within cosine distance 0.5."""
    seed_emb = np.vstack([f.embedding for f in seeds])
    limit = 1 - IMMICH_MAX_DISTANCE

    def names(faces: list[LabelledFace]) -> list[str | None]:
        if not faces:
            return []
        sims = np.vstack([f.embedding for f in faces]) @ seed_emb.T
        best = sims.argmax(axis=1)
        return [seeds[j].identity if sims[i, j] >= limit else None for i, j in enumerate(best)]

    result = scored([(f.identity, n) for f, n in zip(held, names(held), strict=True)], limit)
    return with_strangers(result, names(list(strangers)))


def closest_calls(
    seeds: list[LabelledFace], held: list[LabelledFace], strangers: list[LabelledFace] = ()
) -> dict:
    """The window a threshold must fall in, from the labelled (prototype) faces' similarities.

    hardest_genuine: the held-back face least similar to its own person's labelled faces;
    top_impostor / top_stranger: the highest similarity of a held-back face to another person,
    or of a stranger's face to anyone labelled.
    """
    seed_emb = np.vstack([f.embedding for f in seeds])
    seed_ids = np.array([f.identity for f in seeds])
    sims = np.vstack([f.embedding for f in held]) @ seed_emb.T
    own = np.array([f.identity for f in held])[:, None] == seed_ids[None, :]
    genuine = np.where(own, sims, -np.inf).max(axis=1)
    impostor = np.where(own, -np.inf, sims).max(axis=1)
    hard, risky = int(genuine.argmin()), int(impostor.argmax())
    calls = {
        "hardest_genuine": float(genuine[hard]),
        "hardest_genuine_face": held[hard].rel_path,
        "top_impostor": float(impostor[risky]),
        "top_impostor_face": held[risky].rel_path,
    }
    if strangers:
        stranger_sims = np.vstack([f.embedding for f in strangers]) @ seed_emb.T
        worst = int(stranger_sims.max(axis=1).argmax())
        calls["top_stranger"] = float(stranger_sims[worst].max())
        calls["top_stranger_face"] = strangers[worst].rel_path
    return calls


def lowest_precise(
    sweep: list[dict], key: str = "precision", target: float = TARGET_PRECISION
) -> dict | None:
    """The sweep row with the lowest threshold whose precision reaches the target."""
    good = [row for row in sweep if row[key] >= target and row["assigned"]]
    return min(good, key=lambda row: row["threshold"]) if good else None


@dataclass(frozen=True)
class AssignmentRun:
    """One labelling's assignment figures, from assignment_run."""

    pack: str
    sweep: list[dict]
    default: dict
    also: dict[str, dict]
    immich: dict
    choice: dict | None
    calls: dict

    def rows(self, extra: list[tuple[str, dict]] = ()) -> list[tuple[str, dict]]:
        """The table's rows: the pack's default, the `also` thresholds, Immich's rule, any
        extra rows, then the sweep."""
        return [
            (f"default ({self.pack})", self.default),
            *self.also.items(),
            ("immich: nearest labelled, dist<=0.5", self.immich),
            *extra,
            *sweep_rows(self.sweep),
        ]


def assignment_run(
    store: Store,
    pack: str,
    months: list[str],
    seeds: list[LabelledFace],
    held: list[LabelledFace],
    default_threshold: float,
    strangers: list[LabelledFace] = (),
    also: dict[str, float] | None = None,
) -> AssignmentRun:
    """The sweep, each `also` threshold, then the pack's default threshold, so that the store
    holds the default's assignments for what is read after; Immich's rule and the closest calls
    beside them. The choice counts stranger accepts as wrong (without strangers, precision)."""
    sweep = [assignment_scores(store, pack, months, held, t, strangers=strangers) for t in SWEEP]
    others = {
        name: assignment_scores(store, pack, months, held, t, strangers=strangers)
        for name, t in (also or {}).items()
    }
    default = assignment_scores(store, pack, months, held, default_threshold, strangers=strangers)
    return AssignmentRun(
        pack=pack,
        sweep=sweep,
        default=default,
        also=others,
        immich=immich_scores(seeds, held, strangers),
        choice=lowest_precise(sweep, key="open_precision"),
        calls=closest_calls(seeds, held, strangers),
    )


def similarity_spread(faces: list[LabelledFace]) -> dict:
    """Same-person and different-person cosine similarities of the labelled faces."""
    scores = metrics.verification_scores(
        np.vstack([f.embedding for f in faces]), [f.identity for f in faces]
    )
    emb = np.vstack([f.embedding for f in faces])
    sims = emb @ emb.T
    ids = np.array([f.identity for f in faces])
    upper = np.triu(np.ones(sims.shape, dtype=bool), k=1)
    same = ids[:, None] == ids[None, :]
    return {
        "genuine_min": float(sims[upper & same].min()),
        "genuine_mean": scores["mean_genuine"],
        "impostor_max": float(sims[upper & ~same].max()),
        "impostor_mean": scores["mean_impostor"],
        "genuine_pairs": scores["genuine_pairs"],
        "impostor_pairs": scores["impostor_pairs"],
    }


def group_photo_names(store: Store, faces: list[tuple]) -> list[dict]:
    """What each face of the extra group photo got: person, method, similarity."""
    states = face_states(store, [f[0] for f in faces])
    return [
        {
            "face_index": index,
            "person": states[face_id][1],
            "similarity": None if states[face_id][3] is None else round(states[face_id][3], 3),
        }
        for face_id, index, _, _ in faces
    ]


# --- printing -------------------------------------------------------------------------------


def print_clustering(rows: dict[str, dict]) -> None:
    print(
        f"\n{'clustering':16} {'method':13} {'mcs':>3} {'ms':>3} {'eps':>4} {'clus':>5}"
        f" {'people':>6} {'mixed':>5} {'noise':>6} {'B3 P':>6} {'B3 R':>6} {'B3 F1':>6}"
        f" {'pw P':>6} {'pw R':>6} {'pw F1':>6}"
    )
    for name, r in rows.items():
        eps = f"{r['eps']:.2f}" if r["method"] != "hdbscan" else "-"
        ms = str(r["min_samples"]) if r["method"] == "hdbscan" else "-"
        print(
            f"{name:16} {r['method']:13} {r['min_cluster_size']:>3} {ms:>3} {eps:>4}"
            f" {r['clusters']:>5} {r['people']:>6} {len(r['mixed_clusters']):>5}"
            f" {r['noise_share']:6.3f}"
            f" {r['bcubed_precision']:6.3f} {r['bcubed_recall']:6.3f} {r['bcubed_f1']:6.3f}"
            f" {r['pairwise_precision']:6.3f} {r['pairwise_recall']:6.3f} {r['pairwise_f1']:6.3f}"
        )
    print("(clus: clusters of all faces; mixed: clusters holding more than one person)")
    for name, r in rows.items():
        for members in r["mixed_clusters"]:
            print(f"  {name} mixed cluster: " + " + ".join(f"{p} {n}" for p, n in members.items()))


def print_assignment(title: str, rows: list[tuple[str, dict]]) -> None:
    print(f"\n{title}")
    print(
        f"{'rule':36} {'thr':>5} {'assigned':>8} {'correct':>7} {'wrong':>5} {'held':>5}"
        f" {'strangers':>9} {'precision':>9} {'recall':>6}"
    )
    for name, r in rows:
        strangers = f"{r['stranger_accepts']}/{r['strangers']}" if r["strangers"] else "-"
        print(
            f"{name:36} {r['threshold']:5.2f} {r['assigned']:8d} {r['correct']:7d}"
            f" {r['wrong']:5d} {r['held']:5d} {strangers:>9} {r['open_precision']:9.3f}"
            f" {r['recall']:6.3f}"
        )


def print_calls(calls: dict) -> None:
    line = (
        f"closest calls: hardest same-person face {calls['hardest_genuine']:.3f}"
        f" ({calls['hardest_genuine_face']}), top other-person similarity"
        f" {calls['top_impostor']:.3f} ({calls['top_impostor_face']})"
    )
    if "top_stranger" in calls:
        line += f", top stranger {calls['top_stranger']:.3f} ({calls['top_stranger_face']})"
    print(line)


def print_choice(label: str, choice: dict | None) -> None:
    if choice is None:
        print(f"{label}: no threshold of the sweep reaches precision {TARGET_PRECISION}")
    else:
        print(
            f"{label}: lowest threshold with precision >= {TARGET_PRECISION} is"
            f" {choice['threshold']:.2f} (precision {choice['open_precision']:.3f},"
            f" recall {choice['recall']:.3f})"
        )


def sweep_rows(sweep: list[dict]) -> list[tuple[str, dict]]:
    return [(f"sweep {r['threshold']:.2f}", r) for r in sweep]


def print_run(
    title: str, label: str, run: AssignmentRun, extra_rows: list[tuple[str, dict]] = ()
) -> None:
    """A run's table, its closest calls and its chosen threshold."""
    print_assignment(title, run.rows(extra_rows))
    print_calls(run.calls)
    print_choice(label, run.choice)


def sweep_figures(sweep: list[dict]) -> list[dict]:
    """Sweep rows for the JSON line; precision counts stranger accepts as wrong."""
    return [
        {
            "threshold": r["threshold"],
            "precision": r["open_precision"],
            "recall": r["recall"],
            "assigned": r["assigned"],
            "stranger_accepts": r["stranger_accepts"],
        }
        for r in sweep
    ]


def rounded(value):
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


# --- main -------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", default=str(DEFAULT_DATA_DIR))
    parser.add_argument("--pack", default="buffalo_s", help="model pack (default buffalo_s)")
    parser.add_argument(
        "--seed", type=int, default=None, help="choose seed photos at random with this seed"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    data_dir = Path(args.data_dir).resolve()
    photos = photos_by_identity(data_dir)
    extras = [GROUP_PHOTO] if GROUP_PHOTO.is_file() else []
    rng = None if args.seed is None else np.random.default_rng(args.seed)

    with embedded_work("bench_identity_") as (work, store):
        library = work / "library"
        truth = library_of(photos, extras, library)
        models = load_face_models(args.pack, ("CPUExecutionProvider",))
        months = ingested_months(models, store, library)
        ingest_s = time.perf_counter() - started
        by_path = faces_of_paths(store, models.pack)
        faces = labelled_faces(truth, by_path)
        faceless = sorted(set(truth) - set(by_path))
        extra_faces = {
            p: fs for p, fs in by_path.items() if p.startswith(f"{EXTRA_DIR}/") and p not in truth
        }
        low_quality = sum(1 for f in faces if f.quality < QUALITY_GATE)
        print(
            f"{len(truth)} photos of {len(photos)} people from {data_dir}"
            f" (+{len(extras)} extra), {sum(len(v) for v in by_path.values())} faces in"
            f" {len(months)} months {list(months)}; ingest {ingest_s:.1f} s"
        )
        print(
            f"labelled faces: {len(faces)} (photos without a face: {faceless or 'none'});"
            f" below quality {QUALITY_GATE} (not clustered): {low_quality}"
        )
        spread = similarity_spread(faces)
        print(
            f"cosine same person: mean {spread['genuine_mean']:.3f}, min"
            f" {spread['genuine_min']:.3f} ({spread['genuine_pairs']} pairs); different people:"
            f" mean {spread['impostor_mean']:.3f}, max {spread['impostor_max']:.3f}"
            f" ({spread['impostor_pairs']} pairs)"
        )

        # 1. Clustering, before any human label (labelled faces are not clustered).
        cluster_rows = {
            name: clustering_scores(store, models.pack, faces, method, mcs, ms, eps)
            for name, method, mcs, ms, eps in CLUSTER_SETTINGS
        }
        print_clustering(cluster_rows)

        # 2. Assignment. Seeds: one photo of each person; the others are held back.
        counts = Counter(f.identity for f in faces)
        seeds = one_photo_each(faces, rng)
        seed_ids = {f.face_id for f in seeds}
        held = [f for f in faces if f.face_id not in seed_ids]
        default_threshold = person_threshold(models.pack)
        pack = models.pack

        # 2a. Open set first: only people with >= 3 photos are labelled; the faces of the
        # people with 2 photos are strangers, and any name they get is wrong.
        known = {identity for identity, n in counts.items() if n >= 3}
        open_seeds = [f for f in seeds if f.identity in known]
        open_held = [f for f in held if f.identity in known]
        strangers = [f for f in faces if f.identity not in known]
        labelled_seeds(store, pack, open_seeds)
        open_set = assignment_run(
            store, pack, months, open_seeds, open_held, default_threshold, strangers
        )
        print_run(
            f"open set: {len(open_seeds)} people labelled with 1 photo, {len(open_held)} of their"
            f" faces held back, {len(strangers)} faces of {len(counts) - len(known)} unlabelled"
            f" people (strangers); margin {ASSIGN_MARGIN}; precision counts stranger accepts",
            "open set",
            open_set,
        )

        # 2b. Closed set: every person labelled with one photo (the brief's main figures).
        labelled_seeds(store, pack, [f for f in seeds if f.identity not in known])
        one_seed = assignment_run(
            store,
            pack,
            months,
            seeds,
            held,
            default_threshold,
            also={"seed default": SEED_THRESHOLD},
        )
        group = {p: group_photo_names(store, fs) for p, fs in extra_faces.items()}
        print_run(
            f"closed set: all {len(seeds)} people labelled with 1 photo, {len(held)} faces held"
            f" back; margin {ASSIGN_MARGIN}",
            "closed set, 1 seed",
            one_seed,
        )
        for rel_path, names in group.items():
            got = ", ".join(
                f"face {n['face_index']} -> {n['person']} ({n['similarity']})" for n in names
            )
            print(f"group photo {rel_path} (expect {' and '.join(GROUP_PEOPLE)}): {got}")

        # 2c. A second labelled photo for people with >= 3 photos (more prototypes).
        extra_seeds = one_photo_each([f for f in held if f.identity in known], rng)
        seeds2 = seeds + extra_seeds
        seed2_ids = {f.face_id for f in seeds2}
        held2 = [f for f in faces if f.face_id not in seed2_ids]
        # The same held-back faces for both: photos 3+ of the people that got a second seed.
        common = [f for f in held2 if f.identity in known]
        states = face_states(store, [f.face_id for f in common])  # 1 seed, default threshold
        one_seed_common = with_strangers(
            scored([(f.identity, states[f.face_id][1]) for f in common], default_threshold), []
        )
        labelled_seeds(store, pack, extra_seeds)
        two_seeds = assignment_run(store, pack, months, seeds2, held2, default_threshold)
        states = face_states(store, [f.face_id for f in common])
        two_seed_common = with_strangers(
            scored([(f.identity, states[f.face_id][1]) for f in common], default_threshold), []
        )
        print_run(
            f"closed set, 2 labelled photos for the {len(extra_seeds)} people with >= 3 photos"
            f" ({len(seeds2)} labelled, {len(held2)} held back)",
            "closed set, 2 seeds",
            two_seeds,
            [
                ("1 seed, photos 3+ (default)", one_seed_common),
                ("2 seeds, photos 3+ (default)", two_seed_common),
            ],
        )

        default, small = cluster_rows["default"], cluster_rows["small"]
        figures = {
            "pack": models.pack,
            "photos": len(truth),
            "labelled_faces": len(faces),
            "people": default["people"],
            "months": len(months),
            **{k: default[k] for k in ("bcubed_precision", "bcubed_recall", "bcubed_f1")},
            "pairwise_f1": default["pairwise_f1"],
            "clusters": default["clusters"],
            "noise_share": default["noise_share"],
            "small_bcubed_f1": small["bcubed_f1"],
            "small_bcubed_precision": small["bcubed_precision"],
            "small_bcubed_recall": small["bcubed_recall"],
            "small_pairwise_f1": small["pairwise_f1"],
            "small_clusters": small["clusters"],
            "small_noise_share": small["noise_share"],
            "baseline_bcubed_f1": cluster_rows["baseline"]["bcubed_f1"],
            "baseline_clusters": cluster_rows["baseline"]["clusters"],
            "baseline_noise_share": cluster_rows["baseline"]["noise_share"],
            "clustering": {
                name: {k: r[k] for k in ("bcubed_f1", "pairwise_f1", "clusters", "noise_share")}
                for name, r in cluster_rows.items()
            },
            "person_threshold": default_threshold,
            "margin": ASSIGN_MARGIN,
            "assign_precision": one_seed.default["precision"],
            "assign_recall": one_seed.default["recall"],
            "seed_threshold_precision": one_seed.also["seed default"]["precision"],
            "seed_threshold_recall": one_seed.also["seed default"]["recall"],
            "immich_precision": one_seed.immich["precision"],
            "immich_recall": one_seed.immich["recall"],
            "recommended_threshold": one_seed.choice["threshold"] if one_seed.choice else None,
            "recommended_recall": one_seed.choice["recall"] if one_seed.choice else None,
            "open_precision": open_set.default["open_precision"],
            "open_recall": open_set.default["recall"],
            "open_stranger_accepts": open_set.default["stranger_accepts"],
            "open_strangers": open_set.default["strangers"],
            "open_immich_precision": open_set.immich["open_precision"],
            "open_immich_recall": open_set.immich["recall"],
            "open_recommended_threshold": open_set.choice["threshold"] if open_set.choice else None,
            "two_seed_precision": two_seeds.default["precision"],
            "two_seed_recall": two_seeds.default["recall"],
            "two_seed_common_recall": two_seed_common["recall"],
            "one_seed_common_recall": one_seed_common["recall"],
            "two_seed_recommended_threshold": two_seeds.choice["threshold"]
            if two_seeds.choice
            else None,
            "impostor_max": spread["impostor_max"],
            "genuine_min": spread["genuine_min"],
            "group_photo": {p: [n["person"] for n in names] for p, names in group.items()},
            "sweep": sweep_figures(one_seed.sweep),
            "sweep_open_set": sweep_figures(open_set.sweep),
            "sweep_two_seeds": sweep_figures(two_seeds.sweep),
            "seconds": time.perf_counter() - started,
        }
        print(json.dumps(rounded(figures)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
