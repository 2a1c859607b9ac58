"""Seed 004's faces export of what the store holds: one clip, a month or the whole library
(photos too), streamed from the store into services/exports.py's writer, which knows the
format and nothing of the store."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from face_assets import media
from face_assets.services import exports
from face_assets.store import Store
from face_assets.store import face_exports as export_store
from face_assets.vision.packs import embedding_dim


def export_faces(
    store: Store,
    out_dir: Path,
    pack: str,
    video: str | None = None,
    month: str | None = None,
    save_crops: bool = False,
    with_names: bool = False,
    include_photos: bool = True,
) -> exports.ExportSummary:
    """faces.jsonl + faces.npy (+ crops) of one clip (--video), a month or the whole library.
    Photos export too (track_id null, frame_idx 0) unless one clip is asked for."""
    media_root = store.media_root

    def faces():
        with store.transaction() as conn:
            for row in export_store.export_rows(conn, pack, rel_path=video, month=month):
                yield exports.ExportFace(
                    face_id=row.face_id, track_id=row.track_id, frame_idx=row.frame_idx,
                    bbox=tuple(row.bbox), landmarks=np.asarray(row.landmarks).reshape(5, 2),
                    width=row.width, height=row.height, quality=row.quality,
                    embedding=row.embedding, source_path=row.rel_path, time_s=row.time_s,
                    name=row.person_name,
                    crop_jpeg=lambda p=row.thumb_path: media.read_media(media_root, p),
                )  # fmt: skip
            if video is not None or not include_photos:
                return
            for r in export_store.photo_export_rows(conn, pack, month):
                yield exports.ExportFace(
                    face_id=int(r[0]), track_id=None, frame_idx=0, bbox=tuple(r[1]),
                    landmarks=np.asarray(r[2]).reshape(5, 2), width=int(r[7] or 1),
                    height=int(r[8] or 1), quality=float(r[3]),
                    embedding=r[4], source_path=r[6], name=r[9],
                    crop_jpeg=None,
                )  # fmt: skip

    out_dir = Path(out_dir)
    if out_dir.exists() and (out_dir / exports.FACES_JSONL).exists():
        shutil.rmtree(out_dir / exports.CROPS_DIR, ignore_errors=True)
    return exports.write_export(
        out_dir, faces(), save_crops=save_crops, with_names=with_names, dim=embedding_dim(pack)
    )
