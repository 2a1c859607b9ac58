"""Human labelling operations: label, merge, split, unassign, hide, rename (forget:
services.forgetting).

Each operation runs in one transaction: it either happens completely or, on a wrong id or
any error, changes nothing. Every operation is logged in label_events, whose version is the
`person_labels` source asset that drives person_prototypes downstream.
"""

from __future__ import annotations

from face_assets.identity import clustering
from face_assets.identity.cluster_ids import sub_cluster_id
from face_assets.identity.names import is_person_id, normalise_name
from face_assets.services.identities import rebuild_prototypes
from face_assets.store import Connection, Store, face_sets
from face_assets.store import clusters as cluster_store
from face_assets.store import label_events as event_store
from face_assets.store import labels as label_store
from face_assets.store import people as people_store
from face_assets.store import persons as person_store
from face_assets.store import videos as video_store


def person_ref(ref: str | int) -> str:
    """A person reference as the store looks it up: an id as digits, a name normalised."""
    text = str(ref)
    return text.strip() if is_person_id(text) else normalise_name(text)


def _label(
    conn: Connection,
    person: person_store.Person,
    created: bool,
    face_ids: list[int],
    pack: str,
    cluster_id: str | None,
    detail: dict,
) -> dict:
    """Human labels, the person's prototypes rebuilt and the event logged, in the caller's
    transaction."""
    labelled = label_store.label_faces(conn, face_ids, person.id)
    proto = rebuild_prototypes(conn, pack, [person.id])
    # Ids and counts only: the audit log must not keep a name a forget could leave behind.
    event_store.log_event(conn, "label", person.id, cluster_id, labelled, detail)
    return {
        "person_id": person.id,
        "name": person.name,
        "created": created,
        "faces": labelled,
        "prototypes": proto.prototypes,
    }


def label_in(
    conn: Connection,
    person: person_store.Person,
    created: bool,
    face_ids: list[int],
    pack: str,
    detail: dict,
) -> dict:
    """Human labels in the caller's transaction (a manual face is stored and named in one)."""
    return _label(conn, person, created, face_ids, pack, None, detail)


def label_cluster(store: Store, cluster_id: str, name: str, pack: str) -> dict:
    name = normalise_name(name)
    with store.transaction() as conn:
        # A cluster may hold video tracks (one member each): naming it names each whole track.
        tracks = video_store.cluster_tracks(conn, cluster_id)
        try:
            faces = face_sets.cluster_face_set(conn, cluster_id)
        except LookupError:
            if not tracks:
                raise
            faces = None
        person, created = person_store.person_by_name(conn, name)
        if person.status == "merged":
            raise ValueError(
                f"{person.name!r} was merged into person {person.merged_into}; label with that name"
            )
        if person.status == "hidden":
            raise ValueError(f"{person.name!r} is hidden; unhide it before labelling")
        face_ids = faces.face_ids if faces is not None else []
        # A face a human said is not this person stays out, even when clustered with them.
        rejected = label_store.rejections(conn, face_ids)
        # Nor a face in a photo taken before their birthdate (identity/lifetime.py).
        early = people_store.born_after_photo(conn, face_ids)
        keep = [
            f
            for f in face_ids
            if person.id not in rejected.get(f, ()) and person.id not in early.get(f, ())
        ]
        named = video_store.label_tracks(conn, tracks, person.id)  # rejected tracks stay out
        done = _label(conn, person, created, keep, pack, cluster_id, {"tracks": named})
        done["before_birthdate"] = sum(person.id in early.get(f, ()) for f in face_ids)
        done["tracks"] = len(named)
        return done


def label_faces(store: Store, face_ids: list[int], name: str, pack: str) -> dict:
    """Label individual faces (e.g. from the review page) as a person."""
    name = normalise_name(name)
    with store.transaction() as conn:
        for face_id in face_ids:
            label_store.face_person(conn, face_id)  # LookupError on a wrong id
        person, created = person_store.person_by_name(conn, name)
        if person.status != "active":
            raise ValueError(f"{person.name!r} is {person.status}; it cannot take new faces")
        early = [f for f, ps in people_store.born_after_photo(conn, face_ids).items()
                 if person.id in ps]  # fmt: skip
        if early:
            raise ValueError(
                f"face {min(early)} is in a photo taken before {person.name}'s birthdate:"
                " it cannot show them"
            )
        return _label(conn, person, created, face_ids, pack, None, {"faces": face_ids})


def merge_persons(store: Store, source_ref: str, target_ref: str, pack: str) -> dict:
    with store.transaction() as conn:
        source = person_store.find_person(conn, person_ref(source_ref))
        target = person_store.find_person(conn, person_ref(target_ref))
        if source.id == target.id:
            raise ValueError("cannot merge a person into itself")
        for person in (source, target):
            if person.status != "active":
                raise ValueError(f"{person.name!r} is {person.status}; only active persons merge")
        moved = label_store.move_person_faces(conn, source.id, target.id)
        person_store.set_merged(conn, source.id, target.id)
        proto = rebuild_prototypes(conn, pack, [target.id])
        event_store.log_event(conn, "merge", target.id, None, moved, {"source": source.id})
    return {
        "source": source.name,
        "into": target.name,
        "faces_moved": moved,
        "prototypes": proto.prototypes,
    }


def hide_person(store: Store, ref: str, hidden: bool, pack: str) -> dict:
    """Hide a person (a stranger in the background, say): no prototypes, no new assignments;
    their automatic assignments are released. Their human labels stay, for an unhide."""
    with store.transaction() as conn:
        person = person_store.find_person(conn, person_ref(ref))
        if person.status == "merged":
            raise ValueError(f"{person.name!r} was merged into person {person.merged_into}")
        if (person.status == "hidden") == hidden:
            raise ValueError(f"{person.name!r} is already {person.status}")
        person_store.set_status(conn, person.id, "hidden" if hidden else "active")
        released = label_store.release_faces(conn, person.id, "auto") if hidden else 0
        proto = rebuild_prototypes(conn, pack, None if hidden else [person.id])
        event_store.log_event(conn, "hide" if hidden else "unhide", person.id, None, released)
    return {
        "person": person.name,
        "status": "hidden" if hidden else "active",
        "auto_assignments_released": released,
        "prototypes": proto.prototypes,
    }


def rename_person(store: Store, ref: str, name: str) -> dict:
    clean = normalise_name(name)
    with store.transaction() as conn:
        person = person_store.find_person(conn, person_ref(ref))
        person_store.rename(conn, person.id, clean)
        event_store.log_event(conn, "rename", person.id, None, 0)
    return {"person_id": person.id, "from": person.name, "to": clean}


def split_cluster(
    store: Store, cluster_id: str, min_cluster_size: int = clustering.SPLIT_MIN_CLUSTER_SIZE
) -> dict:
    """Re-cluster one cluster with tighter parameters; its faces get sub-cluster ids. A
    sub-cluster needs min_cluster_size faces (seed 002's split parameter); fewer are left
    unclustered."""
    if min_cluster_size < 2:
        raise ValueError(f"min_cluster_size must be >= 2, got {min_cluster_size}")
    with store.transaction() as conn:
        faces = face_sets.cluster_face_set(conn, cluster_id)
        labels = clustering.split_labels(
            faces.embeddings, min_cluster_size=min_cluster_size, photo_ids=faces.image_ids
        )
        groups: dict[int, list[int]] = {}
        for face_id, label in zip(faces.face_ids, labels, strict=True):
            groups.setdefault(int(label), []).append(face_id)
        result = {}
        for label, members in sorted(groups.items()):
            if label == clustering.NOISE:
                cluster_store.set_cluster(conn, members, None)
                continue
            sub_id = sub_cluster_id(cluster_id, members)
            cluster_store.set_cluster(conn, members, sub_id)
            result[sub_id] = len(members)
        event_store.log_event(
            conn, "split", None, cluster_id, len(faces.face_ids), {"into": result}
        )
    return {
        "cluster": cluster_id,
        "sub_clusters": result,
        "unclustered": len(groups.get(clustering.NOISE, [])),
    }


def unassign_face(store: Store, face_id: int, pack: str | None = None) -> dict:
    """Remember "this face is not that person", and the person's prototypes of the face's
    pack are rebuilt in the same transaction, so the face stops being one of their exemplars
    (and stops pulling the centroid) at once, not at the next refresh. With `pack` given, a
    face of another pack is refused."""
    with store.transaction() as conn:
        person_id, method = label_store.face_person(conn, face_id)
        if person_id is None:
            raise ValueError(f"face {face_id} is not assigned to anyone")
        face_pack = label_store.face_pack(conn, face_id)
        if pack is not None and face_pack != pack:
            raise ValueError(f"face {face_id} belongs to model pack {face_pack}, not {pack}")
        label_store.unassign_face(conn, face_id, person_id)
        proto = rebuild_prototypes(conn, face_pack, [person_id])
        event_store.log_event(
            conn, "unassign", person_id, None, 1, {"face": face_id, "was": method}
        )
    return {
        "face": face_id,
        "person_id": person_id,
        "was": method,
        "pack": face_pack,
        "prototypes": proto.prototypes,
    }
