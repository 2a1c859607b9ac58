"""Verbs of the faces harvest (seed 004): export faces.jsonl / faces.npy / crops."""

from __future__ import annotations

import argparse
from pathlib import Path

from face_assets.cli import common


def cmd_export(args: argparse.Namespace) -> int:
    from face_assets.services import library_export

    summary = library_export.export_faces(
        common.store(), Path(args.out), common.pack(), video=args.video, month=args.month,
        save_crops=args.save_crops, with_names=args.names,
    )  # fmt: skip
    common.print_json({"faces": summary.faces, "crops": summary.crops, "dim": summary.dim,
                       "out": str(summary.out_dir)})  # fmt: skip
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    export = common.add_verb(
        sub, "export", "faces.jsonl + faces.npy (+ crops), seed 004's export", cmd_export
    )
    export.add_argument("out", help="output folder")
    scope = export.add_mutually_exclusive_group(required=True)
    scope.add_argument("--video", help="one clip, by library path")
    scope.add_argument("--month", help="YYYY-MM: that month's clips and photos")
    scope.add_argument("--all", action="store_true", help="the whole library, clips and photos")
    export.add_argument("--save-crops", action="store_true", help="crops/{track_id}/*.jpg too")
    export.add_argument("--names", action="store_true", help="include person names")
