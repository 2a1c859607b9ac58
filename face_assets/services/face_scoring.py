"""Quality scoring: the four parts of every face's quality (confidence, size, blur, pose) from
its box, stored crop and landmarks, and the month's values the face_quality asset reports."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from face_assets.services import stored_crops
from face_assets.services.progress import Log
from face_assets.store import Store
from face_assets.store import faces as face_store
from face_assets.vision.quality import quality_parts


def score_faces(
    store: Store,
    pack: str,
    months: Iterable[str],
    only_unscored: bool = True,
    log: Log | None = None,
) -> stored_crops.CropPassStats:
    """Quality of every face of the months (all four parts), from its box, crop and landmarks;
    its figures are a crop pass's own (scoring adds none)."""
    stats = stored_crops.CropPassStats()
    to_score = stored_crops.CropPass(
        verb="score",
        asset="face_quality",
        pending=lambda conn, month: face_store.faces_of_month(conn, month, pack, only_unscored),
        crop_path=lambda face: face.crop_path,
    )
    for found in stored_crops.months_crops_by_chunk(store, months, to_score, stats, log):
        rows = []
        for face, crop in found:
            x1, y1, x2, y2 = face.bbox
            parts = quality_parts(face.det_score, x2 - x1, y2 - y1, crop, face.landmarks)
            rows.append((face.face_id, *parts.values()))
        with store.transaction() as conn:
            face_store.store_quality(conn, rows)
        stats.faces += len(rows)
    return stats


def month_quality_values(store: Store, pack: str, months: Iterable[str]) -> np.ndarray:
    with store.transaction() as conn:
        values = [face_store.month_qualities(conn, m, pack) for m in sorted(set(months))]
    return np.concatenate(values) if values else np.zeros(0)
