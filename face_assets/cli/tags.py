"""Verbs for the face tags a library already has: import-tags (XMP MWG / Microsoft Photo
regions, Picasa rectangles into human labels) and export-tags (our names as MWG regions in
XMP sidecars, never in the photos)."""

from __future__ import annotations

import argparse
from pathlib import Path

from face_assets.cli import common


def _library(args: argparse.Namespace) -> Path:
    return Path(args.library).resolve() if args.library else common.settings().library


def cmd_import_tags(args: argparse.Namespace) -> int:
    from face_assets.services import tag_import
    from face_assets.vision.models import load_face_models

    current = common.settings()
    models = load_face_models(current.pack, current.providers)
    stats = tag_import.import_tags(models, common.store(), _library(args), args.month or None)
    common.print_json(stats.metadata())
    if stats.matched or stats.created:
        common.report_labels_changed()
    return 0


def cmd_export_tags(args: argparse.Namespace) -> int:
    from face_assets.services import tag_export

    result = tag_export.export_tags(
        common.store(), _library(args), common.pack(), args.month or None, dry_run=args.dry_run
    )
    common.print_json(result)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    for verb, text, func in (
        ("import-tags", "read face names from XMP regions and Picasa into labels", cmd_import_tags),
        ("export-tags", "write our names as MWG face regions into XMP sidecars", cmd_export_tags),
    ):
        parser = common.add_verb(sub, verb, text, func)
        parser.add_argument("--library", help="photo library root (default: FACE_ASSETS_LIBRARY)")
        parser.add_argument("--month", action="append", help="YYYY-MM (repeatable); default all")
        if verb == "export-tags":
            parser.add_argument(
                "--dry-run", action="store_true", help="list what would change, write nothing"
            )
