"""Verbs that run the pipeline through Dagster (the same jobs the UI launches): demo,
ingest, stats and train. Runs are recorded in the instance under DAGSTER_HOME when it is
set, so they show up in `dagster dev` afterwards."""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

from face_assets.cli import common

MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")  # a partition key: YYYY-MM
MAX_LISTED_FILES = 50  # unusable files listed one by one before "... and N more"


def library_folder(path: str | Path) -> Path:
    """The photo folder a user named, or a one-line ValueError saying what to give."""
    root = Path(path).expanduser()
    if not root.exists():
        raise ValueError(f"no folder {root}: give the folder that holds your photos")
    if not root.is_dir():
        raise ValueError(f"{root} is a file, not a folder: give the folder that holds it")
    return root.resolve()


def checked_months(months: list[str]) -> list[str]:
    """`--month` values, each a real YYYY-MM month, or a one-line ValueError."""
    for month in months:
        if not MONTH.fullmatch(month):
            raise ValueError(f"--month {month} is not a month: write YYYY-MM, e.g. 2019-07")
    return sorted(set(months))


def _refuse_unusable(root: Path, found) -> None:
    """A library with no usable photo: list its files and reasons, and refuse it."""
    from face_assets.library import IMAGE_EXTENSIONS

    if found is None or not found.files:
        kinds = ", ".join(sorted(IMAGE_EXTENSIONS))
        raise LookupError(
            f"no photos in {root}: no file there ends in {kinds}; give the folder of your photos"
        )
    for record in found.unusable[:MAX_LISTED_FILES]:
        detail = f" ({record.status_detail})" if record.status_detail else ""
        print(f"  {record.rel_path}: {record.status}{detail}")
    if len(found.unusable) > MAX_LISTED_FILES:
        print(f"  ... and {len(found.unusable) - MAX_LISTED_FILES} more")
    raise LookupError(
        f"none of the {found.files} files in {root} is a usable photo (reasons above);"
        " nothing was filed: add readable photos and run it again"
    )


def run_ingest(library_root: Path, months: list[str] | None = None) -> dict:
    """Materialize the ingest job for every month of the library (or the given months) that
    holds something new; say at once which hold nothing new."""
    from face_assets.library import list_library

    root = library_folder(library_root)
    wanted = checked_months(months or [])
    if next(iter(list_library(root)), None) is None:  # stops at the first photo
        _refuse_unusable(root, None)

    from face_assets.cli import progress
    from face_assets.library import month_of
    from face_assets.services import month_work, registration

    store = common.store()
    # defs/partitions.partition_of's rule; the Dagster definitions are loaded only after the
    # scan, so their monthly partitions start at the library's first month, this one's too.
    first = common.settings().start_month
    with progress.shown():
        found = registration.scan_library_files(store, root, lambda moment: month_of(moment, first))
    if not found.usable:
        _refuse_unusable(root, found)
    missing = [m for m in wanted if m not in found.months]
    if missing:
        raise LookupError(
            f"no photos of {', '.join(missing)} in {root}; its months: {', '.join(found.months)}"
        )
    todo = wanted or list(found.months)
    new = month_work.months_with_new_work(store, common.pack(), todo)
    for month in todo:
        if month not in new:
            print(f"  {month}: nothing new ({found.months[month]} files, all ingested)")
    from face_assets.defs.jobs import INGEST_JOB

    launcher = common.launcher(root)
    timings = {}
    with progress.shown():
        for month in new:
            started = time.perf_counter()
            result = launcher.execute(INGEST_JOB, partition_key=month, what=f"ingest of {month}")
            timings[month] = round(time.perf_counter() - started, 2)
            print(f"  {month}: done in {timings[month]} s (run {result.run_id[:8]})")
    if found.unusable:
        print(f"  {len(found.unusable)} files are no usable photos (see `face-assets stats`)")
    return {"months": new, "seconds": timings, "library_months": todo}


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
    done = run_ingest(library_root)
    run_identities(done["months"])
    totals = print_summary()
    print(json.dumps({k: v for k, v in totals.items() if k != "failure_reasons"}))
    print("Open the Dagster UI on these runs: make dev (then http://127.0.0.1:3000)")
    return 0 if totals["faces"] > 0 else 1


def cmd_ingest(args: argparse.Namespace) -> int:
    done = run_ingest(Path(args.library), args.month or None)
    if not done["months"]:
        print(f"nothing new in {args.library}: every photo of its months is ingested")
    elif not args.no_identities:
        run_identities(done["months"])
    print_summary()
    return 0


def print_seed_totals() -> dict:
    """Seed 002's `faces stats` lines, with their labels; its Qdrant collection is our
    pgvector table (points: this pack's embeddings, vectors: every pack's)."""
    from face_assets.services import views

    totals = views.seed_totals(common.store(), common.pack())
    print(f"Total faces: {totals['total_faces']}")
    print(f"Assigned faces: {totals['assigned_faces']}")
    print(f"Clustered faces: {totals['clustered_faces']}")
    print(f"Total persons: {totals['total_persons']}")
    print(f"Active persons: {totals['active_persons']}")
    print(f"Merged persons: {totals['merged_persons']}")
    print(f"Hidden persons: {totals['hidden_persons']}")
    print(f"Total prototypes: {totals['total_prototypes']}")
    print()
    print("Qdrant Collection: none (vectors in PostgreSQL: pgvector table face_embeddings)")
    print(f"Points: {totals['points']}")
    print(f"Vectors: {totals['vectors']}")
    return totals


def cmd_stats(args: argparse.Namespace) -> int:
    print_summary()
    print()
    print_seed_totals()
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
    demo = common.add_verb(
        sub, "demo", "build the sample library and run every month through Dagster", cmd_demo
    )
    demo.add_argument("--library", help="use this photo folder instead of the sample library")
    ingest = common.add_verb(
        sub,
        "ingest",
        "run a photo library through every asset (ingest, then identities)",
        cmd_ingest,
    )
    ingest.add_argument("library", help="the folder that holds the photos (subfolders too)")
    ingest.add_argument("--month", action="append", help="YYYY-MM (repeatable); default all")
    ingest.add_argument(
        "--no-identities", action="store_true", help="skip prototypes, clusters, assignments"
    )
    common.add_verb(
        sub, "stats", "images, faces and quality per month; seed 002's totals", cmd_stats
    )
    train = common.add_verb(
        sub, "train", "train a projection head; promoted only if it is better", cmd_train
    )
    train.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    train.add_argument("--epochs", type=int, default=20, help="passes over the labels (20)")
    train.add_argument("--min-faces", type=int, default=5, help="labelled faces per person")
