"""Verbs about model packs: `packs` (the registry, what is installed, what `auto` would pick)
and `repack --to PACK` (switch the library's pack, keeping every name)."""

from __future__ import annotations

import argparse
from pathlib import Path

from face_assets.cli import common


def cmd_packs(args: argparse.Namespace) -> int:
    from face_assets.vision import packs, selector

    installed = set(selector.installed_packs())
    for p in packs.PACKS.values():
        measured = p.lfw_accuracy and p.load_memory_mb
        figures = f"LFW {p.lfw_accuracy:.2%}, {p.load_memory_mb:.0f} MB" if measured else "-"
        where = "installed" if p.name in installed else "absent"
        print(
            f"{p.name:12} {p.embedding_dim:>4}-d  {where:9}  commercial use:"
            f" {'yes' if p.commercial_use else 'no':3}  threshold {p.person_threshold:g}"
            f"  bar {p.cluster_min_similarity:g} (+{p.cluster_bar_per_decade:g} per 10x faces)"
            f"  {figures}"
        )
    if args.auto:
        choice = selector.choose(args.auto, args.device)
        print(f"auto ({args.auto}): {choice.pack}: {choice.reason}")
    return 0


def cmd_repack(args: argparse.Namespace) -> int:
    from face_assets.services import repack
    from face_assets.vision.models import load_face_models

    current = common.settings()
    source = args.source or current.pack
    models = load_face_models(args.to, tuple(args.providers.split(",")))
    library = Path(args.library).expanduser() if args.library else current.library
    stats = repack.repack(
        common.store(),
        library,
        models,
        source,
        keep_old=args.keep_old,
        force=args.force,
        log=lambda line: print(line, flush=True),
    )
    common.print_json(stats.summary())
    if source == current.pack:
        print(f"set FACE_ASSETS_PACK={args.to} so runs, labels and the app use the new pack")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from face_assets.vision import packs as registry
    from face_assets.vision import selector

    listing = common.add_verb(
        sub, "packs", "model packs: width, licence, installed, auto", cmd_packs
    )
    listing.add_argument("--auto", choices=selector.REQUIREMENTS, help="what auto would pick")
    listing.add_argument(
        "--device",
        default="cpu",
        choices=("cpu", "cuda"),
        help="where auto measures free memory: RAM (cpu) or the GPU's (cuda)",
    )
    switch = common.add_verb(
        sub,
        "repack",
        "re-detect and re-embed the library with another pack, keeping names",
        cmd_repack,
    )
    switch.add_argument(
        "--to", required=True, choices=sorted(registry.PACKS), help="the pack to switch to"
    )
    switch.add_argument("--from", dest="source", help="the library's pack (default: settings)")
    switch.add_argument("--library", help="photo library root (default: settings)")
    switch.add_argument("--providers", default="cpu", help="e.g. cuda or cpu")
    switch.add_argument("--keep-old", action="store_true", help="keep the old pack's vectors")
    switch.add_argument(
        "--force", action="store_true", help="drop the old pack even if a labelled face is lost"
    )
