"""Read-only views of the identity graph for the CLI, the review page and the HTTP API."""

from __future__ import annotations

from face_assets.store import Store, stats
from face_assets.store import persons as person_store


def library_summary(store: Store, pack: str) -> dict:
    """Per-month counts, failure reasons and the identity totals."""
    with store.transaction() as conn:
        return {
            "months": stats.month_summary(conn),
            "failure_reasons": stats.failure_reasons(conn),
            "identities": stats.identity_summary(conn, pack),
        }


def clusters(store: Store, pack: str) -> list[dict]:
    """Clusters of unlabelled faces, largest first, with sample face ids."""
    with store.transaction() as conn:
        return person_store.list_clusters(conn, pack)


def persons(store: Store) -> list[dict]:
    with store.transaction() as conn:
        return person_store.list_persons(conn)


def cluster_samples(store: Store, pack: str, per_cluster: int) -> dict[str, list]:
    """Up to `per_cluster` face ids of each cluster, best quality first."""
    with store.transaction() as conn:
        return person_store.cluster_sample_faces(conn, pack, per_cluster)


def face_thumbnail(store: Store, face_id: int) -> bytes | None:
    """A face's review thumbnail (None when the face or its file is gone); reads only inside
    the media root."""
    with store.transaction() as conn:
        rel_path = person_store.face_thumb_path(conn, face_id)
    if rel_path is None:
        return None
    root = store.media_root.resolve()
    path = (root / rel_path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path.read_bytes()
