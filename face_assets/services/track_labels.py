"""A human's decisions on a whole track (issue 20): name it, or say "not this person". The
track is one unit: its faces are labelled or refused together."""

from __future__ import annotations

from face_assets.store import Store
from face_assets.store import label_events as event_store
from face_assets.store import track_labels as track_label_store
from face_assets.store import tracks as track_store


def label_track(store: Store, track_id: int, name: str) -> dict:
    """A human names a whole track: every face of it is that person (the track is one unit)."""
    from face_assets.identity.names import normalise_name
    from face_assets.store import persons as person_store

    with store.transaction() as conn:
        person, created = person_store.person_by_name(conn, normalise_name(name))
        if person.status != "active":
            raise ValueError(f"{person.name!r} is {person.status}; it cannot take new faces")
        if not track_label_store.label_track(conn, track_id, person.id):
            raise LookupError(f"no track {track_id}")
        faces = len(track_store.track_faces(conn, track_id))
        # Ids only (a forget leaves no name behind); the person_labels data version moves.
        event_store.log_event(conn, "label_track", person.id, None, faces, {"track": track_id})
    return {"track_id": track_id, "person_id": person.id, "created": created, "faces": faces}


def reject_track(store: Store, track_id: int, person_ref: str | int) -> dict:
    """A human's "not this person" on a track: the whole track leaves that person (if it was
    theirs) and is never proposed to them again (assignment and cluster naming skip it)."""
    from face_assets.services.labels import person_ref as normalised_ref
    from face_assets.store import persons as person_store

    with store.transaction() as conn:
        person = person_store.find_person(conn, normalised_ref(person_ref))
        unassigned = track_label_store.reject_track(conn, track_id, person.id)
        if unassigned is None:
            raise LookupError(f"no track {track_id}")
        faces = len(track_store.track_faces(conn, track_id))
        detail = {"track": track_id, "unassigned": unassigned}
        event_store.log_event(conn, "reject_track", person.id, None, faces, detail)
    return {"track_id": track_id, "person_id": person.id, "unassigned": unassigned}
