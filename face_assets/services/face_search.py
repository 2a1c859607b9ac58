"""Search by face: the faces nearest a face or an uploaded photo's face, through the pack's
HNSW index (a bounded cost whatever the library), grouped by person."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from face_assets.store import Store
from face_assets.store import face_search as search_store
from face_assets.vision.packs import person_threshold

# Search by face: the HNSW walk returns at most SEARCH_EF_SEARCH rows, so a search costs about
# the same on 100k or 1M faces (pgvector's default is 40). Measured on 100k synthetic faces:
# 98% of the faces at or above the pack's threshold found at 200, 94.5% at 100, for a few ms
# more (benchmarks/people_queries.py).
SEARCH_EF_SEARCH = 200
SEARCH_MAX_FACES = 100  # faces one search may return (the ef_search above bounds the work)
SEARCH_DEFAULT_FACES = 24
SEARCH_MAX_PERSONS = 20


@dataclass(frozen=True)
class SearchResult:
    faces: list[dict]  # nearest first: face id, similarity, photo, person
    persons: list[dict]  # best similarity per person, highest first
    threshold: float  # the pack's person threshold: above it, likely the same person


def search(store: Store, pack: str, vector: np.ndarray, limit: int = SEARCH_DEFAULT_FACES,
           exclude_face: int | None = None) -> SearchResult:  # fmt: skip
    """The faces and persons most like an embedding, nearest first, through the HNSW index of
    the face embeddings (bounded: at most SEARCH_EF_SEARCH rows are visited)."""
    limit = max(1, min(int(limit), SEARCH_MAX_FACES))
    with store.transaction() as conn:
        hits = search_store.nearest_faces(conn, pack, vector, limit + 1, SEARCH_EF_SEARCH)
        hits = [(f, s) for f, s in hits if f != exclude_face][:limit]
        brief = search_store.faces_brief(conn, [f for f, _ in hits])
    faces, best = [], {}
    for face_id, similarity in hits:
        info = brief.get(face_id)
        if info is None:  # deleted between the two reads
            continue
        faces.append({**info, "similarity": similarity})
        person = info["person_id"]
        if person is not None and person not in best:
            best[person] = {
                "person_id": person,
                "person_name": info["person_name"],
                "similarity": similarity,
                "face_id": face_id,
            }
    persons = sorted(best.values(), key=lambda p: -p["similarity"])[:SEARCH_MAX_PERSONS]
    return SearchResult(faces, persons, person_threshold(pack))


def face_vector(store: Store, face_id: int, pack: str) -> np.ndarray:
    with store.transaction() as conn:
        found = search_store.face_embedding(conn, face_id)
    if found is None:
        raise LookupError(f"face {face_id} has no embedding")
    if found[0] != pack:
        raise ValueError(f"face {face_id} belongs to model pack {found[0]}, not {pack}")
    return found[1]
