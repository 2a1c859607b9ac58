"""Verbs on clusters and persons: list them, name, merge, split, unassign, hide, rename and
forget. Every change is reported to Dagster (person_labels), so automation follows it."""

from __future__ import annotations

import argparse
import sys

from face_assets.cli import common

CLI_SAMPLE_FACES = 3  # sample faces (or tracks) printed per cluster


def cmd_clusters(args: argparse.Namespace) -> int:
    """Clusters largest first, each with its video tracks (one member each, named whole);
    clusters of tracks only come last, shown by their tracks' clips and times."""
    from face_assets.services import views

    store, pack = common.store(), common.pack()
    rows, total = views.cluster_page(store, pack, args.limit, 0, CLI_SAMPLE_FACES)
    only_tracks = [r["cluster_id"] for r in rows if r.get("tracks") and not r["size"]]
    cards = views.cluster_track_samples(store, only_tracks, CLI_SAMPLE_FACES)
    print(f"{'cluster':22} {'size':>5} {'tracks':>6} {'avg q':>6}  samples")
    for c in rows:
        quality = f"{float(c['avg_quality']):>6.3f}" if c["size"] else f"{'-':>6}"
        samples = ", ".join(str(f) for f in c["sample_faces"]) or ", ".join(
            f"track {t['track_id']} ({views.clip_time(t['video'], t['time_s'])})"
            for t in cards.get(c["cluster_id"], [])
        )
        print(
            f"{c['cluster_id']:22} {c['size']:>5} {int(c.get('tracks') or 0):>6} {quality}"
            f"  {samples}"
        )
    print(f"{total} clusters of unlabelled faces and video tracks (a track counts as one)")
    return 0


def cmd_persons(args: argparse.Namespace) -> int:
    from face_assets.services import views

    store = common.store()
    persons = views.persons(store)
    tracks = views.tracks_per_person(store, common.pack())
    print(
        f"{'id':>5} {'name':24} {'status':8} {'faces':>6} {'human':>6} {'auto':>5}"
        f" {'tracks':>6} {'human':>6}"
    )
    for p in persons:
        extra = f" -> {p['merged_into']}" if p["merged_into"] else ""
        n_tracks, human_tracks = tracks.get(p["id"], (0, 0))
        print(
            f"{p['id']:>5} {p['name'][:24]:24} {p['status']:8} {p['faces']:>6} {p['human']:>6}"
            f" {p['auto']:>5} {n_tracks:>6} {human_tracks:>6}{extra}"
        )
    return 0


def _changed(result: dict) -> int:
    common.report_labels_changed()
    common.print_json(result)
    return 0


def cmd_label(args: argparse.Namespace) -> int:
    from face_assets.services import cluster_naming

    return _changed(
        cluster_naming.label_cluster(common.store(), args.cluster, args.name, common.pack())
    )


def cmd_undo_label(args: argparse.Namespace) -> int:
    from face_assets.services import cluster_naming

    return _changed(cluster_naming.undo_cluster_label(common.store(), common.pack(), args.event))


def cmd_merge(args: argparse.Namespace) -> int:
    from face_assets.services import labels

    return _changed(labels.merge_persons(common.store(), args.source, args.into, common.pack()))


def _given(args: argparse.Namespace, *names: str) -> dict:
    """The options the user gave, so the services' defaults apply to the others."""
    return {n: getattr(args, n) for n in names if getattr(args, n) is not None}


def cmd_split(args: argparse.Namespace) -> int:
    from face_assets.services import labels

    given = _given(args, "min_cluster_size")
    return _changed(labels.split_cluster(common.store(), args.cluster, **given))


def cmd_unassign(args: argparse.Namespace) -> int:
    from face_assets.services import labels

    return _changed(labels.unassign_face(common.store(), args.face, common.pack()))


def cmd_hide(args: argparse.Namespace) -> int:
    from face_assets.services import labels

    hidden = args.command == "hide"
    return _changed(labels.hide_person(common.store(), args.person, hidden, common.pack()))


def cmd_rename(args: argparse.Namespace) -> int:
    from face_assets.services import labels

    return _changed(labels.rename_person(common.store(), args.person, args.name))


def cmd_forget(args: argparse.Namespace) -> int:
    from face_assets.services import forgetting

    if not args.yes:
        print(
            "forget deletes the person's faces, embeddings, crops and prototypes for good;"
            " add --yes to confirm",
            file=sys.stderr,
        )
        return 2
    # The library root lets the forget remove the name from the sidecars export-tags wrote.
    library = common.settings().library
    return _changed(forgetting.forget_person(common.store(), args.person, library_root=library))


def register(sub: argparse._SubParsersAction) -> None:
    clusters = common.add_verb(
        sub,
        "clusters",
        "clusters of unlabelled faces and video tracks, largest first",
        cmd_clusters,
    )
    clusters.add_argument(
        "--limit", type=int, default=50, help="clusters to list (default 50); all are counted"
    )
    common.add_verb(sub, "persons", "known persons with face and video track counts", cmd_persons)
    label = common.add_verb(sub, "label", "name a cluster (creates the person if new)", cmd_label)
    label.add_argument("cluster", help="cluster id, as `face-assets clusters` lists it")
    label.add_argument("name", help="the person's name (quote it if it has spaces)")
    undo = common.add_verb(
        sub, "undo-label", "take back a cluster's naming (within 30 days)", cmd_undo_label
    )
    undo.add_argument("event", type=int, help="the naming's event_id, as `label` printed it")
    merge = common.add_verb(sub, "merge", "merge person SOURCE into person INTO", cmd_merge)
    merge.add_argument("source", help="id or name")
    merge.add_argument("into", help="id or name")
    split = common.add_verb(
        sub, "split", "re-cluster one cluster with tighter parameters", cmd_split
    )
    split.add_argument("cluster", help="cluster id, as `face-assets clusters` lists it")
    split.add_argument(
        "--min-cluster-size",
        type=int,
        help="faces a sub-cluster needs (seed 002's minClusterSize; default: the split's own)",
    )
    unassign = common.add_verb(sub, "unassign", "take a face away from its person", cmd_unassign)
    unassign.add_argument("face", type=int, help="face id (the review page and the API show it)")
    _person_verb(sub, "hide", "hide a person (no prototypes, no assignments)", cmd_hide)
    _person_verb(sub, "unhide", "make a hidden person active again", cmd_hide)
    rename = _person_verb(sub, "rename", "rename a person", cmd_rename)
    rename.add_argument("name", help="the new name")
    forget = _person_verb(sub, "forget", "delete a person's biometric data", cmd_forget)
    forget.add_argument("--yes", action="store_true", help="confirm the deletion")


def _person_verb(
    sub: argparse._SubParsersAction, verb: str, text: str, func
) -> argparse.ArgumentParser:
    """A verb on one person, named by id or name (hide, unhide, rename, forget)."""
    parser = common.add_verb(sub, verb, text, func)
    parser.add_argument("person", help="id or name")
    return parser
