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


def cmd_find_orphans(args: argparse.Namespace) -> int:
    from face_assets.services import maintenance

    common.print_json(maintenance.find_orphans(common.store(), common.pack(), fix=args.fix))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    for verb, text in (
        ("serve", "serve the HTTP API and the review page (token in $FACE_ASSETS_API_TOKEN)"),
        ("review", "the same as serve (its old name)"),
    ):
        serve = common.add_verb(sub, verb, text)
        serve.add_argument(
            "--host", help=f"interface (default ${SEED_HOST_ENV}, else {DEFAULT_APP_HOST})"
        )
        serve.add_argument(
            "--port", type=int, help=f"default ${SEED_PORT_ENV}, else {DEFAULT_APP_PORT}"
        )
        serve.set_defaults(func=cmd_serve)
    orphans = common.add_verb(sub, "find-orphans", "faces without embeddings or files, and back")
    orphans.add_argument("--fix", action="store_true", help="delete stray files, re-detect")
    orphans.set_defaults(func=cmd_find_orphans)
    dbp = common.add_verb(sub, "db", "database housekeeping")
    dbp.add_argument(
        "action",
        choices=["url", "migrate", "stop"],
        help="url: print the database URL; migrate: apply new schema migrations;"
        " stop: stop the embedded PostgreSQL server",
    )
    dbp.set_defaults(func=cmd_db)
