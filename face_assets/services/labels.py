"""Human labelling operations: label, merge, split, unassign, hide, rename, forget.

Each operation runs in one transaction: it either happens completely or, on a wrong id or
any error, changes nothing. Every operation is logged in label_events, whose version is the
`person_labels` source asset that drives person_prototypes downstream.
"""

from __future__ import annotations

from face_assets import media
from face_assets.identity import clustering
from face_assets.services.identities import rebuild_prototypes
from face_assets.store import Connection, Store
from face_assets.store import persons as person_store


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
    labelled = person_store.label_faces(conn, face_ids, person.id)
    proto = rebuild_prototypes(conn, pack, [person.id])
    person_store.log_event(conn, "label", person.id, cluster_id, labelled, detail)
    return {
        "person_id": person.id,
        "name": person.name,
        "created": created,
        "faces": labelled,
        "prototypes": proto.prototypes,
    }


def label_cluster(store: Store, cluster_id: str, name: str, pack: str) -> dict:
    with store.transaction() as conn:
        faces = person_store.cluster_faces(conn, cluster_id)
        person, created = person_store.person_by_name(conn, name)
        if person.status == "merged":
            raise ValueError(
                f"{person.name!r} was merged into person {person.merged_into}; label with that name"
            )
        if person.status == "hidden":
            raise ValueError(f"{person.name!r} is hidden; unhide it before labelling")
        return _label(conn, person, created, faces.face_ids, pack, cluster_id, {"name": name})


def label_faces(store: Store, face_ids: list[int], name: str, pack: str) -> dict:
    """Label individual faces (e.g. from the review page) as a person."""
    with store.transaction() as conn:
        for face_id in face_ids:
            person_store.face_person(conn, face_id)  # LookupError on a wrong id
        person, created = person_store.person_by_name(conn, name)
        if person.status != "active":
            raise ValueError(f"{person.name!r} is {person.status}; it cannot take new faces")
        return _label(conn, person, created, face_ids, pack, None, {"faces": face_ids})


def merge_persons(store: Store, source_ref: str, target_ref: str, pack: str) -> dict:
    with store.transaction() as conn:
        source = person_store.find_person(conn, source_ref)
        target = person_store.find_person(conn, target_ref)
        if source.id == target.id:
            raise ValueError("cannot merge a person into itself")
        for person in (source, target):
            if person.status != "active":
                raise ValueError(f"{person.name!r} is {person.status}; only active persons merge")
        moved = person_store.move_person_faces(conn, source.id, target.id)
        person_store.set_merged(conn, source.id, target.id)
        proto = rebuild_prototypes(conn, pack, [target.id])
        person_store.log_event(
            conn, "merge", target.id, None, moved, {"source": source.id, "source_name": source.name}
        )
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
        person = person_store.find_person(conn, ref)
        if person.status == "merged":
            raise ValueError(f"{person.name!r} was merged into person {person.merged_into}")
        if (person.status == "hidden") == hidden:
            raise ValueError(f"{person.name!r} is already {person.status}")
        person_store.set_status(conn, person.id, "hidden" if hidden else "active")
        released = person_store.release_faces(conn, person.id, "auto") if hidden else 0
        proto = rebuild_prototypes(conn, pack, None if hidden else [person.id])
        person_store.log_event(conn, "hide" if hidden else "unhide", person.id, None, released)
    return {
        "person": person.name,
        "status": "hidden" if hidden else "active",
        "auto_assignments_released": released,
        "prototypes": proto.prototypes,
    }


def rename_person(store: Store, ref: str, name: str) -> dict:
    clean = " ".join(name.split())
    if not clean:
        raise ValueError("a person's name cannot be empty")
    with store.transaction() as conn:
        person = person_store.find_person(conn, ref)
        person_store.rename(conn, person.id, clean)
        person_store.log_event(conn, "rename", person.id, None, 0, {"from": person.name})
    return {"person_id": person.id, "from": person.name, "to": clean}


def split_cluster(store: Store, cluster_id: str) -> dict:
    """Re-cluster one cluster with tighter parameters; its faces get sub-cluster ids."""
    with store.transaction() as conn:
        faces = person_store.cluster_faces(conn, cluster_id)
        labels = clustering.split_labels(faces.embeddings, photo_ids=faces.image_ids)
        groups: dict[int, list[int]] = {}
        for face_id, label in zip(faces.face_ids, labels, strict=True):
            groups.setdefault(int(label), []).append(face_id)
        result = {}
        for label, members in sorted(groups.items()):
            if label == clustering.NOISE:
                person_store.set_cluster(conn, members, None)
                continue
            sub_id = f"{cluster_id}_sub_{clustering.default_cluster_id(members)[4:10]}"
            person_store.set_cluster(conn, members, sub_id)
            result[sub_id] = len(members)
        person_store.log_event(
            conn, "split", None, cluster_id, len(faces.face_ids), {"into": result}
        )
    return {
        "cluster": cluster_id,
        "sub_clusters": result,
        "unclustered": len(groups.get(clustering.NOISE, [])),
    }


def unassign_face(store: Store, face_id: int) -> dict:
    with store.transaction() as conn:
        person_id, method = person_store.face_person(conn, face_id)
        if person_id is None:
            raise ValueError(f"face {face_id} is not assigned to anyone")
        person_store.unassign_face(conn, face_id, person_id)
        person_store.log_event(
            conn, "unassign", person_id, None, 1, {"face": face_id, "was": method}
        )
    return {"face": face_id, "person_id": person_id, "was": method}


def forget_person(store: Store, ref: str) -> dict:
    """Delete a person's biometric data: faces' embeddings, crops, thumbnails, prototypes."""
    with store.transaction() as conn:
        person = person_store.find_person(conn, ref)
        paths = person_store.forget_person(conn, person.id)
        person_store.log_event(conn, "forget", person.id, None, len(paths) // 2)
    removed = media.delete_media(store.media_root, paths)  # after the commit: nothing dangles
    return {"person_id": person.id, "faces_deleted": len(paths) // 2, "files_deleted": removed}
