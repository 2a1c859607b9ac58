"""Verbs of the People app: photos of several persons, search by face, a face drawn by hand or
refused as "not a face" (and restored), cover faces and birthdates. Each calls the service the
REST API and the review page call (services/person_photos, face_search, manual_faces,
face_removal, person_profiles)."""

from __future__ import annotations

import argparse
from datetime import date, datetime
from pathlib import Path

from face_assets.cli import common


def _changed(result: dict) -> int:
    common.report_labels_changed()
    common.print_json(result)
    return 0


def _models():
    from face_assets.vision.models import load_face_models

    current = common.settings()
    return load_face_models(current.pack, current.providers)


def cmd_photos_of(args: argparse.Namespace) -> int:
    from face_assets.services import (
        person_photos,
        views,
    )

    store = common.store()
    wanted = [views.find_person(store, p).id for p in args.persons]
    unwanted = [views.find_person(store, p).id for p in args.exclude]
    rows, total = person_photos.photos_of(
        store, common.pack(), wanted, unwanted, args.taken_from, args.taken_to,
        args.min_faces, args.max_faces, args.limit, args.offset,
    )  # fmt: skip
    for r in rows:
        taken = r["taken_at"].strftime("%Y-%m-%d") if r["taken_at"] else "undated  "
        names = ", ".join(n for _, n in r["persons"])
        print(f"{r['id']:>8} {taken} {r['faces']:>3} faces  {r['rel_path']}  ({names})")
    print(f"{total} photos, newest first (showing {len(rows)} from {args.offset})")
    return 0


def cmd_search_face(args: argparse.Namespace) -> int:
    from face_assets.services import (
        analysis,
        face_search,
    )

    store, pack = common.store(), common.pack()
    if args.face is not None:
        vector = face_search.face_vector(store, args.face, pack)
    else:
        bgr = analysis.decode(Path(args.photo).read_bytes())
        vector = analysis.embed(_models(), bgr).vector
    found = face_search.search(store, pack, vector, args.limit, args.face)
    for p in found.persons:
        likely = " (likely)" if p["similarity"] >= found.threshold else ""
        print(f"person {p['person_id']:>6} {p['person_name']:24} {p['similarity']:.3f}{likely}")
    for f in found.faces:
        print(f"  face {f['id']:>8} photo {f['asset_id']:>8} {f['similarity']:.3f}"
              f"  {f['person_name'] or '-'}")  # fmt: skip
    return 0


def cmd_add_face(args: argparse.Namespace) -> int:
    from face_assets.services import (
        manual_faces,
    )

    x, y, w, h = args.x, args.y, args.w, args.h
    done = manual_faces.add_manual_face(
        common.store(), _models(), common.settings().library, args.asset, (x, y, x + w, y + h),
        args.name,
    )  # fmt: skip
    return _changed(done)


def cmd_not_a_face(args: argparse.Namespace) -> int:
    from face_assets.services import (
        face_removal,
    )

    return _changed(face_removal.not_a_face(common.store(), args.face))


def cmd_restore_face(args: argparse.Namespace) -> int:
    from face_assets.services import (
        face_removal,
    )

    return _changed(
        face_removal.restore_face(common.store(), args.mark, _models(), common.settings().library)
    )


def cmd_cover(args: argparse.Namespace) -> int:
    from face_assets.services import (
        person_profiles,
        views,
    )

    store = common.store()
    person = views.find_person(store, args.person)
    return _changed(person_profiles.set_cover(store, person.id, args.face))


def cmd_birthdate(args: argparse.Namespace) -> int:
    from face_assets.services import (
        person_profiles,
        views,
    )

    store = common.store()
    person = views.find_person(store, args.person)
    when = None if args.date == "none" else date.fromisoformat(args.date)
    return _changed(person_profiles.set_birthdate(store, person.id, when, common.pack()))


def register(sub: argparse._SubParsersAction) -> None:
    photos = common.add_verb(
        sub, "photos-of", "photos with all of these persons, newest first", cmd_photos_of
    )
    photos.add_argument("persons", nargs="*", help="ids or names (none: every photo)")
    photos.add_argument("--exclude", action="append", default=[], help="and not this person")
    photos.add_argument(
        "--from", dest="taken_from", type=datetime.fromisoformat, help="taken on or after (ISO)"
    )
    photos.add_argument(
        "--to", dest="taken_to", type=datetime.fromisoformat, help="taken before (ISO date)"
    )
    photos.add_argument("--min-faces", type=int, help="photos with at least this many faces")
    photos.add_argument("--max-faces", type=int, help="photos with at most this many faces")
    photos.add_argument("--limit", type=int, default=20, help="photos per page (20)")
    photos.add_argument("--offset", type=int, default=0, help="photos to skip (paging)")
    search = common.add_verb(
        sub, "search-face", "persons and faces most like a face", cmd_search_face
    )
    what = search.add_mutually_exclusive_group(required=True)
    what.add_argument("--photo", help="a photo file: its largest face")
    what.add_argument("--face", type=int, help="a stored face id")
    search.add_argument("--limit", type=int, default=10, help="matches to list (10)")
    add = common.add_verb(
        sub, "add-face", "a face the detector missed: a box on a photo, named", cmd_add_face
    )
    add.add_argument("asset", type=int, help="the photo's id")
    # Four arguments, not one with nargs=4 and metavar (X, Y, W, H): Python 3.11's argparse
    # fails on such a metavar in -h and in its "arguments are required" error.
    add.add_argument("x", type=float, metavar="X", help="the face box's left edge, pixels")
    add.add_argument("y", type=float, metavar="Y", help="its top edge, pixels")
    add.add_argument("w", type=float, metavar="W", help="its width, pixels")
    add.add_argument("h", type=float, metavar="H", help="its height, pixels")
    add.add_argument("name", help="the person's name")
    refuse = common.add_verb(
        sub, "not-a-face", "delete a false face; detection never brings it back", cmd_not_a_face
    )
    refuse.add_argument("face", type=int, help="face id")
    restore = common.add_verb(
        sub, "restore-face", "undo not-a-face: detect the photo again", cmd_restore_face
    )
    restore.add_argument("mark", type=int, help="the mark id not-a-face printed")
    cover = common.add_verb(
        sub, "cover", "a person's cover face (none: the best-quality one)", cmd_cover
    )
    cover.add_argument("person", help="id or name")
    cover.add_argument(
        "face", type=lambda v: None if v == "none" else int(v), help="face id, or none"
    )
    birth = common.add_verb(
        sub, "birthdate", "a person's birthdate: earlier photos never match", cmd_birthdate
    )
    birth.add_argument("person", help="id or name")
    birth.add_argument("date", help="YYYY-MM-DD, or none to clear it")
