"""Housekeeping: the database's schema and embedded server, faces without embeddings or
files, and files without faces (the CLI's `db` and `find-orphans` verbs)."""

from __future__ import annotations

from face_assets import media
from face_assets.store import Store, db
from face_assets.store import checks as check_queries
from face_assets.store import faces as face_store


def find_orphans(store: Store, pack: str, fix: bool = False) -> dict:
    """Faces without embeddings (in any month), face rows without files, files without face
    rows."""
    with store.transaction() as conn:
        missing_embeddings = check_queries.faces_without_any_embedding(conn, pack)
        never_embedded = check_queries.months_without_embeddings(conn, pack)
        audit = media.media_audit(store.media_root, check_queries.face_media(conn))
        if fix and audit.faces_without_files:
            face_store.forget_detections_of(conn, audit.faces_without_files)
    deleted = media.delete_media(store.media_root, audit.files_without_faces) if fix else 0
    return {
        # Every month, also those no embedding run has finished once (run ingest again).
        "faces_without_embedding": sum(missing_embeddings.values()),
        "months_never_embedded": never_embedded,
        "face_rows_without_files": len(audit.faces_without_files),
        "files_without_face_rows": len(audit.files_without_faces),
        "fixed": fix,
        "files_deleted": deleted,
        "faces_queued_for_redetection": len(audit.faces_without_files) if fix else 0,
    }


def migrate(store: Store) -> list[int]:
    """Apply the migrations the store's database lacks; returns their numbers."""
    return db.migrate(store.url())


def stop_embedded_server(store: Store) -> bool:
    """Stop the embedded PostgreSQL under the store's home if it runs (True when one was
    stopped); an external server is never touched."""
    return db.stop_embedded_server(store.home_path / "pgdata")
