"""Verbs that run the pipeline through Dagster (the same jobs the UI launches): demo,
ingest, stats and train. Runs are recorded in the instance under DAGSTER_HOME when it is
set, so they show up in `dagster dev` afterwards."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from face_assets.cli import common


def run_ingest(library_root: Path, months: list[str] | None = None) -> dict:
    """Materialize the ingest job for every month of the library (or the given months)."""
    from face_assets.defs.jobs import INGEST_JOB
    from face_assets.defs.partitions import partition_of
    from face_assets.services import ingest

    root = library_root.resolve()
    launcher = common.launcher(root)
    found = ingest.scan_months(common.store(), root, partition_of)
    todo = months or list(found)
    timings = {}
    for month in todo:
        started = time.perf_counter()
        result = launcher.execute(INGEST_JOB, partition_key=month, what=f"ingest of {month}")
        timings[month] = round(time.perf_counter() - started, 2)
        print(f"  {month}: done in {timings[month]} s (run {result.run_id[:8]})")
    return {"months": todo, "seconds": timings}


def run_identities(months: list[str]) -> None:
    """Dual mode in one run: prototypes, then the months' assignments, then clustering of
    what no known person claimed."""
    from face_assets.defs.automation import RANGE_END_TAG, RANGE_START_TAG
    from face_assets.defs.jobs import IDENTITIES_JOB

    if not months:
        return
    result = common.launcher().execute(
        IDENTITIES_JOB, tags={RANGE_START_TAG: min(months), RANGE_END_TAG: max(months)}
    )
    print(
        f"  identities: prototypes, assignments ({min(months)}..{max(months)}), then clusters"
        f" (run {result.run_id[:8]})"
    )


def print_summary() -> dict:
    from face_assets.services import views

    summary = views.library_summary(common.store(), common.pack())
    months, reasons = summary["months"], summary["failure_reasons"]
    print(
        f"{'month':8} {'files':>6} {'images':>7} {'failed':>7} {'faces':>6} {'embedded':>9}"
        f" {'median q':>9}"
    )
    for m in months:
        median = "-" if m["median_quality"] is None else f"{m['median_quality']:.3f}"
        print(
            f"{m['month']:8} {m['files']:>6} {m['images_ok']:>7} {m['failed']:>7} {m['faces']:>6}"
            f" {m['embedded']:>9} {median:>9}"
        )
    totals = {
        "months": len(months),
        "images": sum(m["images_ok"] for m in months),
        "failed": sum(m["failed"] for m in months),
        "faces": sum(m["faces"] for m in months),
        "embedded": sum(m["embedded"] for m in months),
        "failure_reasons": reasons,
    }
    print(
        f"total: {totals['images']} images in {totals['months']} months, {totals['faces']} faces"
        f" ({totals['embedded']} embedded), {totals['failed']} files unusable {reasons or ''}"
    )
    people = summary["identities"]
    print(
        f"identities: {people['persons']} persons, {people['human_labelled']} faces labelled,"
        f" {people['auto_assigned']} auto-assigned, {people['clusters']} clusters"
        f" ({people['clustered_faces']} faces) to review with `face-assets clusters`"
    )
    rule = summary["matching"]
    print(
        f"matching: similarity >= {rule['threshold']:g} ({rule['source']}) in the space of"
        f" {rule['space']}"
    )
    totals.update(people)
    return totals


def cmd_demo(args: argparse.Namespace) -> int:
    from face_assets.sample_library import build_sample_library

    settings = common.settings()
    library_root = Path(args.library) if args.library else settings.home / "sample_library"
    if not args.library:
        photos = build_sample_library(library_root)
        print(f"sample library: {len(photos)} real photos in {library_root}")
    external = settings.database_url
    print(f"store: {'external database' if external else settings.home / 'pgdata'}")
    done = run_ingest(library_root)
    run_identities(done["months"])
    totals = print_summary()
    print(json.dumps({k: v for k, v in totals.items() if k != "failure_reasons"}))
    print("Open the Dagster UI on these runs: make dev (then http://127.0.0.1:3000)")
    return 0 if totals["faces"] > 0 else 1


def cmd_ingest(args: argparse.Namespace) -> int:
    done = run_ingest(Path(args.library), args.month or None)
    if not args.no_identities:
        run_identities(done["months"])
    print_summary()
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    print_summary()
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """The same Dagster job the UI launches: train, then the blocking gate decides."""
    from face_assets.defs.jobs import TRAINING_JOB
    from face_assets.defs.launcher import run_failure

    op_config = {"epochs": args.epochs, "min_faces_per_person": args.min_faces}
    if args.min_faces < 4:
        op_config["faces_per_person_in_batch"] = args.min_faces
    run_config = {
        "ops": {"projection_head": {"config": op_config}},
        "resources": {"face_models": {"config": {"training_device": args.device}}},
    }
    result = common.launcher().execute(TRAINING_JOB, run_config=run_config, check=False)
    failure = run_failure(result, "training")
    if failure is not None:  # a failed gate is not a failed step: it is reported below
        raise failure.error()
    for event in result.get_asset_materialization_events():
        meta = event.materialization.metadata
        print(
            f"head {meta['head_id'].value}: {meta['persons_trained'].value} persons trained,"
            f" {meta['persons_held_out'].value} held out,"
            f" {meta['seconds_per_epoch'].value:.3f} s/epoch on {meta['device'].value}"
        )
        print(meta["held_out_metrics"].value)
    for check in result.get_asset_check_evaluations():
        print(check.metadata["reason"].value)
        return 0 if check.passed else 3
    return 1


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser(
        "demo", help="build the sample library and run every month through Dagster"
    )
    demo.add_argument("--library", help="use this photo folder instead of the sample library")
    demo.set_defaults(func=cmd_demo)
    ingest = sub.add_parser(
        "ingest", help="run a photo library through every asset (ingest, then identities)"
    )
    ingest.add_argument("library", help="photo library root")
    ingest.add_argument("--month", action="append", help="YYYY-MM (repeatable); default all")
    ingest.add_argument(
        "--no-identities", action="store_true", help="skip prototypes, clusters, assignments"
    )
    ingest.set_defaults(func=cmd_ingest)
    stats = sub.add_parser("stats", help="images, faces and quality per month")
    stats.set_defaults(func=cmd_stats)
    train = sub.add_parser("train", help="train a projection head; promoted only if it is better")
    train.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    train.add_argument("--epochs", type=int, default=20)
    train.add_argument("--min-faces", type=int, default=5, help="labelled faces per person")
    train.set_defaults(func=cmd_train)
