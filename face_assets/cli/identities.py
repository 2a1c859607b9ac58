"""Seed 002's verbs: backfill, cluster, cluster-dual, assign, centroids, train-matching.

Each is the service call the HTTP app and the assets make, in the foreground; with `--queue`
it becomes a Dagster run on the instance (DAGSTER_HOME, or the webserver at
FACE_ASSETS_DAGSTER_URL) instead, shown in the Dagster UI. Options left out keep the
services' defaults (ours, measured, where they differ from the seed's; README table)."""

from __future__ import annotations

import argparse
from datetime import date

from face_assets.cli import common


def _given(args: argparse.Namespace, **names: str) -> dict:
    """{service name: value} of the options the user gave (attribute name -> service name)."""
    return {
        to: getattr(args, attr) for attr, to in names.items() if getattr(args, attr) is not None
    }


def _queue(job: str, run_config: dict, tags: dict | None = None) -> int:
    from face_assets.defs.launcher import DagsterRuns

    run = DagsterRuns.from_settings(common.settings()).submit(job, run_config, tags or {})
    print(f"queued: run {run.run_id} of {run.job_name} ({run.status}, via {run.via})")
    return 0


def _ops(**configs: dict) -> dict:
    return {"ops": {op: {"config": c} for op, c in configs.items() if c}}


def _cluster_params(given: dict):
    from face_assets.services import clusters

    params = clusters.ClusterParams(**{k: v for k, v in given.items() if k != "max_faces"})
    params.check()
    return params


def cmd_backfill(args: argparse.Namespace) -> int:
    """Detect, embed and score `--limit` registered photos this pack has not detected yet
    (from `--offset`, in id order); `--queue`: an ingest_month run over their months."""
    from face_assets.services import backfill

    backfill.check_slice(args.limit, args.offset, args.min_confidence)
    store, pack = common.store(), common.pack()
    chosen = backfill.selection(store, pack, args.limit, args.offset)
    photos = sum(len(ids) for ids in chosen.values())
    print(
        f"Backfilling {photos} photos without faces of {pack} (offset {args.offset},"
        f" min confidence {args.min_confidence:g})"
    )
    if not chosen:
        print("Processed: 0")
        print("Total faces: 0")
        print("Status: nothing to do (every registered photo is detected; new photos enter"
              " with `face-assets ingest`)")  # fmt: skip
        return 0
    if args.queue:
        from face_assets.defs.automation import RANGE_END_TAG, RANGE_START_TAG
        from face_assets.defs.jobs import INGEST_JOB

        months = sorted(chosen)
        detection = {"limit": args.limit, "offset": args.offset}
        detection["min_confidence"] = args.min_confidence
        return _queue(
            INGEST_JOB,
            _ops(detected_faces=detection),
            {RANGE_START_TAG: months[0], RANGE_END_TAG: months[-1]},
        )
    done = backfill.detect_images(
        common.models(), store, common.photo_library(), chosen, args.min_confidence
    )
    reasons = ", ".join(f"{k} {v}" for k, v in done.errors_by_reason.items())
    print(f"Processed: {done.processed}")
    print(f"Total faces: {done.total_faces}")
    print(f"Errors: {done.errors}" + (f" ({reasons})" if reasons else ""))
    print(f"Months: {', '.join(done.months)}")
    print(f"Still without faces: {backfill.waiting(store, pack)} photos")
    print("Status: completed")
    return 0


def cmd_cluster(args: argparse.Namespace) -> int:
    """Cluster the faces no known person claimed (the face_clusters asset's work)."""
    if args.time_bucket:
        raise ValueError(
            "--time-bucket is not supported: a person spans months, so clusters are built over"
            " every month at once (new months join them incrementally)"
        )
    given = _given(
        args,
        quality_threshold="min_quality",
        max_faces="max_faces",
        min_cluster_size="min_cluster_size",
        min_samples="min_samples",
    )
    params = _cluster_params(given)
    if args.queue:
        from face_assets.defs.jobs import CLUSTER_JOB

        config = {("quality_threshold" if k == "min_quality" else k): v for k, v in given.items()}
        return _queue(CLUSTER_JOB, _ops(face_clusters=config))
    from face_assets.services import clusters

    found = clusters.recluster(
        common.store(), common.pack(), params, max_faces=given.get("max_faces")
    )
    print(f"Total faces: {found.faces}")
    print(f"Clusters found: {found.clusters}")
    print(f"Noise: {found.noise}")
    if found.deferred:
        print(f"Deferred to the next run: {found.deferred}")
    return 0


def cmd_cluster_dual(args: argparse.Namespace) -> int:
    """Dual mode: known persons claim their faces, then the rest is clustered."""
    given = _given(
        args, unknown_method="method", unknown_min_size="min_cluster_size", unknown_eps="eps"
    )
    params = _cluster_params(given)
    if args.queue:
        from face_assets.defs.automation import RANGE_END_TAG, RANGE_START_TAG
        from face_assets.defs.jobs import IDENTITIES_JOB
        from face_assets.services import dual

        months = dual.months_with_faces(common.store())
        if not months:
            raise ValueError("no month has faces yet: ingest photos first")
        assign = _given(args, person_threshold="person_threshold")
        return _queue(
            IDENTITIES_JOB,
            _ops(face_assignments=assign, face_clusters=given),
            {RANGE_START_TAG: months[0], RANGE_END_TAG: months[-1]},
        )
    from face_assets.services import dual

    done = dual.dual_cluster(common.store(), common.pack(), args.person_threshold, params)
    assigned, found = done.assigned, done.found
    persons = len(assigned.per_person)
    share = assigned.assigned / assigned.faces if assigned.faces else 0.0
    noise = found.noise / found.faces if found.faces else 0.0
    print("Dual-Mode Clustering Results:")
    print("=" * 40)
    print("Phase 1 (Supervised):")
    print(f"  - Faces processed: {assigned.faces}")
    print(f"  - Assigned to persons: {assigned.assigned} ({share:.1%})")
    print(f"  - Persons matched: {persons}")
    print(f"  - Threshold: {done.rule.threshold:g} ({done.rule.source})")
    print("Phase 2 (Unsupervised):")
    print(f"  - Unlabeled faces: {found.faces}")
    print(f"  - Clusters found: {found.clusters}")
    print(f"  - Noise (outliers): {found.noise} ({noise:.1%})")
    print("Cluster Distribution:")
    print(f"  - person_* clusters: {persons} ({assigned.assigned} faces)")
    clustered = found.faces - found.noise
    print(f"  - unknown_cluster_* groups: {found.clusters} ({clustered} faces)")
    print(f"  - Unassigned (noise): {found.noise} faces")
    common.report_labels_changed()
    return 0


def _months_since(since: str | None) -> list[str]:
    from face_assets.services import dual

    months = dual.months_with_faces(common.store())
    if since is None:
        return months
    try:
        first = date.fromisoformat(since).strftime("%Y-%m")
    except ValueError as exc:
        raise ValueError(f"--since {since!r} is not a date like 2025-12-23") from exc
    return [m for m in months if m >= first]


def cmd_assign(args: argparse.Namespace) -> int:
    """Assign faces without a human label to known persons (the face_assignments work); with
    --since, only the months from that date's month on (photos are bucketed by month)."""
    if args.max_faces is not None:
        raise ValueError(
            "--max-faces is not supported: assignment is a matrix product per month, cheap"
            " enough to take every face of the months it is given (use --since to bound it)"
        )
    months = _months_since(args.since)
    if not months:
        print("no month with faces to assign")
        return 0
    if args.queue:
        from face_assets.defs.automation import RANGE_END_TAG, RANGE_START_TAG
        from face_assets.defs.jobs import ASSIGN_JOB

        config = _given(args, threshold="person_threshold")
        return _queue(
            ASSIGN_JOB,
            _ops(face_assignments=config),
            {RANGE_START_TAG: months[0], RANGE_END_TAG: months[-1]},
        )
    from face_assets.services import identities, matching

    store, pack = common.store(), common.pack()
    rule = matching.matching_rule(store, pack, override=args.threshold)
    done = identities.assign_months(store, pack, months, rule)
    print(f"Faces considered: {done.faces}")
    print(f"Faces assigned: {done.assigned}")
    print(f"Persons matched: {len(done.per_person)}")
    print(f"Threshold: {rule.threshold:g} ({rule.source}, space {rule.space})")
    return 0


def cmd_centroids(args: argparse.Namespace) -> int:
    """Recompute every person's centroid and exemplars (the person_prototypes work)."""
    if args.queue:
        from face_assets.defs.jobs import PROTOTYPES_JOB

        return _queue(PROTOTYPES_JOB, {})
    from face_assets.services import identities

    done = identities.refresh_prototypes(common.store(), common.pack())
    print(f"Persons: {done.persons}")
    print(f"Prototypes: {done.prototypes}")
    return 0


def cmd_train_matching(args: argparse.Namespace) -> int:
    """Train a projection head on the labelled people; the gate decides whether it is used."""
    from face_assets.services import training

    fields = training.training_fields(
        epochs=args.epochs,
        margin=args.margin,
        batch_size=args.batch_size,
        min_faces_per_person=args.min_faces,
    )
    config = training.TrainingConfig(**fields)  # a bad combination fails before any work
    if args.queue:
        from face_assets.defs.jobs import TRAINING_JOB

        return _queue(TRAINING_JOB, _ops(projection_head=fields))
    outcome, decision = training.train_and_gate(common.store(), common.pack(), config)
    last = outcome.history[-1] if outcome.history else {}
    print("Training Face Matching Model")
    print("=" * 40)
    print(f"  - Total persons: {outcome.persons_train + outcome.persons_heldout}")
    print(f"  - Total faces: {outcome.faces}")
    print(f"  - Training faces: {outcome.training_faces}")
    print(f"  - Validation faces: {outcome.validation_faces}")
    for h in outcome.history:
        val = "-" if h["val_loss"] is None else f"{h['val_loss']:.4f}"
        print(f"Epoch {h['epoch']}/{config.epochs}: loss={h['loss']:.4f}, val_loss={val}")
    print(f"  - Final training loss: {last.get('loss', float('nan')):.4f}")
    print(f"  - Model saved: {outcome.checkpoint}")
    print(f"  - Gate: {decision.reason}")
    return 0 if decision.promote else 3


def register(sub: argparse._SubParsersAction) -> None:
    from face_assets.defaults import BACKFILL_LIMIT, BACKFILL_OFFSET, MIN_CONFIDENCE

    fill = common.add_verb(
        sub, "backfill", "detect faces of registered photos not detected yet", cmd_backfill
    )
    fill.add_argument(
        "--limit", type=int, default=BACKFILL_LIMIT, help=f"photos (default {BACKFILL_LIMIT})"
    )
    fill.add_argument(
        "--offset", type=int, default=BACKFILL_OFFSET, help="photos skipped first (id order)"
    )
    fill.add_argument(
        "--min-confidence",
        type=float,
        default=MIN_CONFIDENCE,
        help=f"detector score a face needs (default {MIN_CONFIDENCE})",
    )

    cluster = common.add_verb(
        sub, "cluster", "cluster the faces no known person claimed", cmd_cluster
    )
    cluster.add_argument(
        "--quality-threshold", type=float, help="faces below this quality are not clustered"
    )
    cluster.add_argument("--max-faces", type=int, help="new faces one run takes in")
    cluster.add_argument("--min-cluster-size", type=int, help="fewer faces stay noise")
    cluster.add_argument("--min-samples", type=int, help="hdbscan only")
    cluster.add_argument("--time-bucket", help="refused: clusters span months")

    dual = common.add_verb(
        sub, "cluster-dual", "known persons claim their faces, then cluster", cmd_cluster_dual
    )
    dual.add_argument("--person-threshold", type=float, help="default: the matching rule's")
    dual.add_argument("--unknown-method", help="default: average linkage (measured best)")
    dual.add_argument("--unknown-min-size", type=int, help="smallest cluster of the rest")
    dual.add_argument("--unknown-eps", type=float, help="dbscan / agglomerative only")

    assign = common.add_verb(sub, "assign", "assign faces to known persons", cmd_assign)
    assign.add_argument("--since", help="YYYY-MM-DD: the months from this date's month on")
    assign.add_argument("--max-faces", type=int, help="refused: every face of the months")
    assign.add_argument("--threshold", type=float, help="default: the matching rule's")

    centroids = common.add_verb(
        sub, "centroids", "recompute every person's prototypes", cmd_centroids
    )

    train = common.add_verb(
        sub, "train-matching", "train a projection head (seed 002's verb)", cmd_train_matching
    )
    train.add_argument("--epochs", type=int, help="passes over the labelled faces")
    train.add_argument("--margin", type=float, help="triplet margin")
    train.add_argument("--batch-size", type=int, help="faces per optimiser step")
    train.add_argument("--min-faces", type=int, help="labelled faces per person")

    # Every verb here can run in the foreground or, with --queue, as a Dagster run.
    for parser in (fill, cluster, dual, assign, centroids, train):
        parser.add_argument("--queue", action="store_true", help="launch a Dagster run instead")
