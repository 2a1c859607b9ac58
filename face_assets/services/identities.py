"""Identities: person prototypes, assignment of faces to known persons, clustering the rest.

Dual mode (the image-search seed): known people are assigned first, then only the faces
nobody claimed are clustered. Each function takes a plain Store.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from face_assets.identity import clustering, prototypes
from face_assets.identity.assignment import (
    ASSIGN_MARGIN,
    Candidate,
    FaceCandidates,
    resolve_assignments,
)
from face_assets.store import Connection, Store
from face_assets.store import persons as person_store

QUALITY_THRESHOLD = 0.5  # seed: only faces of quality >= 0.5 are clustered
CANDIDATES_PER_FACE = 8  # prototypes fetched per face: enough for 2 persons x 4 prototypes


@dataclass
class PrototypeStats:
    persons: int = 0
    prototypes: int = 0
    faces_per_person: dict[int, int] = field(default_factory=dict)


def rebuild_prototypes(
    conn: Connection, pack: str, person_ids: list[int] | None = None
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


def refresh_prototypes(store: Store, pack: str) -> PrototypeStats:
    """Every active person's prototypes, in one transaction."""
    with store.transaction() as conn:
        return rebuild_prototypes(conn, pack)


@dataclass
class ClusterStats:
    faces: int = 0
    clusters: int = 0
    noise: int = 0
    sizes: list[int] = field(default_factory=list)
    kept_ids: int = 0
    new_ids: int = 0


def recluster(
    store: Store,
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
    store: Store,
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
