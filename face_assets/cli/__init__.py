"""The `face-assets` command. One module per group of verbs, each with a `register` that
adds its verbs to the parser:

- pipeline: demo, ingest, stats, train (Dagster runs through defs/launcher.JobLauncher);
- identities: seed 002's backfill, cluster, cluster-dual, assign, centroids, train-matching (the
  services in the foreground, or `--queue`: a Dagster run);
- people: clusters, persons, label, undo-label, merge, split, unassign, hide, unhide, rename,
  forget;
- album: photos-of, search-face, add-face, not-a-face, restore-face, cover, birthdate;
- videos: export (seed 004's faces.jsonl / faces.npy / crops);
- admin: serve (review), find-orphans, db;
- tags: import-tags, export-tags (XMP / Picasa face tags);
- packs: packs (registry, installed, auto), repack --to PACK.

`main` maps what any verb raises to one line and an exit status: 2 for a bad request
(ValueError, LookupError, no Dagster for --queue, a conflict with a concurrent change:
ConflictError, run it again on the new state), 3 for a database that cannot be reached,
1 for a failed run, 141 (quietly) when the reader of a pipe went away, 130 for Ctrl-C.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings

from face_assets.cli import admin, album, identities, packs, people, pipeline, tags, videos
from face_assets.errors import ConflictError, StoreUnavailableError
from face_assets.settings import HOME_ENV

VERB_GROUPS = (
    pipeline,
    identities,
    people,
    album,
    videos,
    admin,
    tags,
    packs,
)  # parser order: the pipeline's verbs come first
BROKEN_PIPE_EXIT = 141  # 128 + SIGPIPE, what a shell reports for a tool killed by it
INTERRUPTED_EXIT = 130  # 128 + SIGINT


def _quiet() -> None:
    warnings.filterwarnings("ignore")
    # The CLI says itself when the store is down (one line, exit 3); the partitions' warning
    # for a code location that loads without a store would be a second line.
    logging.getLogger("face_assets.defs.partitions").setLevel(logging.ERROR)
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="face-assets",
        description=f"Face-identity graph of a photo library (home: ${HOME_ENV}).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for group in VERB_GROUPS:
        group.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from face_assets.defs.launcher import RunFailed, RunsUnavailable

    _quiet()
    args = build_parser().parse_args(argv)
    try:
        status = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the try, not at exit
        return status
    except (ValueError, LookupError, RunsUnavailable, ConflictError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except StoreUnavailableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except RunFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `face-assets clusters | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return BROKEN_PIPE_EXIT
    except KeyboardInterrupt:
        print("interrupted: finished work is kept; run the same command again", file=sys.stderr)
        return INTERRUPTED_EXIT
