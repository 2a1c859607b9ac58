"""The faces export of seed 004: faces.jsonl, faces.npy (same row order) and optional crops.

Written streamed: each face's line goes out as it comes and its embedding to a raw float32
spool, turned into the .npy at the end, so exporting a whole library holds one face in memory.
The JSON Schema of a line is face_assets/schemas/faces.schema.json.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

FACES_SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "faces.schema.json"
FACES_JSONL = "faces.jsonl"  # seed 004, section 6.1
FACES_NPY = "faces.npy"  # seed 004, section 6.2
REJECTED_JSONL = "faces_rejected.jsonl"  # ours: rejected faces have no embedding, no npy row
CROPS_DIR = "crops"  # seed 004, section 6.3
NPY_COPY_ROWS = 4096  # rows per block copied from the spool into faces.npy (8 MB at 512-d)


def face_label(face_id: int) -> str:
    return f"face-{face_id:05d}"  # seed 004: "face-00001"


def track_label(track_id: int | None) -> str | None:
    return None if track_id is None else f"track-{track_id:05d}"  # seed 004: "track-00001"


def crop_relpath(face_id: int, track_id: int | None, frame_idx: int) -> str:
    """Seed 004's crops/{track_id}/frame_{frame_idx:06d}.jpg; a photo's face (no track) goes to
    crops/photos/face-NNNNN.jpg."""
    if track_id is None:
        return f"{CROPS_DIR}/photos/{face_label(face_id)}.jpg"
    return f"{CROPS_DIR}/{track_label(track_id)}/frame_{frame_idx:06d}.jpg"


@dataclass
class ExportFace:
    """One face to export, in pixels of its upright frame or photo."""

    face_id: int
    track_id: int | None
    frame_idx: int
    bbox: tuple[float, float, float, float]
    landmarks: np.ndarray  # (5, 2)
    width: int  # of the frame or photo, to normalise
    height: int
    quality: float
    embedding: np.ndarray | None
    source_path: str
    time_s: float | None = None
    rejection_reason: str | None = None
    name: str | None = None
    crop_jpeg: Callable[[], bytes | None] | None = None  # thumb_size JPEG, read only if saved


@dataclass(frozen=True)
class ExportSummary:
    faces: int
    rejected: int
    crops: int
    dim: int
    out_dir: Path


def _clamp01(v: float) -> float:
    return float(min(1.0, max(0.0, v)))


def face_line(face: ExportFace, crop_path: str, with_names: bool) -> dict:
    w, h = max(1, face.width), max(1, face.height)
    x1, y1, x2, y2 = face.bbox
    lm = np.asarray(face.landmarks, dtype=np.float64).reshape(5, 2) / np.array([w, h])
    line = {
        "face_id": face_label(face.face_id),
        "track_id": track_label(face.track_id),
        "frame_idx": int(face.frame_idx),
        "bbox": [_clamp01(x1 / w), _clamp01(y1 / h), _clamp01(x2 / w), _clamp01(y2 / h)],
        "landmarks": [round(float(v), 6) for v in lm.reshape(-1)],
        "embedding": None
        if face.embedding is None
        else [round(float(v), 7) for v in np.asarray(face.embedding).reshape(-1)],
        "quality_score": round(_clamp01(face.quality), 6),
        "crop_path": crop_path,
        "source_path": face.source_path,
        "time_s": None if face.time_s is None else round(float(face.time_s), 3),
    }
    if face.rejection_reason is not None:
        line["rejection_reason"] = face.rejection_reason
    if with_names:
        line["name"] = face.name
    return line


def write_export(
    out_dir: Path | str,
    faces: Iterable[ExportFace],
    save_crops: bool = False,
    with_names: bool = False,
    rejected: Iterable[ExportFace] = (),
    dim: int | None = None,
) -> ExportSummary:
    """Write faces.jsonl + faces.npy (+ crops/) for faces that have an embedding, and, when
    rejected faces are given, faces_rejected.jsonl with each one's rejection_reason.
    faces.npy is as wide as the rows (all of one width); `dim`, the pack's width, is checked
    against them and gives an export without rows its shape (0, dim). Nothing assumes 512."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    spool_path = out / ".faces.f32"
    count = crops = 0
    expected = dim
    dim = 0
    with (out / FACES_JSONL).open("w") as lines, spool_path.open("wb") as spool:
        for face in faces:
            if face.embedding is None:
                raise ValueError(f"face {face.face_id} has no embedding: export it as rejected")
            emb = np.asarray(face.embedding, dtype=np.float32).reshape(-1)
            norm = float(np.linalg.norm(emb))
            emb = emb / max(norm, 1e-12)
            if dim and emb.shape[0] != dim:
                raise ValueError("faces of different embedding sizes cannot share one faces.npy")
            if expected and emb.shape[0] != expected:
                raise ValueError(
                    f"face {face.face_id} has {emb.shape[0]} values; the pack's have {expected}"
                )
            dim = emb.shape[0]
            crop_path = ""
            if save_crops and face.crop_jpeg is not None:
                data = face.crop_jpeg()
                if data:
                    crop_path = crop_relpath(face.face_id, face.track_id, face.frame_idx)
                    target = out / crop_path
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
                    crops += 1
            face.embedding = emb
            lines.write(json.dumps(face_line(face, crop_path, with_names)) + "\n")
            spool.write(emb.tobytes())
            count += 1
    if not dim:
        if not expected:
            raise ValueError("an export without faces needs the pack's width (dim)")
        dim = expected
    matrix = np.lib.format.open_memmap(
        out / FACES_NPY, mode="w+", dtype=np.float32, shape=(count, dim)
    )
    with spool_path.open("rb") as spool:
        for start in range(0, count, NPY_COPY_ROWS):
            rows = min(NPY_COPY_ROWS, count - start)
            block = np.frombuffer(spool.read(rows * dim * 4), dtype=np.float32)
            matrix[start : start + rows] = block.reshape(rows, dim)
    matrix.flush()
    del matrix
    spool_path.unlink()
    n_rejected = 0
    rejected = list(rejected)
    if rejected:
        with (out / REJECTED_JSONL).open("w") as lines:
            for face in rejected:
                face.embedding = None
                lines.write(json.dumps(face_line(face, "", with_names)) + "\n")
                n_rejected += 1
    return ExportSummary(count, n_rejected, crops, dim, out)


def faces_schema() -> dict:
    return json.loads(FACES_SCHEMA.read_text())


def _same_named(face: object) -> dict:
    """The ExportFace fields another face object holds under the same names (a harvested
    face's track, frame, box, landmarks, quality, embedding, time and rejection), as they are:
    one rule instead of a copy of each field."""
    return {f.name: getattr(face, f.name) for f in fields(ExportFace) if hasattr(face, f.name)}


def harvest_faces(result, source_path: str, first_face_id: int = 1) -> tuple[list, list]:
    """(kept, rejected) ExportFaces of one harvested clip (vision/harvest.HarvestResult), face
    ids numbered in frame order from first_face_id (kept first, then rejected)."""
    width, height = result.info.width, result.info.height

    def export_face(face, face_id: int) -> ExportFace:
        thumb = face.thumb_file
        return ExportFace(
            **_same_named(face),
            face_id=face_id,
            width=width,
            height=height,
            source_path=source_path,
            crop_jpeg=(lambda t=thumb: t.read_bytes()) if thumb is not None else None,
        )

    kept = [export_face(f, first_face_id + i) for i, f in enumerate(result.faces)]
    start = first_face_id + len(kept)
    rejected = [export_face(f, start + i) for i, f in enumerate(result.rejected)]
    return kept, rejected
