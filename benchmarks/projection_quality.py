"""Does a projection head help on real faces? Raw ArcFace vs projected, over several seeds.

    python benchmarks/projection_quality.py [DATA_DIR] [--epochs N] [--device cpu|cuda]
                                            [--seeds K] [--pack buffalo_s]

DATA_DIR holds one folder of photos per person (default: ../shared/data/faces_real beside the
repository). The photos are copied into a temporary library and ingested through the real
pipeline (benchmarks/identity_quality.py's functions: scan, raw_images, detect_faces,
embed_faces, score_faces) into a fresh embedded PostgreSQL + pgvector. Every photo's largest
face is then labelled with its true identity, one labels.label_faces call per person, as a
human would.

Training goes through training.train_candidate, the function behind the projection_head
asset: held-out PERSONS for verification (ROC AUC, TAR@FAR) and HDBSCAN BCubed F1, and
held-back faces of training persons for known-person accuracy, raw vs projected; then
training.gate_latest decides promotion. faces_real is small (2 people have >= 5 photos), so
min_faces_per_person and faces_per_person_in_batch default to 3, not the seed's 5 and 4. The
held-out set is a handful of persons, so the whole run is repeated over K seeds
(TrainingConfig.seed changes the person split, the face split and the init); after each gate
the promoted head, if any, is retired so that every seed is judged against raw ArcFace alone.

The same run also times the standard load (2,000 synthetic faces of 100 people, 50 epochs;
benchmarks/projection_timing.py's generator) on the CPU, and on CUDA with --device cuda.
Prints tables and ends with one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from collections import Counter, defaultdict
from pathlib import Path

warnings.filterwarnings("ignore")
os.environ["DAGSTER_DISABLE_TELEMETRY"] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parent))

import identity_quality
import numpy as np
import projection_timing
import torch
from _work import embedded_work

from face_assets.defaults import QUALITY_GATE
from face_assets.identity import clustering, head_checkpoint, metrics, projection, verification
from face_assets.identity.devices import resolve_torch_device
from face_assets.services import labels, training
from face_assets.store import (
    Store,
)
from face_assets.vision.models import load_face_models
from face_assets.vision.packs import person_threshold

DEFAULT_EPOCHS = projection.DEFAULT_EPOCHS  # the seed's 20
DEFAULT_SEEDS = 5
SMALL_MIN_FACES = 3  # faces_real: 13 people have >= 3 photos, only 2 have >= 5
SMALL_FACES_PER_PERSON = 3  # K of P x K; must be <= min_faces_per_person
# (name in tables and JSON, where it lives in outcome.metrics)
METRICS = (
    ("roc_auc", "roc_auc"),
    ("tar_at_far_1e-3", "tar_at_far_1e-3"),
    ("tar_at_far_1e-2", "tar_at_far_1e-2"),
    ("bcubed_f1", "bcubed_f1"),
    ("known_person_accuracy", None),
)
SEED_CLAIM = "30-40 minutes on an RTX 3080"


def label_everyone(store: Store, pack: str, faces: list) -> dict[str, int]:
    """Label every photo's largest face with its true identity, one call per person."""
    by_person: dict[str, list[int]] = defaultdict(list)
    for face in faces:
        by_person[face.identity].append(face.face_id)
    for identity, face_ids in sorted(by_person.items()):
        labels.label_faces(store, face_ids, identity, pack)
    return {identity: len(ids) for identity, ids in by_person.items()}


def retire_promoted(store: Store, pack: str) -> None:
    """Retire the promoted head so the next seed's candidate is gated against raw ArcFace.

    Without this, seed k+1 would be compared with seed k's head, which was trained on persons
    that may now be held out. Only this benchmark's temporary store is touched.
    """
    with store.transaction() as conn:
        conn.execute(
            "UPDATE projection_heads SET status = 'retired'"
            " WHERE pack = %s AND status = 'promoted'",
            (pack,),
        )


def metric_value(found: dict, space: str, key: str | None, name: str) -> float | None:
    if key is None:
        return found[f"{name}_{space}"]
    return found[space][key]


def heldout_spread(
    store: Store, pack: str, config: projection.TrainingConfig, checkpoint: Path
) -> dict:
    """Cosine spread of the held-out persons in both spaces, and BCubed without the guard.

    The held-out split is rebuilt with the same public functions train_candidate uses
    (training.labelled_faces, projection.split_by_person) and the head is read back from its
    checkpoint, so the figures here can be checked against the stored metrics.
    """
    data = training.labelled_faces(store, pack, QUALITY_GATE)
    persons, counts = np.unique(data.labels, return_counts=True)
    keep = np.isin(data.labels, persons[counts >= config.min_faces_per_person])
    x, y = data.embeddings[keep], data.labels[keep]
    _, held = projection.split_by_person(y, config.validation_share, config.seed)
    head, _ = head_checkpoint.load_checkpoint(checkpoint)
    found = {}
    for space, emb in (("raw", x[held]), ("projected", head.project(x[held]))):
        sims = emb @ emb.T
        same = y[held][:, None] == y[held][None, :]
        upper = np.triu(np.ones_like(same), k=1)
        predicted = clustering.cluster_labels(
            emb, min_cluster_size=2, min_samples=1, max_distance=None
        )
        found[space] = {
            "genuine_min": float(sims[upper & same].min()),
            "impostor_max": float(sims[upper & ~same].max()),
            "roc_auc": verification.verification_metrics(emb, y[held])["roc_auc"],
            "bcubed_f1_unguarded": metrics.bcubed_scores(y[held], predicted)[2],
        }
    return found


def one_seed(store, pack: str, config: projection.TrainingConfig, device: str) -> dict:
    outcome = training.train_candidate(
        store, pack, config, device, raw_threshold=person_threshold(pack)
    )
    check = heldout_spread(store, pack, config, outcome.checkpoint)
    decision, head_id = training.gate_latest(store, pack)
    if decision.promote:
        retire_promoted(store, pack)
    found = outcome.metrics
    row = {
        "seed": config.seed,
        "head_id": head_id,
        "persons_train": outcome.persons_train,
        "persons_heldout": outcome.persons_heldout,
        "faces": outcome.faces,
        "heldout_faces": found["raw"]["faces"],
        "genuine_pairs": found["raw"]["genuine_pairs"],
        "impostor_pairs": found["raw"]["impostor_pairs"],
        "seconds_per_epoch": outcome.seconds_per_epoch,
        "epoch_seconds": statistics.fmean(h["seconds"] for h in outcome.history[1:])
        if len(outcome.history) > 1
        else None,
        "loss_first": outcome.history[0]["loss"],
        "loss_last": outcome.history[-1]["loss"],
        "val_loss_first": outcome.history[0]["val_loss"],
        "val_loss_last": outcome.history[-1]["val_loss"],
        "threshold": outcome.threshold,
        "promoted": decision.promote,
        "gain": decision.gain,
        "reason": decision.reason,
        "notes": found["raw"].get("notes", []),
        "reproduced": all(
            check[space]["roc_auc"] == found[space]["roc_auc"] for space in ("raw", "projected")
        ),
    }
    for space in ("raw", "projected"):
        for key in ("genuine_min", "impostor_max", "bcubed_f1_unguarded"):
            row[f"{space}_{key}"] = check[space][key]
    for name, key in METRICS:
        for space in ("raw", "projected"):
            row[f"{space}_{name}"] = metric_value(found, space, key, name)
    return row


def standard_load(device: str, epochs: int) -> dict:
    """projection_timing's load: 2,000 faces of 100 people + 25 held-out people, 50 epochs."""
    x, y = projection_timing.synthetic_clusters(
        projection_timing.PEOPLE, projection_timing.FACES, projection_timing.SEED
    )
    val_faces = projection_timing.VAL_PEOPLE * (projection_timing.FACES // projection_timing.PEOPLE)
    vx, vy = projection_timing.synthetic_clusters(
        projection_timing.VAL_PEOPLE, val_faces, projection_timing.SEED + 1, first_label=10**6
    )
    config = projection.TrainingConfig(epochs=epochs, seed=projection_timing.SEED)
    if device.startswith("cuda"):  # CUDA context and kernels outside the timed run
        projection.train_projection_head(
            x, y, projection.TrainingConfig(epochs=1), device, val_embeddings=vx, val_labels=vy
        )
        torch.cuda.synchronize()
    started = time.perf_counter()
    head = projection.train_projection_head(
        x, y, config, device=device, val_embeddings=vx, val_labels=vy
    )
    total = time.perf_counter() - started
    per_epoch = [e.seconds for e in head.history[1:]]
    return {
        "device": device,
        "faces": len(y),
        "people": projection_timing.PEOPLE,
        "val_faces": len(vy),
        "epochs": epochs,
        "seconds_total": total,
        "seconds_per_epoch": statistics.fmean(per_epoch) if per_epoch else None,
        "loss_first": head.history[0].loss,
        "loss_last": head.history[-1].loss,
        "val_loss_first": head.history[0].val_loss,
        "val_loss_last": head.history[-1].val_loss,
    }


# --- summaries and printing ---------------------------------------------------------------


def spread(values: list) -> dict:
    """mean, std (population), min, max over the seeds that define the value, and how many."""
    defined = [v for v in values if v is not None]
    if not defined:
        return {"mean": None, "std": None, "min": None, "max": None, "n": 0}
    return {
        "mean": statistics.fmean(defined),
        "std": statistics.pstdev(defined),
        "min": min(defined),
        "max": max(defined),
        "n": len(defined),
    }


def fmt(value, width: int = 6, digits: int = 3) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:{width}.{digits}f}"


def print_seeds(rows: list[dict]) -> None:
    print(
        f"\n{'seed':>4} {'train':>5} {'held':>4} {'hfaces':>6} {'gen/imp':>7}"
        f" {'AUC raw':>7} {'proj':>6} {'T@1e-2':>6} {'proj':>6} {'B3 raw':>6} {'proj':>6}"
        f" {'known raw':>9} {'proj':>6} {'val loss':>13} {'s/ep':>6} {'promoted':>8}"
    )
    for r in rows:
        val = f"{r['val_loss_first']:.3f}->{r['val_loss_last']:.3f}"
        print(
            f"{r['seed']:>4} {r['persons_train']:>5} {r['persons_heldout']:>4}"
            f" {r['heldout_faces']:>6} {r['genuine_pairs']:>3}/{r['impostor_pairs']:<3}"
            f" {fmt(r['raw_roc_auc'], 7)} {fmt(r['projected_roc_auc'])}"
            f" {fmt(r['raw_tar_at_far_1e-2'])} {fmt(r['projected_tar_at_far_1e-2'])}"
            f" {fmt(r['raw_bcubed_f1'])} {fmt(r['projected_bcubed_f1'])}"
            f" {fmt(r['raw_known_person_accuracy'], 9)}"
            f" {fmt(r['projected_known_person_accuracy'])}"
            f" {val:>13} {r['seconds_per_epoch']:6.3f} {'yes' if r['promoted'] else 'no':>8}"
        )
    print(
        "(train/held: persons; hfaces: held-out faces; gen/imp: genuine/impostor held-out pairs;"
        " T@1e-2: TAR at FAR 1e-2, '-' when < 100 impostor pairs; known: nearest-centroid"
        " accuracy on held-back faces of training persons)"
    )
    for r in rows:
        print(f"  seed {r['seed']} gate: {r['reason']}")
    print(
        f"\n{'seed':>4} {'raw gen min':>11} {'imp max':>7} {'proj gen min':>12} {'imp max':>7}"
        f" {'proj thr':>8} {'B3 raw*':>7} {'proj*':>6} {'reproduced':>10}"
    )
    for r in rows:
        print(
            f"{r['seed']:>4} {r['raw_genuine_min']:11.3f} {r['raw_impostor_max']:7.3f}"
            f" {r['projected_genuine_min']:12.3f} {r['projected_impostor_max']:7.3f}"
            f" {r['threshold']:8.3f} {r['raw_bcubed_f1_unguarded']:7.3f}"
            f" {r['projected_bcubed_f1_unguarded']:6.3f} {'yes' if r['reproduced'] else 'NO':>10}"
        )
    print(
        "(held-out cosine: lowest same-person and highest different-person similarity in each"
        " space; proj thr: the threshold train_candidate carried over from the raw"
        " person threshold; B3*: BCubed F1 with clustering's max_distance guard off;"
        " reproduced: held-out split and checkpoint give the stored ROC AUCs again)"
    )


def print_summary(summary: dict, k: int) -> None:
    print(f"\nover {k} seeds: mean ± std [min, max] (n = seeds where the metric is defined)")
    print(f"{'metric':24} {'raw ArcFace':>32} {'projected head':>32} {'proj - raw':>14}")

    def cell(s: dict) -> str:
        if s["n"] == 0:
            return f"{'undefined':>32}"
        text = f"{s['mean']:.3f} ± {s['std']:.3f} [{s['min']:.3f}, {s['max']:.3f}] n={s['n']}"
        return f"{text:>32}"

    for name, _ in METRICS:
        raw, proj, delta = summary[name]["raw"], summary[name]["projected"], summary[name]["delta"]
        d = "-" if delta["n"] == 0 else f"{delta['mean']:+.3f} ± {delta['std']:.3f}"
        print(f"{name:24} {cell(raw)} {cell(proj)} {d:>14}")


def print_standard(result: dict, where: str | None = None) -> None:
    hours = result["seconds_total"] / 60
    where = where or f"{result['device']}, {torch.get_num_threads()} threads"
    print(
        f"standard load on {where}: {result['faces']} faces of {result['people']}"
        f" people (+{result['val_faces']} held-out faces), {result['epochs']} epochs:"
        f" {result['seconds_per_epoch']:.3f} s/epoch, {result['seconds_total']:.1f} s total"
        f" ({hours:.2f} min); loss {result['loss_first']:.3f} -> {result['loss_last']:.3f},"
        f" val loss {result['val_loss_first']:.3f} -> {result['val_loss_last']:.3f}"
    )


# --- main -------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", default=str(identity_quality.DEFAULT_DATA_DIR))
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (training)")
    parser.add_argument("--seeds", type=int, default=DEFAULT_SEEDS, help="seeds 0..K-1")
    parser.add_argument("--pack", default="buffalo_s", help="model pack (default buffalo_s)")
    parser.add_argument("--min-faces", type=int, default=SMALL_MIN_FACES)
    parser.add_argument("--faces-per-person", type=int, default=SMALL_FACES_PER_PERSON)
    parser.add_argument(
        "--standard-epochs", type=int, default=projection_timing.EPOCHS, help="0 skips it"
    )
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error("--seeds must be >= 1")
    resolve_torch_device(args.device)  # fail before the ingest when the device is not there
    started = time.perf_counter()
    data_dir = Path(args.data_dir).resolve()
    photos = identity_quality.photos_by_identity(data_dir)

    with embedded_work("bench_projection_") as (work, store):
        truth = identity_quality.library_of(photos, [], work / "library")
        models = load_face_models(args.pack, ("CPUExecutionProvider",))
        pack = models.pack
        months = identity_quality.ingested_months(models, store, work / "library")
        ingest_s = time.perf_counter() - started
        faces = identity_quality.labelled_faces(truth, identity_quality.faces_of_paths(store, pack))
        labelled = label_everyone(store, pack, faces)
        usable = Counter(f.identity for f in faces if f.quality >= QUALITY_GATE)
        eligible = sorted(p for p, n in usable.items() if n >= args.min_faces)
        config0 = projection.TrainingConfig(
            epochs=args.epochs,
            min_faces_per_person=args.min_faces,
            faces_per_person_in_batch=args.faces_per_person,
        )
        print(
            f"{len(truth)} photos of {len(photos)} people from {data_dir}; ingest"
            f" {ingest_s:.1f} s ({len(months)} months); {len(faces)} largest faces labelled"
            f" by person ({len(labelled)} people)"
        )
        print(
            f"training data: faces of quality >= {QUALITY_GATE}:"
            f" {sum(usable.values())}; people with >= {args.min_faces} of them: {len(eligible)}"
            f" ({sum(usable[p] for p in eligible)} faces)"
        )
        print(
            f"NOTE: faces_real is small (people with >= {projection.DEFAULT_MIN_FACES_PER_PERSON}"
            f" usable faces: {sum(1 for n in usable.values() if n >= 5)}), so this run uses"
            f" min_faces_per_person={args.min_faces} and faces_per_person_in_batch="
            f"{args.faces_per_person} (seed defaults"
            f" {projection.DEFAULT_MIN_FACES_PER_PERSON} and"
            f" {projection.DEFAULT_FACES_PER_PERSON_IN_BATCH})"
        )
        print(
            f"config: epochs={config0.epochs} batch={config0.batch_size}"
            f" (P={config0.persons_per_batch} x K={config0.faces_per_person_in_batch})"
            f" lr={config0.learning_rate} margin={config0.margin} mining={config0.mining}"
            f" validation_share={config0.validation_share} (persons); known-person share"
            f" {training.KNOWN_PERSON_SHARE} (faces); gate {training.GATE_METRIC} gain >="
            f" {training.GATE_MIN_GAIN} over raw; device {args.device}; seeds 0..{args.seeds - 1}"
        )

        rows = []
        train_started = time.perf_counter()
        for seed in range(args.seeds):
            config = projection.TrainingConfig(**{**config0.__dict__, "seed": seed})
            rows.append(one_seed(store, pack, config, args.device))
        train_s = time.perf_counter() - train_started
        print_seeds(rows)
        notes = sorted({n for r in rows for n in r["notes"]})
        for note in notes:
            print(f"  note: {note}")

        summary = {}
        for name, _ in METRICS:
            raw = [r[f"raw_{name}"] for r in rows]
            proj = [r[f"projected_{name}"] for r in rows]
            delta = [
                None if a is None or b is None else b - a for a, b in zip(raw, proj, strict=True)
            ]
            summary[name] = {"raw": spread(raw), "projected": spread(proj), "delta": spread(delta)}
        promoted = sum(r["promoted"] for r in rows)
        print_summary(summary, args.seeds)
        epoch_s = [r["seconds_per_epoch"] for r in rows]
        epoch_only = [r["epoch_seconds"] for r in rows if r["epoch_seconds"] is not None] or [0.0]
        print(
            f"promoted: {promoted}/{args.seeds} seeds; training {train_s:.1f} s for"
            f" {args.seeds} seeds; s/epoch on {args.device}: median"
            f" {statistics.median(epoch_s):.4f}, mean {statistics.fmean(epoch_s):.4f} (the mean"
            " of trained epochs per seed; seed 0 carries torch's one-time start-up); epochs"
            f" 1..N alone (history): median {statistics.median(epoch_only):.4f}"
        )

        standard = {}
        if args.standard_epochs:
            print()
            devices = ["cpu"] + ([args.device] if args.device != "cpu" else [])
            for device in devices:
                standard[device] = standard_load(device, args.standard_epochs)
                print_standard(standard[device])
            threads = torch.get_num_threads()
            if threads > 1:  # a 512-256-128 MLP gains nothing from threads; contention hurts
                torch.set_num_threads(1)
                try:
                    standard["cpu_1_thread"] = standard_load("cpu", args.standard_epochs)
                finally:
                    torch.set_num_threads(threads)
                print_standard(standard["cpu_1_thread"], "cpu, 1 thread")
            print(
                f"the seed claims {SEED_CLAIM} for this load; torch uses {threads} CPU threads"
                f" here, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (other"
                " processes on the CPUs make multi-threaded torch much slower)"
            )
        main_load = standard.get(args.device)

        def mean_of(name: str, space: str):
            return summary[name][space]["mean"]

        figures = {
            "pack": pack,
            "device": args.device,
            "persons": len(eligible),
            "faces": rows[0]["faces"],
            "people_in_data": len(photos),
            "labelled_faces": len(faces),
            "min_faces_per_person": args.min_faces,
            "faces_per_person_in_batch": args.faces_per_person,
            "epochs": args.epochs,
            "seeds": args.seeds,
            "persons_heldout": rows[0]["persons_heldout"],
            "raw_roc_auc": mean_of("roc_auc", "raw"),
            "projected_roc_auc": mean_of("roc_auc", "projected"),
            "raw_bcubed_f1": mean_of("bcubed_f1", "raw"),
            "projected_bcubed_f1": mean_of("bcubed_f1", "projected"),
            "raw_tar_at_far_1e-3": mean_of("tar_at_far_1e-3", "raw"),
            "projected_tar_at_far_1e-3": mean_of("tar_at_far_1e-3", "projected"),
            "raw_tar_at_far_1e-2": mean_of("tar_at_far_1e-2", "raw"),
            "projected_tar_at_far_1e-2": mean_of("tar_at_far_1e-2", "projected"),
            "known_person_accuracy_raw": mean_of("known_person_accuracy", "raw"),
            "known_person_accuracy_projected": mean_of("known_person_accuracy", "projected"),
            "promoted": f"{promoted}/{args.seeds}",
            "promoted_count": promoted,
            "seconds_per_epoch": statistics.median(epoch_s),
            "seconds_per_epoch_mean": statistics.fmean(epoch_s),
            "seconds_per_epoch_history": statistics.median(epoch_only),
            "standard_load_seconds_per_epoch": main_load["seconds_per_epoch"]
            if main_load
            else None,
            "standard_load_seconds_total": main_load["seconds_total"] if main_load else None,
            "standard_load": {
                d: {k: s[k] for k in ("seconds_per_epoch", "seconds_total", "epochs")}
                for d, s in standard.items()
            },
            "summary": summary,
            "per_seed": [
                {k: v for k, v in r.items() if k not in ("reason", "notes")} for r in rows
            ],
            "torch_threads": torch.get_num_threads(),
            "seconds": time.perf_counter() - started,
        }
        print(json.dumps(identity_quality.rounded(figures)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
