"""What the runs ask about months: which hold new work or new faces, their face counts for run
metadata, and the library's first month (the partitions start there)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from face_assets.store import Store
from face_assets.store import faces as face_store
from face_assets.store import images as image_store


def month_summaries(store: Store, pack: str, months: Iterable[str]) -> list[dict]:
    """Faces and embedded faces per month, for run metadata."""
    with store.transaction() as conn:
        return [face_store.month_face_summary(conn, m, pack) for m in months]


def months_with_new_faces(store: Store, pack: str, since: datetime) -> list[str]:
    """Months that received faces since a moment (what a nightly assignment run covers)."""
    with store.transaction() as conn:
        return image_store.months_with_new_faces(conn, pack, since)


def months_with_new_work(store: Store, pack: str, months: Iterable[str]) -> list[str]:
    """The months an ingest run would change: files readable but not registered, photos
    this pack has not detected, faces without an embedding or a quality. The others are
    said to hold nothing new at once, instead of after a run that finds nothing to do."""
    months = list(months)
    with store.transaction() as conn:
        pending = image_store.months_with_pending_work(conn, pack, months)
    return [month for month in months if month in pending]


def first_library_month(store: Store) -> str | None:
    """The library's first month as the scans filed it; None when nothing was scanned yet,
    or when there is no store to ask (an embedded one never created: nothing ingested)."""
    if store.database_url is None and not (store.home_path / "pgdata").is_dir():
        return None
    with store.transaction() as conn:
        return image_store.first_file_month(conn)
