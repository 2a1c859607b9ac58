"""The People app's photos: photos of several persons (by date and face count, some persons
excluded), one photo with its not-a-face marks, its upright pixels, and cached previews
(which forgetting deletes with the person's faces)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np

from face_assets import media
from face_assets.library import content_hash, read_library_file
from face_assets.services.face_removal import NOT_A_FACE_UNDO
from face_assets.store import Store
from face_assets.store import not_a_face as not_a_face_store
from face_assets.store import person_photos as person_photo_store
from face_assets.vision.decode import decode_image
from face_assets.vision.faces import encode_jpeg


def photo_with_pixels(store: Store, library_root: Path, image_id: int) -> tuple[dict, np.ndarray]:
    """A registered photo's row and its upright pixels, read from the library only while it
    holds the content that was scanned (LookupError, ValueError, ImageRejected)."""
    with store.transaction() as conn:
        found = person_photo_store.photo(conn, image_id)
    if found is None:
        raise LookupError(f"no asset {image_id}")
    data = read_library_file(library_root, found["rel_path"])
    if content_hash(data) != found["sha256"]:
        raise ValueError(f"{found['rel_path']} changed since it was scanned: re-run ingest first")
    return found, decode_image(data).bgr


def photos_of(
    store: Store,
    pack: str,
    persons: list[int],
    exclude: list[int] = (),
    taken_from: datetime | None = None,
    taken_to: datetime | None = None,
    min_faces: int | None = None,
    max_faces: int | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[dict], int]:
    """Photos with all of `persons` and none of `exclude`, newest first, a page, with who is
    in each; merged persons count as the person they were merged into."""
    if min_faces is not None and max_faces is not None and min_faces > max_faces:
        raise ValueError(f"minFaces {min_faces} is above maxFaces {max_faces}")
    with store.transaction() as conn:
        wanted = person_photo_store.resolve_persons(conn, list(persons))
        unwanted = person_photo_store.resolve_persons(conn, list(exclude))
        if set(wanted) & set(unwanted):
            raise ValueError("a person cannot be both wanted and excluded")
        rows, total = person_photo_store.photos_of(
            conn, pack, wanted, unwanted, taken_from, taken_to, min_faces, max_faces,
            limit, offset,
        )  # fmt: skip
        named = person_photo_store.photo_persons(conn, [r["id"] for r in rows])
    for row in rows:
        row["persons"] = named.get(row["id"], [])
    return rows, total


def photo_detail(store: Store, image_id: int) -> dict:
    """A photo's row with its not-a-face marks (what the photo page can undo)."""
    with store.transaction() as conn:
        found = person_photo_store.photo(conn, image_id)
        if found is None:
            raise LookupError(f"no asset {image_id}")
        marks = not_a_face_store.not_a_face_tombstones(conn, image_id)
    now = datetime.now().astimezone()
    found["marks"] = [m for m in marks if now - m["created_at"] <= NOT_A_FACE_UNDO]
    return found


def photo_pixels(store: Store, library_root: Path, image_id: int) -> np.ndarray:
    """The upright pixels of a registered photo (ImageRejected, LookupError, ValueError)."""
    return photo_with_pixels(store, library_root, image_id)[1]


PREVIEW_SIDES = (320, 1600)  # a photo grid's preview and the photo page's picture (pixels)


def _preview_path(sha256: str, side: int) -> str:
    return f"previews/{sha256[:2]}/{sha256}_{side}.jpg"


def person_previews(conn, person_id: int) -> list[str]:
    """The cached previews of a person's photos: forgetting deletes them with the faces."""
    return [
        _preview_path(sha, side)
        for sha in person_photo_store.person_photo_hashes(conn, person_id)
        for side in PREVIEW_SIDES
    ]


def photo_preview(store: Store, library_root: Path, image_id: int, side: int) -> bytes:
    """The photo upright as JPEG, at most `side` pixels wide or high, cached under the media
    root by content hash (a photo grid would otherwise decode every photo on every view)."""
    import cv2

    if side not in PREVIEW_SIDES:
        raise ValueError(f"a preview is {' or '.join(map(str, PREVIEW_SIDES))} pixels")
    with store.transaction() as conn:
        found = person_photo_store.photo(conn, image_id)
    if found is None:
        raise LookupError(f"no asset {image_id}")
    rel_path = _preview_path(found["sha256"], side)
    try:
        return media.read_media(store.media_root, rel_path)
    except OSError:
        pass
    bgr = photo_with_pixels(store, library_root, image_id)[1]
    scale = side / max(bgr.shape[:2])
    if scale < 1:
        size = (max(1, round(bgr.shape[1] * scale)), max(1, round(bgr.shape[0] * scale)))
        bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
    data = encode_jpeg(bgr)
    media.write_media(store.media_root, rel_path, data)
    return data
