"""The `face-assets` command: demo, ingest, stats and database housekeeping.

Runs go through Dagster (the same job the UI launches), recorded in the instance under
DAGSTER_HOME when it is set, so they show up in `dagster dev` afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

from face_assets.errors import StoreUnavailableError
from face_assets.settings import HOME_ENV, Settings

# The CLI prints its own summary and, for a failed run, one line with the root error;
# Dagster's console log (step failures come with full tracebacks at ERROR) would bury both.
# The runs' full event logs are still in the instance (dagster dev shows them).
QUIET_RUN = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def _quiet() -> None:
    warnings.filterwarnings("ignore")
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")


def _settings() -> Settings:
    return Settings.from_env()


def _store():
    """The store these settings name: the same one the Dagster resources hand out."""
    from face_assets.store import Store

    settings = _settings()
    return Store(settings.database_url, settings.home)


_STALE_CHECKED: list[bool] = []


def _instance():
    """The local instance; once per process, runs of killed CLI processes are marked failed."""
    from face_assets.defs.instance import local_instance
    from face_assets.defs.stale_runs import fail_stale_runs

    instance = local_instance()
    if not _STALE_CHECKED and os.environ.get("DAGSTER_HOME"):
        _STALE_CHECKED.append(True)
        stale = fail_stale_runs(instance)
        if stale:
            print(f"  {len(stale)} run(s) of killed face-assets processes marked failed")
    return instance


def _run_tags() -> dict[str, str]:
    """Names this process on its runs (see defs/stale_runs.py)."""
    from face_assets.defs.stale_runs import CLI_PROCESS_TAG, process_tag

    return {CLI_PROCESS_TAG: process_tag()}


def run_ingest(library_root: Path, months: list[str] | None = None) -> dict:
    """Materialize the ingest job for every month of the library (or the given months)."""
    from face_assets.definitions import build_definitions
    from face_assets.defs.partitions import partition_of
    from face_assets.services import ingest

    root = library_root.resolve()
    defs = build_definitions(_settings(), library_root=root)
    found = ingest.scan_months(_store(), root, partition_of)
    todo = months or list(found)
    job = defs.resolve_job_def("ingest_month")
    instance = _instance()
    timings = {}
    for month in todo:
        started = time.perf_counter()
        result = job.execute_in_process(
            partition_key=month,
            instance=instance,
            run_config=QUIET_RUN,
            tags=_run_tags(),
            raise_on_error=False,
        )
        if not result.success:
            raise SystemExit(_run_failure(result, f"ingest of {month}"))
        timings[month] = round(time.perf_counter() - started, 2)
        print(f"  {month}: done in {timings[month]} s (run {result.run_id[:8]})")
    return {"months": todo, "seconds": timings}


def run_identities(months: list[str]) -> None:
    """Dual mode in one run: prototypes, then the months' assignments, then clustering of
    what no known person claimed."""
    from face_assets.definitions import build_definitions
    from face_assets.defs.automation import RANGE_END_TAG, RANGE_START_TAG

    if not months:
        return
    job = build_definitions(_settings()).resolve_job_def("refresh_identities")
    result = job.execute_in_process(
        instance=_instance(),
        run_config=QUIET_RUN,
        tags={RANGE_START_TAG: min(months), RANGE_END_TAG: max(months), **_run_tags()},
        raise_on_error=False,
    )
    if not result.success:
        raise SystemExit(_run_failure(result, "refresh_identities"))
    print(
        f"  identities: prototypes, assignments ({min(months)}..{max(months)}), then clusters"
        f" (run {result.run_id[:8]})"
    )


def _run_failure(result, what: str) -> str:
    """One line for a failed run: the first step error's root message, not its traceback.

    A lost database raises StoreUnavailableError (exit status 3, as for any command that
    finds the database down); any other failure exits with status 1.
    """
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error = event.event_specific_data.error
            while error.cause is not None:
                error = error.cause
            message = error.message.strip()
            for prefix in (f"face_assets.errors.{error.cls_name}: ", f"{error.cls_name}: "):
                message = message.removeprefix(prefix)
            first = (message.splitlines() or ["failed"])[0]
            line = f"{what} failed: {first} (run {result.run_id[:8]} in Dagster)"
            if error.cls_name == StoreUnavailableError.__name__:
                raise StoreUnavailableError(line)
            return f"error: {line}"
    return f"error: {what} failed; see run {result.run_id[:8]} in Dagster"


def print_summary() -> dict:
    from face_assets.services import views

    summary = views.library_summary(_store(), _pack())
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
    totals.update(people)
    return totals


def cmd_demo(args: argparse.Namespace) -> int:
    from face_assets.sample_library import build_sample_library

    settings = _settings()
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


def cmd_db(args: argparse.Namespace) -> int:
    from face_assets.store import db

    home = _settings().home
    if args.action == "url":
        print(_store().url())
    elif args.action == "migrate":
        print(f"applied: {db.migrate(_store().url()) or 'nothing new'}")
    elif args.action == "stop":
        print("stopped" if db.stop_embedded_server(home / "pgdata") else "not running")
    return 0


def _pack() -> str:
    return _settings().pack


def _report_labels_changed() -> None:
    """Tell Dagster the person_labels source changed, so automation refreshes prototypes."""
    if not os.environ.get("DAGSTER_HOME"):
        return
    from face_assets.defs.instance import report_labels_changed

    report_labels_changed(_store())


def _print_json(result: dict) -> None:
    print(json.dumps(result, default=str))


def cmd_clusters(args: argparse.Namespace) -> int:
    from face_assets.services import views

    clusters = views.clusters(_store(), _pack())
    print(f"{'cluster':22} {'size':>5} {'avg q':>6}  sample faces")
    for c in clusters[: args.limit]:
        print(
            f"{c['cluster_id']:22} {c['size']:>5} {c['avg_quality'] or 0:>6.3f}"
            f"  {', '.join(str(f) for f in c['sample_faces'])}"
        )
    print(f"{len(clusters)} clusters of unlabelled faces")
    return 0


def cmd_persons(args: argparse.Namespace) -> int:
    from face_assets.services import views

    persons = views.persons(_store())
    print(f"{'id':>5} {'name':24} {'status':8} {'faces':>6} {'human':>6} {'auto':>5}")
    for p in persons:
        extra = f" -> {p['merged_into']}" if p["merged_into"] else ""
        print(
            f"{p['id']:>5} {p['name'][:24]:24} {p['status']:8} {p['faces']:>6} {p['human']:>6}"
            f" {p['auto']:>5}{extra}"
        )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the HTTP app (REST API, detection endpoints, review page) with uvicorn; the token
    comes from the environment, never from the command line."""
    from face_assets.api import auth, server

    try:
        token = auth.token_from_env()
    except auth.WeakTokenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"face-assets app: open http://{args.host}:{args.port}/?token=${auth.TOKEN_ENV} once;"
        f" API docs at /docs (Ctrl-C stops)"
    )
    server.serve(_settings(), token, args.host, args.port)
    return 0


def cmd_label(args: argparse.Namespace) -> int:
    from face_assets.services import labels

    result = labels.label_cluster(_store(), args.cluster, args.name, _pack())
    _report_labels_changed()
    _print_json(result)
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from face_assets.services import labels

    result = labels.merge_persons(_store(), args.source, args.into, _pack())
    _report_labels_changed()
    _print_json(result)
    return 0


def cmd_split(args: argparse.Namespace) -> int:
    from face_assets.services import labels

    result = labels.split_cluster(_store(), args.cluster)
    _report_labels_changed()
    _print_json(result)
    return 0


def cmd_unassign(args: argparse.Namespace) -> int:
    from face_assets.services import labels

    result = labels.unassign_face(_store(), args.face, _pack())
    _report_labels_changed()
    _print_json(result)
    return 0


def cmd_hide(args: argparse.Namespace) -> int:
    from face_assets.services import labels

    result = labels.hide_person(_store(), args.person, args.command == "hide", _pack())
    _report_labels_changed()
    _print_json(result)
    return 0


def cmd_rename(args: argparse.Namespace) -> int:
    from face_assets.services import labels

    result = labels.rename_person(_store(), args.person, args.name)
    _report_labels_changed()
    _print_json(result)
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    from face_assets.services import forgetting

    if not args.yes:
        print(
            "forget deletes the person's faces, embeddings, crops and prototypes for good;"
            " add --yes to confirm",
            file=sys.stderr,
        )
        return 2
    result = forgetting.forget_person(_store(), args.person)
    _report_labels_changed()
    _print_json(result)
    return 0


def cmd_find_orphans(args: argparse.Namespace) -> int:
    from face_assets.services import maintenance

    _print_json(maintenance.find_orphans(_store(), _pack(), fix=args.fix))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """The same Dagster job the UI launches: train, then the blocking gate decides."""
    from face_assets.definitions import build_definitions

    op_config = {"epochs": args.epochs, "min_faces_per_person": args.min_faces}
    if args.min_faces < 4:
        op_config["faces_per_person_in_batch"] = args.min_faces
    run_config = {
        **QUIET_RUN,
        "ops": {"projection_head": {"config": op_config}},
        "resources": {"face_models": {"config": {"training_device": args.device}}},
    }
    job = build_definitions().resolve_job_def("train_projection_head")
    result = job.execute_in_process(
        run_config=run_config, instance=_instance(), tags=_run_tags(), raise_on_error=False
    )
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error = event.event_specific_data.error
            print(f"error: {(error.cause or error).message.strip()}", file=sys.stderr)
            return 1
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="face-assets",
        description=f"Face-identity graph of a photo library (home: ${HOME_ENV}).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
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
    clusters = sub.add_parser("clusters", help="clusters of unlabelled faces, largest first")
    clusters.add_argument("--limit", type=int, default=50)
    clusters.set_defaults(func=cmd_clusters)
    persons = sub.add_parser("persons", help="known persons with face counts")
    persons.set_defaults(func=cmd_persons)
    for verb, text in (
        ("serve", "serve the HTTP API and the review page (token in $FACE_ASSETS_API_TOKEN)"),
        ("review", "the same as serve (its old name)"),
    ):
        serve = sub.add_parser(verb, help=text)
        serve.add_argument("--host", default="127.0.0.1", help="interface (default loopback)")
        serve.add_argument("--port", type=int, default=8765)
        serve.set_defaults(func=cmd_serve)
    label = sub.add_parser("label", help="name a cluster (creates the person if new)")
    label.add_argument("cluster")
    label.add_argument("name")
    label.set_defaults(func=cmd_label)
    merge = sub.add_parser("merge", help="merge person SOURCE into person INTO")
    merge.add_argument("source", help="id or name")
    merge.add_argument("into", help="id or name")
    merge.set_defaults(func=cmd_merge)
    split = sub.add_parser("split", help="re-cluster one cluster with tighter parameters")
    split.add_argument("cluster")
    split.set_defaults(func=cmd_split)
    unassign = sub.add_parser("unassign", help="take a face away from its person")
    unassign.add_argument("face", type=int)
    unassign.set_defaults(func=cmd_unassign)
    for verb, text in (
        ("hide", "hide a person (no prototypes, no assignments)"),
        ("unhide", "make a hidden person active again"),
    ):
        hide = sub.add_parser(verb, help=text)
        hide.add_argument("person", help="id or name")
        hide.set_defaults(func=cmd_hide)
    rename = sub.add_parser("rename", help="rename a person")
    rename.add_argument("person", help="id or name")
    rename.add_argument("name")
    rename.set_defaults(func=cmd_rename)
    forget = sub.add_parser("forget", help="delete a person's biometric data")
    forget.add_argument("person", help="id or name")
    forget.add_argument("--yes", action="store_true", help="confirm the deletion")
    forget.set_defaults(func=cmd_forget)
    orphans = sub.add_parser("find-orphans", help="faces without embeddings or files, and back")
    orphans.add_argument("--fix", action="store_true", help="delete stray files, re-detect")
    orphans.set_defaults(func=cmd_find_orphans)
    train = sub.add_parser("train", help="train a projection head; promoted only if it is better")
    train.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    train.add_argument("--epochs", type=int, default=20)
    train.add_argument("--min-faces", type=int, default=5, help="labelled faces per person")
    train.set_defaults(func=cmd_train)
    dbp = sub.add_parser("db", help="database housekeeping")
    dbp.add_argument("action", choices=["url", "migrate", "stop"])
    dbp.set_defaults(func=cmd_db)
    return parser


def main(argv: list[str] | None = None) -> int:
    _quiet()
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, LookupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except StoreUnavailableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
