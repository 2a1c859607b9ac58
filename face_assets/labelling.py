"""Human labelling operations and the identity work behind the identity assets.

Each operation runs in one transaction: it either happens completely or, on a wrong id or
any error, changes nothing. Every operation is logged in label_events, whose version is the
`person_labels` source asset that drives person_prototypes downstream.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import psycopg

from face_assets import media
from face_assets.identity import clustering, prototypes
from face_assets.identity.assignment import (
    ASSIGN_MARGIN,
    Candidate,
    FaceCandidates,
    resolve_assignments,
)
from face_assets.resources import FaceStoreResource
from face_assets.store import checks as check_queries
from face_assets.store import faces as face_store
from face_assets.store import persons as person_store

# Cosine similarity to a prototype needed for automatic assignment, per model pack.
# buffalo_l: the seed's dual-mode default (0.7), set for that model.
# buffalo_s: measured on ../shared/data/faces_real by benchmarks/identity_quality.py. Same
# person: mean 0.67, min 0.36; different people: max 0.22. Precision is 1.0 from 0.30 up;
# 0.40 keeps recall at 0.975 (1 labelled photo per person) with a 0.18 buffer over the worst
# impostor, which grows with library size. The seed's 0.7 gives recall 0.55 here.
PERSON_THRESHOLDS = {"buffalo_l": 0.7, "buffalo_s": 0.40}
DEFAULT_PERSON_THRESHOLD = 0.7  # seed value, for packs not measured here
QUALITY_THRESHOLD = 0.5  # seed: only faces of quality >= 0.5 are clustered
CANDIDATES_PER_FACE = 8  # prototypes fetched per face: enough for 2 persons x 4 prototypes


def person_threshold(pack: str) -> float:
    return PERSON_THRESHOLDS.get(pack, DEFAULT_PERSON_THRESHOLD)


@dataclass
class PrototypeStats:
    persons: int = 0
    prototypes: int = 0
    faces_per_person: dict[int, int] = field(default_factory=dict)


def rebuild_prototypes(
    conn: psycopg.Connection, pack: str, person_ids: list[int] | None = None
) -> PrototypeStats:
    """Centroid (normalised mean, seed formula) + top-quality exemplars per active person."""
    stats = PrototypeStats()
    grouped = person_store.person_faces(conn, pack, person_ids)
    targets = person_ids if person_ids is not None else person_store.active_person_ids(conn)
    for person_id in targets:
        faces = grouped.get(person_id)
        if faces is None or not faces.face_ids:
            person_store.replace_prototypes(conn, person_id, pack, None, [])
            continue
        best = prototypes.exemplar_indices(faces.qualities)
        exemplars = [(faces.face_ids[i], faces.embeddings[i]) for i in best]
        centre = prototypes.centroid(faces.embeddings)
        stats.prototypes += person_store.replace_prototypes(
            conn, person_id, pack, centre, exemplars
        )
        stats.persons += 1
        stats.faces_per_person[person_id] = len(faces.face_ids)
    person_store.drop_prototypes_of_inactive(conn)
    return stats


# --- labelling operations ------------------------------------------------------------------


def _label(
    conn: psycopg.Connection,
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


def label_cluster(store: FaceStoreResource, cluster_id: str, name: str, pack: str) -> dict:
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


def label_faces(store: FaceStoreResource, face_ids: list[int], name: str, pack: str) -> dict:
    """Label individual faces (e.g. from the review page) as a person."""
    with store.transaction() as conn:
        for face_id in face_ids:
            person_store.face_person(conn, face_id)  # LookupError on a wrong id
        person, created = person_store.person_by_name(conn, name)
        if person.status != "active":
            raise ValueError(f"{person.name!r} is {person.status}; it cannot take new faces")
        return _label(conn, person, created, face_ids, pack, None, {"faces": face_ids})


def merge_persons(store: FaceStoreResource, source_ref: str, target_ref: str, pack: str) -> dict:
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


def hide_person(store: FaceStoreResource, ref: str, hidden: bool, pack: str) -> dict:
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


def rename_person(store: FaceStoreResource, ref: str, name: str) -> dict:
    clean = " ".join(name.split())
    if not clean:
        raise ValueError("a person's name cannot be empty")
    with store.transaction() as conn:
        person = person_store.find_person(conn, ref)
        try:
            person_store.rename(conn, person.id, clean)
        except psycopg.errors.UniqueViolation as exc:
            raise ValueError(f"another person is already called {clean!r}; merge instead") from exc
        person_store.log_event(conn, "rename", person.id, None, 0, {"from": person.name})
    return {"person_id": person.id, "from": person.name, "to": clean}


def split_cluster(store: FaceStoreResource, cluster_id: str) -> dict:
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


def unassign_face(store: FaceStoreResource, face_id: int) -> dict:
    with store.transaction() as conn:
        person_id, method = person_store.face_person(conn, face_id)
        if person_id is None:
            raise ValueError(f"face {face_id} is not assigned to anyone")
        person_store.unassign_face(conn, face_id, person_id)
        person_store.log_event(
            conn, "unassign", person_id, None, 1, {"face": face_id, "was": method}
        )
    return {"face": face_id, "person_id": person_id, "was": method}


def forget_person(store: FaceStoreResource, ref: str) -> dict:
    """Delete a person's biometric data: faces' embeddings, crops, thumbnails, prototypes."""
    with store.transaction() as conn:
        person = person_store.find_person(conn, ref)
        paths = person_store.forget_person(conn, person.id)
        person_store.log_event(conn, "forget", person.id, None, len(paths) // 2)
    removed = media.delete_media(store.media_root, paths)  # after the commit: nothing dangles
    return {"person_id": person.id, "faces_deleted": len(paths) // 2, "files_deleted": removed}


def find_orphans(store: FaceStoreResource, pack: str, fix: bool = False) -> dict:
    """Faces without embeddings, face rows without files, files without face rows."""
    with store.transaction() as conn:
        missing_embeddings = check_queries.faces_missing_embedding(conn, pack)
        audit = media.media_audit(store.media_root, check_queries.face_media(conn))
        if fix and audit.faces_without_files:
            face_store.forget_detections_of(conn, audit.faces_without_files)
    deleted = media.delete_media(store.media_root, audit.files_without_faces) if fix else 0
    return {
        "faces_without_embedding": sum(missing_embeddings.values()),
        "face_rows_without_files": len(audit.faces_without_files),
        "files_without_face_rows": len(audit.files_without_faces),
        "fixed": fix,
        "files_deleted": deleted,
        "faces_queued_for_redetection": len(audit.faces_without_files) if fix else 0,
    }


# --- the identity assets' work ------------------------------------------------------------


@dataclass
class ClusterStats:
    faces: int = 0
    clusters: int = 0
    noise: int = 0
    sizes: list[int] = field(default_factory=list)
    kept_ids: int = 0
    new_ids: int = 0


def recluster(
    store: FaceStoreResource,
    pack: str,
    method: str = clustering.DEFAULT_METHOD,
    min_cluster_size: int = clustering.MIN_CLUSTER_SIZE,
    min_samples: int = clustering.MIN_SAMPLES,
    eps: float = clustering.UNKNOWN_EPS,
    min_quality: float = QUALITY_THRESHOLD,
) -> ClusterStats:
    """Cluster the unlabelled good faces; keep cluster ids whose membership barely changed."""
    with store.transaction() as conn:
        faces = person_store.faces_to_cluster(conn, pack, min_quality)
        labels = (
            clustering.cluster_labels(
                faces.embeddings,
                method=method,
                min_cluster_size=min_cluster_size,
                min_samples=min_samples,
                eps=eps,
                photo_ids=faces.image_ids,
            )
            if faces.face_ids
            else np.zeros(0, dtype=int)
        )
        previous: dict[str, set[int]] = {}
        for face_id, cluster_id in zip(faces.face_ids, faces.cluster_ids, strict=True):
            if cluster_id:
                previous.setdefault(cluster_id, set()).add(face_id)
        names = clustering.stable_cluster_ids(previous, faces.face_ids, labels)
        cluster_of = {
            face_id: names.get(int(label))
            for face_id, label in zip(faces.face_ids, labels, strict=True)
        }
        person_store.write_clusters(conn, pack, cluster_of)
    sizes = Counter(c for c in cluster_of.values() if c)
    return ClusterStats(
        faces=len(faces.face_ids),
        clusters=len(sizes),
        noise=sum(1 for c in cluster_of.values() if c is None),
        sizes=sorted(sizes.values(), reverse=True),
        kept_ids=len(set(sizes) & set(previous)),
        new_ids=len(set(sizes) - set(previous)),
    )


@dataclass
class AssignmentStats:
    faces: int = 0
    assigned: int = 0
    per_person: Counter = field(default_factory=Counter)
    similarities: list[float] = field(default_factory=list)
    threshold: float = 0.0
    margin: float = 0.0
    head: str | None = None


def assign_month(
    store: FaceStoreResource,
    pack: str,
    month: str,
    threshold: float,
    margin: float = ASSIGN_MARGIN,
    projector=None,
    head_name: str | None = None,
) -> AssignmentStats:
    """Assign the month's unlabelled faces to known persons (auto), never over human labels.

    Raw embeddings: pgvector's HNSW index finds each face's nearest prototypes. With a promoted
    projection head (`projector` maps 512-d rows to its space), faces and prototypes are
    compared in the projected space instead.
    """
    stats = AssignmentStats(threshold=threshold, margin=margin, head=head_name)
    with store.transaction() as conn:
        faces = person_store.faces_to_assign(conn, month, pack)
        stats.faces = len(faces.face_ids)
        if not faces.face_ids:
            return stats
        candidates: dict[int, list[Candidate]] = {fid: [] for fid in faces.face_ids}
        if projector is None:
            for face_id, person_id, sim, proto_id in person_store.nearest_prototypes(
                conn, month, pack, CANDIDATES_PER_FACE
            ):
                candidates[face_id].append(Candidate(person_id, float(sim), proto_id))
        else:
            proto_ids, proto_persons, proto_emb = person_store.prototypes(conn, pack)
            if proto_ids:
                sims = projector(faces.embeddings) @ projector(proto_emb).T
                for row, face_id in enumerate(faces.face_ids):
                    for col in np.argsort(-sims[row])[:CANDIDATES_PER_FACE]:
                        candidates[face_id].append(
                            Candidate(proto_persons[col], float(sims[row, col]), proto_ids[col])
                        )
        rejected = person_store.rejections(conn, faces.face_ids)
        photo_of = dict(zip(faces.face_ids, faces.image_ids, strict=True))
        requests = [
            FaceCandidates(
                face_id,
                photo_of[face_id],
                [c for c in cands if c.person_id not in rejected.get(face_id, set())],
            )
            for face_id, cands in candidates.items()
        ]
        taken = person_store.human_persons_per_photo(conn, sorted(set(faces.image_ids)), pack)
        decided = resolve_assignments(requests, threshold=threshold, margin=margin, taken=taken)
        person_store.write_assignments(
            conn,
            faces.face_ids,
            [(a.face_id, a.person_id, a.similarity, a.prototype_id, head_name) for a in decided],
        )
    stats.assigned = len(decided)
    stats.per_person = Counter(a.person_id for a in decided)
    stats.similarities = [a.similarity for a in decided]
    return stats
