"""Housekeeping: the database's schema and embedded server, faces without embeddings or
files, and files without faces (the CLI's `db` and `find-orphans` verbs)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from face_assets import media
from face_assets.errors import StoreUnavailableError
from face_assets.store import Store, db
from face_assets.store import checks as check_queries
from face_assets.store import faces as face_store

if TYPE_CHECKING:  # the models (onnxruntime) load only for a re-detection, not for `db url`
    from face_assets.vision.models import FaceModels

ORPHAN_SAMPLES = 10  # orphaned faces named one by one in the report ("... and N more")


def database_reachable(store: Store) -> bool:
    """Whether the database answers a round trip (the HTTP app's /health)."""
    try:
        with store.transaction() as conn:
            db.ping(conn)
    except StoreUnavailableError:
        return False
    return True


def find_orphans(
    store: Store,
    pack: str,
    fix: bool = False,
    limit: int | None = None,
    models: FaceModels | None = None,
    library_root: Path | None = None,
) -> dict:
    """Seed 002's orphans: faces without an embedding (its Qdrant point), among the pack's
    newest `limit` faces (None: every face; the seed's default is 100, ours all: the check
    is one anti-join), with their photos; and ours: face rows without files, files without
    face rows. `fix` deletes stray files, queues file-less faces for detection and, given
    the models, re-detects the orphans' photos now (a face found again keeps its id)."""
    if limit is not None and limit < 1:
        raise ValueError(f"--limit {limit}: check at least 1 face")
    with store.transaction() as conn:
        checked, orphans = check_queries.recent_faces_without_embedding(conn, pack, limit)
        missing_embeddings = check_queries.faces_without_any_embedding(conn, pack)
        never_embedded = check_queries.months_without_embeddings(conn, pack)
        audit = media.media_audit(store.media_root, check_queries.face_media(conn))
        if fix and audit.faces_without_files:
            face_store.forget_detections_of(conn, audit.faces_without_files)
    deleted = media.delete_media(store.media_root, audit.files_without_faces) if fix else 0
    per_asset = Counter(image_id for _, image_id, _ in orphans)
    found = {
        "faces_checked": checked,
        "orphaned_faces": len(orphans),
        "sample_orphans": [
            {"face_id": f, "asset_id": i, "month": m} for f, i, m in orphans[:ORPHAN_SAMPLES]
        ],
        "affected_assets": dict(per_asset.most_common()),
        # Every month, also those no embedding run has finished once (run ingest again).
        "faces_without_embedding": sum(missing_embeddings.values()),
        "months_never_embedded": never_embedded,
        "face_rows_without_files": len(audit.faces_without_files),
        "files_without_face_rows": len(audit.files_without_faces),
        "fixed": fix,
        "files_deleted": deleted,
        "faces_queued_for_redetection": len(audit.faces_without_files) if fix else 0,
    }
    if fix and models is not None and per_asset:
        if library_root is None:
            raise ValueError("re-detection needs the photo library (FACE_ASSETS_LIBRARY)")
        from face_assets.services import backfill

        by_month: dict[str, set[int]] = {}
        for _, image_id, month in orphans:
            by_month.setdefault(month, set()).add(image_id)
        done = backfill.detect_images(models, store, library_root, by_month, redetect=True)
        found["redetection"] = {
            "assets_processed": done.processed,
            "errors": done.errors,
            "errors_by_reason": done.errors_by_reason,
            "faces_redetected": done.total_faces,
            "faces_embedded": done.embedded,
        }
    return found


def migrate(store: Store) -> list[int]:
    """Apply the migrations the store's database lacks; returns their numbers."""
    return db.migrate(store.url())


def stop_embedded_server(store: Store) -> bool:
    """Stop the embedded PostgreSQL under the store's home if it runs (True when one was
    stopped); an external server is never touched."""
    return db.stop_embedded_server(store.home_path / "pgdata")
