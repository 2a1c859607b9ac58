"""What the asset checks and the UI read about the store: invariants and versions.

Each function returns plain numbers (ids and counts, never names: Dagster's event log is a
place a forgotten person's name could not be removed from).
"""

from __future__ import annotations

from face_assets import media
from face_assets.store import Store, listings
from face_assets.store import checks as check_queries
from face_assets.store import label_events as event_store
from face_assets.vision.packs import embedding_dim

NORM_TOLERANCE = 1e-3  # float32 ArcFace outputs normalise to within ~1e-6; 1e-3 flags real bugs


def labels_state(store: Store) -> dict:
    """The labels' version (changes with every labelling operation) and their counts."""
    with store.transaction() as conn:
        version = event_store.labels_version(conn)
        persons = listings.list_persons(conn)
    active = [p for p in persons if p["status"] == "active"]
    return {
        "version": version,
        "active_persons": len(active),
        "human_labelled_faces": sum(p["human"] for p in active),
    }


def embedding_violations(store: Store, pack: str) -> dict:
    with store.transaction() as conn:
        bad_norm, bad_dim, total = check_queries.embedding_shape_violations(
            conn, pack, embedding_dim(pack), NORM_TOLERANCE
        )
    return {"embeddings": total, "not_unit_norm": bad_norm, "wrong_dimension": bad_dim}


def missing_embeddings(store: Store, pack: str) -> dict[str, int]:
    """Faces without an embedding, per month."""
    with store.transaction() as conn:
        return check_queries.faces_missing_embedding(conn, pack)


def media_state(store: Store) -> media.MediaAudit:
    with store.transaction() as conn:
        face_files = check_queries.face_media(conn)
    return media.media_audit(store.media_root, face_files)


def quality_violations(store: Store, pack: str) -> dict:
    with store.transaction() as conn:
        out_of_range, unscored = check_queries.quality_violations(conn, pack)
    return {"out_of_range": out_of_range, "unscored_faces": unscored}


def prototype_violations(store: Store, pack: str) -> dict:
    with store.transaction() as conn:
        return check_queries.prototype_violations(conn, pack, NORM_TOLERANCE)


def assignment_violations(store: Store) -> dict:
    with store.transaction() as conn:
        return {
            "faces_on_inactive_persons": check_queries.faces_on_inactive_persons(conn),
            "photos_with_person_twice": check_queries.photos_with_repeated_person(conn, "auto"),
        }


def cluster_state(store: Store, pack: str) -> tuple[dict, list[int]]:
    """(violations, cluster sizes)."""
    with store.transaction() as conn:
        return (
            check_queries.cluster_violations(conn, pack),
            check_queries.cluster_sizes(conn, pack),
        )
