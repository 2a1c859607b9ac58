"""Naming a cluster as a person, and taking that naming back: label_cluster names a
cluster's faces and whole video tracks (those a reviewer deselected stay out and are
recorded as not this person); undo_cluster_label returns them, unnamed, to the cluster
within UNDO_WINDOW, once.

The rules of services.labels hold: one transaction each, logged in label_events, locks in
order and bounded retries; a naming applies only to the cluster the reviewer saw (its
version, face ids or track ids), else ConflictError with its current state (cluster_state).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from face_assets.errors import ConflictError
from face_assets.identity.names import normalise_name
from face_assets.services.identities import rebuild_prototypes
from face_assets.services.labels import cluster_state, label_in, locked_cluster, named_person
from face_assets.store import Connection, Store
from face_assets.store import label_events as event_store
from face_assets.store import labels as label_store
from face_assets.store import person_profiles as profile_store
from face_assets.store import persons as person_store
from face_assets.store import track_clusters as track_cluster_store
from face_assets.store import track_labels as track_label_store


def label_cluster(
    store: Store,
    cluster_id: str,
    name: str,
    pack: str,
    exclude: Sequence[int] = (),
    version: str | None = None,
    seen_face_ids: Sequence[int] | None = None,
    exclude_tracks: Sequence[int] = (),
    seen_track_ids: Sequence[int] | None = None,
) -> dict:
    """Name a cluster's faces as a person, except `exclude` (the faces a reviewer deselected:
    they stay unlabelled and are recorded as not this person), in one transaction. With
    `version` or `seen_face_ids`, only the cluster as the reviewer saw it is named. The
    cluster's video tracks are named whole, except `exclude_tracks` (deselected tracks: they
    stay unnamed and are recorded as not this person, as a track's own "not X" records it);
    with `seen_track_ids`, only when the cluster's tracks are still the ones the reviewer saw
    (a track that joined or left since is a ConflictError, nothing named)."""
    name = normalise_name(name)
    excluded = sorted(set(exclude))
    excluded_tracks = sorted(set(exclude_tracks))

    def work(conn: Connection) -> dict:
        person, created = named_person(conn, name)
        # A cluster may hold video tracks (one member each): naming it names each whole track.
        tracks = track_cluster_store.cluster_tracks(conn, cluster_id)
        members = locked_cluster(conn, cluster_id, version, seen_face_ids, bool(tracks))
        if person.status == "merged":
            raise ValueError(
                f"{person.name!r} was merged into person {person.merged_into}; label with that name"
            )
        if person.status == "hidden":
            raise ValueError(f"{person.name!r} is hidden; unhide it before labelling")
        unknown = sorted(set(excluded).difference(members))
        if unknown:
            raise ValueError(f"faces {unknown} are not in cluster {cluster_id!r}")
        # A face a human said is not this person stays out, even when clustered with them.
        rejected = label_store.rejections(conn, members)
        # Nor a face in a photo taken before their birthdate (identity/lifetime.py).
        early = profile_store.born_after_photo(conn, members)
        out = set(excluded)  # built once: a cluster may hold thousands of faces
        keep = [
            f
            for f in members
            if f not in out
            and person.id not in rejected.get(f, ())
            and person.id not in early.get(f, ())
        ]
        if seen_track_ids is not None and sorted(set(seen_track_ids)) != sorted(tracks):
            raise ConflictError(
                f"cluster {cluster_id!r} changed since it was read (its video tracks);"
                " nothing was changed: review it again",
                {**cluster_state(conn, cluster_id, members), "track_ids": sorted(tracks)},
            )
        stray = sorted(set(excluded_tracks) - set(tracks))
        if stray:
            raise ValueError(f"tracks {stray} are not in cluster {cluster_id!r}")
        out_tracks = set(excluded_tracks)
        kept_tracks = [t for t in tracks if t not in out_tracks]
        if (excluded or excluded_tracks) and not keep and not kept_tracks:
            raise ValueError("every face of the cluster was deselected: nothing to name")
        for track in excluded_tracks:
            track_label_store.reject_track(conn, track, person.id)
        named = track_label_store.label_tracks(conn, kept_tracks, person.id)  # rejected stay out
        # Ids only (no name): what undo_cluster_label needs to take this naming back.
        undo = {"faces": keep, "tracks": named, "excluded": excluded,
                "excluded_tracks": excluded_tracks, "created": created}  # fmt: skip
        done = label_in(conn, person, created, keep, pack, undo, cluster_id)
        done["before_birthdate"] = sum(person.id in early.get(f, ()) for f in members)
        done["tracks"] = len(named)
        if excluded:
            rejected_now = label_store.reject(conn, excluded, person.id)
            event_store.log_event(
                conn, "reject", person.id, cluster_id, rejected_now, {"faces": excluded}
            )
        return {**done, "excluded": len(excluded), "tracks_excluded": len(excluded_tracks)}

    return store.run(work)


UNDO_WINDOW = timedelta(days=30)  # as long as "not a face" can be undone (services/face_removal)


def undo_cluster_label(store: Store, pack: str, event_id: int) -> dict:
    """Take back a cluster's naming (a wrong name, a slip of the finger): its faces and
    tracks that are still this person's by that label go back, unnamed, to the cluster; the
    faces and tracks unticked then lose their "not this person"; a person the naming created
    is deleted again when nothing else is theirs, else their prototypes are rebuilt. Whatever
    a human changed since (a face named someone else, forgotten) is left as it is and
    counted. Within UNDO_WINDOW, once."""

    def work(conn: Connection) -> dict:
        event = event_store.locked_event(conn, event_id)
        if event is None or event["operation"] != "label" or not event["cluster_id"]:
            raise LookupError(f"no cluster naming {event_id}")
        detail = event["detail"]
        if "faces" not in detail or "created" not in detail:
            raise ValueError(f"naming {event_id} predates undo: change it by hand")
        if event_store.undone(conn, event_id):
            raise ValueError(f"naming {event_id} was already undone")
        if datetime.now(UTC) - event["created_at"] > UNDO_WINDOW:
            raise ValueError(f"naming {event_id} is older than {UNDO_WINDOW.days} days")
        person_id, cluster_id = int(event["person_id"]), str(event["cluster_id"])
        if not person_store.lock_persons(conn, [person_id]):
            raise LookupError(f"the person of naming {event_id} was forgotten")
        faces = label_store.unlabel_to_cluster(conn, detail["faces"], person_id, cluster_id)
        tracks = track_label_store.unlabel_tracks(
            conn, detail.get("tracks", []), person_id, cluster_id
        )
        rejections = label_store.drop_rejections(conn, detail.get("excluded", []), person_id)
        rejections += track_label_store.drop_track_rejections(
            conn, detail.get("excluded_tracks", []), person_id
        )
        removed = bool(detail["created"]) and person_store.delete_if_unused(conn, person_id)
        if not removed:
            rebuild_prototypes(conn, pack, [person_id])
        event_store.log_event(
            conn, "undo_label", person_id, cluster_id, len(faces),
            {"event": event_id, "faces": faces, "tracks": tracks},
        )  # fmt: skip
        return {
            "event_id": event_id,
            "person_id": person_id,
            "cluster_id": cluster_id,
            "faces_released": len(faces),
            "faces_changed_since": len(detail["faces"]) - len(faces),
            "tracks_released": len(tracks),
            "rejections_dropped": rejections,
            "person_removed": removed,
        }

    return store.run(work)
