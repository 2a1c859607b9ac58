"""Verbs that serve or keep house: the HTTP app, the database, orphaned faces and files."""

from __future__ import annotations

import argparse
import sys

from face_assets.cli import common
from face_assets.settings import DEFAULT_APP_HOST, DEFAULT_APP_PORT, SEED_HOST_ENV, SEED_PORT_ENV


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the HTTP app (REST API, detection endpoints, review page) with uvicorn; the token
    comes from the environment, never from the command line."""
    from face_assets.api import auth, server

    try:
        token = auth.token_from_env()
    except auth.WeakTokenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = common.settings()
    common.tell_once("store", f"store: {common.store_description(settings)}")
    host = args.host or settings.app_host
    port = args.port or settings.app_port
    print(
        f"face-assets app: open http://{host}:{port}/?token=${auth.TOKEN_ENV} once;"
        f" API docs at /docs (Ctrl-C stops)"
    )
    server.serve(settings, token, host, port)
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from face_assets.services import maintenance

    if args.action == "url":
        print(common.store().url())
    elif args.action == "migrate":
        print(f"applied: {maintenance.migrate(common.store()) or 'nothing new'}")
    elif args.action == "stop":
        stopped = maintenance.stop_embedded_server(common.store())
        print("stopped" if stopped else "not running")
    return 0


RULE = "=" * 50  # the seed's report rule


def _print_orphans(found: dict, limit: int | None) -> None:
    """Seed 002's `faces find-orphans` report, then ours (files, months never embedded)."""
    checked = found["faces_checked"]
    print(f"Checking {checked if limit else f'all {checked}'} faces for orphaned embeddings...")
    print(f"\n{RULE}\nORPHAN DETECTION RESULTS:\n{RULE}")
    print(f"Total faces checked: {checked}")
    print(f"Orphaned faces found: {found['orphaned_faces']}")
    print(f"Affected assets: {len(found['affected_assets'])}")
    if found["orphaned_faces"]:
        print("\nSample orphaned faces:")
        for face in found["sample_orphans"]:
            print(f"  - Face {face['face_id']} (asset_id={face['asset_id']}, no embedding row)")
        more = found["orphaned_faces"] - len(found["sample_orphans"])
        if more:
            print(f"  ... and {more} more")
        print("\nAffected assets (asset_id: orphan_count):")
        for asset, count in found["affected_assets"].items():
            print(f"  - Asset {asset}: {count} orphaned face(s)")
        if not found["fixed"]:
            print("\nTIP: Use --fix to re-detect faces for affected assets")
    print(f"\nFaces without an embedding (every face): {found['faces_without_embedding']}")
    never = ", ".join(found["months_never_embedded"]) or "none"
    print(f"Months never embedded: {never}")
    print(f"Face rows without files: {found['face_rows_without_files']}")
    print(f"Files without face rows: {found['files_without_face_rows']}")
    if found["fixed"]:
        print(f"Stray files deleted: {found['files_deleted']}")
        queued = found["faces_queued_for_redetection"]
        print(f"Faces without files queued for detection (next ingest): {queued}")
    redone = found.get("redetection")
    if redone:
        print(f"\n{RULE}\nRE-DETECTING FACES FOR AFFECTED ASSETS:\n{RULE}")
        print(f"Re-detecting faces for {len(found['affected_assets'])} assets...")
        print(f"\n{RULE}\nRE-DETECTION RESULTS:\n{RULE}")
        print(f"Assets processed: {redone['assets_processed']}")
        print(f"Errors: {redone['errors']}")
        print(f"Total faces re-detected: {redone['faces_redetected']}")
        print("\nNOTE: Re-run 'faces find-orphans' to verify fix")


def cmd_find_orphans(args: argparse.Namespace) -> int:
    from face_assets.services import maintenance

    store = common.store()
    fix = {}
    if args.fix:
        fix = {"library_root": common.photo_library(), "models": common.models()}
    found = maintenance.find_orphans(store, common.pack(), fix=args.fix, limit=args.limit, **fix)
    if args.json:
        common.print_json(found)
    else:
        _print_orphans(found, args.limit)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    for verb, text in (
        ("serve", "serve the HTTP API and the review page (token in $FACE_ASSETS_API_TOKEN)"),
        ("review", "the same as serve (its old name)"),
    ):
        serve = common.add_verb(sub, verb, text, cmd_serve)
        serve.add_argument(
            "--host", help=f"interface (default ${SEED_HOST_ENV}, else {DEFAULT_APP_HOST})"
        )
        serve.add_argument(
            "--port", type=int, help=f"default ${SEED_PORT_ENV}, else {DEFAULT_APP_PORT}"
        )
    orphans = common.add_verb(
        sub, "find-orphans", "faces without embeddings or files, and back", cmd_find_orphans
    )
    orphans.add_argument("--limit", type=int, help="check the newest N faces (default: every face)")
    orphans.add_argument(
        "--fix", action="store_true", help="re-detect the orphans' photos, delete stray files"
    )
    orphans.add_argument("--json", action="store_true", help="one JSON object of the counts")
    dbp = common.add_verb(sub, "db", "database housekeeping", cmd_db)
    dbp.add_argument(
        "action",
        choices=["url", "migrate", "stop"],
        help="url: print the database URL; migrate: apply new schema migrations;"
        " stop: stop the embedded PostgreSQL server",
    )
