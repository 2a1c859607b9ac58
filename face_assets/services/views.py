"""Read-only views of the identity graph for the CLI, the review page and the HTTP API."""

from __future__ import annotations

from pathlib import PurePosixPath

from face_assets.identity.names import normalise_name
from face_assets.services import matching
from face_assets.store import Store, listings, stats, track_review
from face_assets.store import clusters as cluster_store
from face_assets.store import persons as person_store
from face_assets.store import track_clusters as track_cluster_store
from face_assets.store import tracks as track_store

# Seed 002's example lists five sample face ids per cluster; the review queue shows as many.
SAMPLE_FACES = 5


def clip_time(video: str, time_s: float) -> str:
    """Where a track's best frame is: the clip's file name and the time in it, "clip.mp4 at
    0:04" (hours only when the clip runs that long)."""
    seconds = max(0, int(time_s))
    hours, rest_s = divmod(seconds, 3600)
    minutes, secs = divmod(rest_s, 60)
    at = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return f"{PurePosixPath(video).name} at {at}"


def library_summary(store: Store, pack: str) -> dict:
    """Per-month counts, failure reasons, the identity totals and the matching rule."""
    with store.transaction() as conn:
        summary = {
            "months": stats.month_summary(conn),
            "failure_reasons": stats.failure_reasons(conn),
            "identities": stats.identity_summary(conn, pack),
        }
    return {**summary, "matching": matching.matching_rule(store, pack).describe()}


def seed_totals(store: Store, pack: str) -> dict:
    """Seed 002's `faces stats` totals (store/stats.seed_totals)."""
    with store.transaction() as conn:
        return stats.seed_totals(conn, pack)


def clusters(store: Store, pack: str, limit: int | None = None) -> list[dict]:
    """Clusters of unlabelled faces, largest first, with sample face ids (the first `limit`:
    a preview need not fetch every cluster of the library)."""
    with store.transaction() as conn:
        return listings.list_clusters(conn, pack, limit)


def persons(store: Store) -> list[dict]:
    with store.transaction() as conn:
        return listings.list_persons(conn)


def cluster_samples(store: Store, pack: str, per_cluster: int) -> dict[str, list]:
    """Up to `per_cluster` face ids of each cluster, best quality first."""
    with store.transaction() as conn:
        return listings.sample_face_ids_by_cluster(conn, pack, per_cluster)


def face_thumbnail(store: Store, face_id: int) -> bytes | None:
    """A face's review thumbnail (None when the face or its file is gone); reads only inside
    the media root."""
    with store.transaction() as conn:
        rel_path = listings.face_thumb_path(conn, face_id)
    return _media_bytes(store, rel_path)


def track_thumbnail(store: Store, track_id: int) -> bytes | None:
    """A video track's thumbnail: its best frame's crop (None when the track is unknown or
    forgotten, or its file is gone); reads only inside the media root, as face_thumbnail."""
    with store.transaction() as conn:
        rel_path = track_review.track_thumb_path(conn, track_id)
    return _media_bytes(store, rel_path)


def _media_bytes(store: Store, rel_path: str | None) -> bytes | None:
    """A file of the media root by its stored path; None for no path, a missing file or a
    path that leads outside the root (a stored path is never trusted to stay inside)."""
    if rel_path is None:
        return None
    root = store.media_root.resolve()
    path = (root / rel_path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path.read_bytes()


# --- pages for the HTTP API and the review page --------------------------------------------


PERSON_GROUP_PREFIX = "person_"  # seed 002's dual-mode name of a known person's faces


def cluster_page(
    store: Store, pack: str, limit: int, offset: int, samples: int, include_labeled: bool = False
) -> tuple[list[dict], int]:
    """A page of clusters of unlabelled faces, largest first, with their best faces; and the
    total number of clusters. With include_labeled (seed 002's includeLabeled), each active
    person's faces follow as one more group, `person_<id>` with the person's id and name
    (naming a cluster moves its faces to the person, so labelled faces live there)."""
    with store.transaction() as conn:
        rows, total = listings.cluster_page(conn, pack, limit, offset, samples)
        if not include_labeled:
            return rows, total
        start = max(offset - total, 0)
        room = limit - len(rows)
        groups, persons = listings.person_group_page(conn, pack, max(room, 0), start, samples)
    for g in groups if room > 0 else []:
        rows.append({**g, "cluster_id": f"{PERSON_GROUP_PREFIX}{g['person_id']}"})
    return rows, total + persons


def cluster_detail(store: Store, cluster_id: str) -> list[dict]:
    """The unlabelled faces of a cluster, best first; LookupError for an unknown cluster (a
    cluster of video tracks only has no faces here: cluster_tracks)."""
    with store.transaction() as conn:
        faces = listings.cluster_face_rows(conn, cluster_id)
        if not faces and not track_store.track_cards(conn, cluster_id=cluster_id, limit=1):
            raise LookupError(f"no cluster {cluster_id!r} with unlabelled faces")
    return faces


def cluster_tracks(store: Store, cluster_id: str) -> list[dict]:
    """The video tracks in a cluster, one member each, as their best frame (clip, time)."""
    with store.transaction() as conn:
        return track_store.track_cards(conn, cluster_id=cluster_id)


def person_tracks(store: Store, person_id: int, limit: int | None = None) -> list[dict]:
    """A person's video tracks as their best frames (clip, time), longest first (the first
    `limit`; None: all)."""
    with store.transaction() as conn:
        return track_store.track_cards(conn, person_id=person_id, limit=limit)


def person_track_count(store: Store, person_id: int) -> int:
    with store.transaction() as conn:
        return track_review.person_track_count(conn, person_id)


def cluster_track_samples(
    store: Store, cluster_ids: list[str], per_cluster: int
) -> dict[str, list[dict]]:
    """Up to `per_cluster` tracks of each cluster (track id, clip, time), longest first."""
    if not cluster_ids:
        return {}
    with store.transaction() as conn:
        return track_review.track_cards_by_cluster(conn, cluster_ids, per_cluster)


def cluster_track_ids(store: Store, cluster_ids: list[str]) -> dict[str, list[int]]:
    """cluster id -> its unassigned tracks' ids (what naming it names, whole)."""
    if not cluster_ids:
        return {}
    with store.transaction() as conn:
        return track_review.track_ids_by_cluster(conn, cluster_ids)


def tracks_per_person(store: Store, pack: str) -> dict[int, tuple[int, int]]:
    """person id -> (video tracks, of them named by a human)."""
    with store.transaction() as conn:
        return track_review.tracks_per_person(conn, pack)


def tracks_per_cluster(store: Store, pack: str) -> dict[str, int]:
    with store.transaction() as conn:
        return track_cluster_store.cluster_track_counts(conn, pack)


def cluster_version(faces: list[dict]) -> str:
    """The version a reviewer sends back with a label of these (listed) faces."""
    return cluster_store.cluster_version(f["id"] for f in faces)


def person_page(
    store: Store, status: str | None, limit: int, offset: int
) -> tuple[list[dict], int]:
    with store.transaction() as conn:
        return listings.person_page(conn, status, limit, offset)


def person_detail(store: Store, person_id: int, limit: int, offset: int) -> dict:
    """A person with one page of their faces; LookupError for an unknown id."""
    with store.transaction() as conn:
        found = listings.person(conn, person_id)
        if found is None:
            raise LookupError(f"no person {person_id}")
        found["face_list"] = listings.person_face_rows(conn, person_id, limit, offset)
    return found


def image_faces(store: Store, image_id: int, pack: str) -> list[dict]:
    """A photo's faces with their persons; LookupError for an unknown photo."""
    with store.transaction() as conn:
        if listings.image_exists(conn, image_id) is None:
            raise LookupError(f"no asset {image_id}")
        return listings.image_faces(conn, image_id, pack)


def image_month(store: Store, image_id: int) -> str:
    """The month partition of a registered photo; LookupError for an unknown one."""
    with store.transaction() as conn:
        found = listings.image_exists(conn, image_id)
    if found is None:
        raise LookupError(f"no asset {image_id}")
    return found[0]


def person_grid(
    store: Store, query: str, status: str, limit: int, offset: int
) -> tuple[list[dict], int]:
    """Persons whose name contains `query`, most faces first, with covers (the review page)."""
    if status not in ("active", "hidden", "merged"):
        raise ValueError(f"unknown person status {status!r}")
    with store.transaction() as conn:
        return listings.person_grid(conn, query.strip(), status, limit, offset)


def find_person(store: Store, ref: str | int) -> person_store.Person:
    """A person by id or name (case-insensitive); LookupError when there is none."""
    text = str(ref).strip()
    if not text:
        raise LookupError("no person given")
    with store.transaction() as conn:
        return person_store.find_person(conn, text if text.isdigit() else normalise_name(text))
