"""Human labelling of persons and faces: label faces, merge, split a cluster, unassign,
hide, rename, and the helpers every labelling shares (naming a whole cluster and its undo:
services.cluster_naming; forget: services.forgetting).

Each operation runs in one transaction: it either happens completely or, on a wrong id or
any error, changes nothing. Every operation is logged in label_events, whose version is the
`person_labels` source asset that drives person_prototypes downstream.

Two reviewers at once (issue 18): every operation locks what it changes, persons before
faces and each kind in id order, so a concurrent one waits and then sees the new state; a
collision PostgreSQL still aborts (a deadlock, a serialisation failure) is retried a bounded
number of times (Store.run). An operation on a cluster (a split here, a naming in
services.cluster_naming) applies to the cluster the reviewer saw (locked_cluster): with its
version (or its face ids) given, a cluster that changed since is refused with a
ConflictError carrying the current state, never overwritten.
"""

from __future__ import annotations

from collections.abc import Sequence

from face_assets.errors import ConflictError, TransientConflictError
from face_assets.identity import clustering
from face_assets.identity.cluster_ids import sub_cluster_id
from face_assets.identity.names import is_person_id, normalise_name
from face_assets.services.identities import rebuild_prototypes
from face_assets.store import Connection, Store, face_sets
from face_assets.store import clusters as cluster_store
from face_assets.store import label_events as event_store
from face_assets.store import labels as label_store
from face_assets.store import person_profiles as profile_store
from face_assets.store import persons as person_store


def person_ref(ref: str | int) -> str:
    """A person reference as the store looks it up: an id as digits, a name normalised."""
    text = str(ref)
    return text.strip() if is_person_id(text) else normalise_name(text)


def _locked(conn: Connection, person: person_store.Person) -> person_store.Person:
    """The person's row locked and re-read; a person deleted meanwhile (a forget at the same
    moment) makes the whole operation run again on the new state."""
    found = person_store.lock_persons(conn, [person.id]).get(person.id)
    if found is None:
        raise TransientConflictError(f"person {person.id} was deleted meanwhile")
    return found


def named_person(conn: Connection, name: str) -> tuple[person_store.Person, bool]:
    """The (normalised) name's person, created if new, locked; (person, created)."""
    person, created = person_store.person_by_name(conn, name)
    return _locked(conn, person), created


def label_in(
    conn: Connection,
    person: person_store.Person,
    created: bool,
    face_ids: list[int],
    pack: str,
    detail: dict,
    cluster_id: str | None = None,
) -> dict:
    """Human labels, the person's prototypes rebuilt from the faces they really have now and
    the event logged, in the caller's transaction (a manual face is stored and named in one;
    a cluster's naming passes the cluster)."""
    labelled = label_store.label_faces(conn, face_ids, person.id)
    proto = rebuild_prototypes(conn, pack, [person.id])
    # Ids and counts only: the audit log must not keep a name a forget could leave behind.
    event = event_store.log_event(conn, "label", person.id, cluster_id, labelled, detail)
    return {
        "event_id": event,
        "person_id": person.id,
        "name": person.name,
        "created": created,
        "faces": labelled,
        "prototypes": proto.prototypes,
    }


def cluster_state(conn: Connection, cluster_id: str, face_ids: list[int]) -> dict:
    """What a reviewer is told when their view of a cluster is out of date."""
    state: dict = {
        "cluster_id": cluster_id,
        "version": cluster_store.cluster_version(face_ids) if face_ids else None,
        "face_ids": face_ids,
    }
    last = cluster_store.last_cluster_event(conn, cluster_id)
    if last is not None:
        state["last_operation"], state["last_person_id"] = last
    return state


def locked_cluster(
    conn: Connection,
    cluster_id: str,
    version: str | None,
    seen_face_ids: Sequence[int] | None,
    tracks_only: bool = False,
) -> list[int]:
    """The cluster's unlabelled faces, locked, when they are what the reviewer saw (the
    version, or the face ids, they sent); ConflictError with the current state otherwise,
    and when the cluster was emptied by another operation; LookupError for a cluster that
    never existed."""
    members = cluster_store.lock_cluster_faces(conn, cluster_id)
    if not members and tracks_only:
        return []  # a cluster of video tracks only: their rows carry the naming
    if not members:
        last = cluster_store.last_cluster_event(conn, cluster_id)
        if last is None:
            raise LookupError(
                f"no cluster {cluster_id!r} with unlabelled faces (see `face-assets clusters`)"
            )
        raise ConflictError(
            f"cluster {cluster_id!r} has no unlabelled faces any more (last operation:"
            f" {last[0]}); nothing was changed",
            cluster_state(conn, cluster_id, []),
        )
    changed = (version is not None and version != cluster_store.cluster_version(members)) or (
        seen_face_ids is not None and sorted(set(seen_face_ids)) != members
    )
    if changed:
        raise ConflictError(
            f"cluster {cluster_id!r} changed since it was read; nothing was changed: review"
            " its current faces and name them again",
            cluster_state(conn, cluster_id, members),
        )
    return members


def label_faces(store: Store, face_ids: list[int], name: str, pack: str) -> dict:
    """Label individual faces (e.g. from the review page) as a person."""
    name = normalise_name(name)

    def work(conn: Connection) -> dict:
        person, created = named_person(conn, name)
        label_store.lock_faces(conn, face_ids)  # one statement; LookupError on a wrong id
        if person.status != "active":
            raise ValueError(f"{person.name!r} is {person.status}; it cannot take new faces")
        early = [f for f, ps in profile_store.born_after_photo(conn, face_ids).items()
                 if person.id in ps]  # fmt: skip
        if early:
            raise ValueError(
                f"face {min(early)} is in a photo taken before {person.name}'s birthdate:"
                " it cannot show them"
            )
        return label_in(conn, person, created, face_ids, pack, {"faces": face_ids})

    return store.run(work)


def merge_persons(store: Store, source_ref: str, target_ref: str, pack: str) -> dict:
    """Merge the source into the target; only active persons merge, checked on their rows
    locked (a hide or forget at the same moment is seen)."""

    def work(conn: Connection) -> dict:
        source = person_store.find_person(conn, person_ref(source_ref))
        target = person_store.find_person(conn, person_ref(target_ref))
        if source.id == target.id:
            raise ValueError("cannot merge a person into itself")
        locked = person_store.lock_persons(conn, [source.id, target.id])
        for person in (source, target):
            if person.id not in locked:
                raise LookupError(f"no person {person.id} (deleted meanwhile)")
        source, target = locked[source.id], locked[target.id]
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

    return store.run(work)


def hide_person(store: Store, ref: str, hidden: bool, pack: str) -> dict:
    """Hide a person (a stranger in the background, say): no prototypes, no new assignments;
    their automatic assignments are released. Their human labels stay, for an unhide."""

    def work(conn: Connection) -> dict:
        person = _locked(conn, person_store.find_person(conn, person_ref(ref)))
        if person.status == "merged":
            raise ValueError(f"{person.name!r} was merged into person {person.merged_into}")
        if (person.status == "hidden") == hidden:
            raise ValueError(f"{person.name!r} is already {person.status}")
        person_store.set_status(conn, person.id, "hidden" if hidden else "active")
        released = label_store.release_faces(conn, person.id, "auto") if hidden else 0
        # Only this person's prototypes change: a hidden person's are dropped (every pack),
        # an unhidden one's rebuilt; nobody else's are touched (nor locked).
        proto = rebuild_prototypes(conn, pack, [person.id])
        event_store.log_event(conn, "hide" if hidden else "unhide", person.id, None, released)
        return {
            "person": person.name,
            "status": "hidden" if hidden else "active",
            "auto_assignments_released": released,
            "prototypes": proto.prototypes,
        }

    return store.run(work)


def rename_person(store: Store, ref: str, name: str) -> dict:
    clean = normalise_name(name)

    def work(conn: Connection) -> dict:
        person = _locked(conn, person_store.find_person(conn, person_ref(ref)))
        person_store.rename(conn, person.id, clean)
        event_store.log_event(conn, "rename", person.id, None, 0)
        return {"person_id": person.id, "from": person.name, "to": clean}

    return store.run(work)


def split_cluster(
    store: Store,
    cluster_id: str,
    min_cluster_size: int = clustering.SPLIT_MIN_CLUSTER_SIZE,
    version: str | None = None,
) -> dict:
    """Re-cluster one cluster with tighter parameters; its faces get sub-cluster ids. A
    sub-cluster needs min_cluster_size faces (seed 002's split parameter); fewer are left
    unclustered. The faces are locked first, so a label at the same moment either comes
    before (and the split sees only the faces left) or after (and labels the sub-clusters'
    faces, which then leave them): a labelled face never keeps a cluster. With `version`,
    only the cluster as the reviewer saw it is split (else ConflictError)."""
    if min_cluster_size < 2:
        raise ValueError(f"min_cluster_size must be >= 2, got {min_cluster_size}")

    def work(conn: Connection) -> dict:
        members = locked_cluster(conn, cluster_id, version, None)
        faces = face_sets.cluster_face_set(conn, cluster_id)
        labels = clustering.split_labels(
            faces.embeddings, min_cluster_size=min_cluster_size, photo_ids=faces.image_ids
        )
        groups: dict[int, list[int]] = {}
        for face_id, label in zip(faces.face_ids, labels, strict=True):
            groups.setdefault(int(label), []).append(face_id)
        result = {}
        for label, group in sorted(groups.items()):
            if label == clustering.NOISE:
                cluster_store.set_cluster(conn, group, None)
                continue
            sub_id = sub_cluster_id(cluster_id, group)
            cluster_store.set_cluster(conn, group, sub_id)
            result[sub_id] = len(group)
        event_store.log_event(conn, "split", None, cluster_id, len(members), {"into": result})
        return {
            "cluster": cluster_id,
            "sub_clusters": result,
            "unclustered": len(groups.get(clustering.NOISE, [])),
        }

    return store.run(work)


def unassign_face(store: Store, face_id: int, pack: str | None = None) -> dict:
    """Remember "this face is not that person", and the person's prototypes of the face's
    pack are rebuilt in the same transaction, so the face stops being one of their exemplars
    (and stops pulling the centroid) at once, not at the next refresh. With `pack` given, a
    face of another pack is refused."""

    def work(conn: Connection) -> dict:
        person_id, _ = label_store.face_person(conn, face_id)  # LookupError on a wrong id
        if person_id is None:
            raise ValueError(f"face {face_id} is not assigned to anyone")
        if person_id not in person_store.lock_persons(conn, [person_id]):
            raise TransientConflictError(f"person {person_id} was deleted meanwhile")
        now, method = label_store.lock_face(conn, face_id)
        if now != person_id:
            raise TransientConflictError(f"face {face_id} changed person meanwhile")
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

    return store.run(work)
