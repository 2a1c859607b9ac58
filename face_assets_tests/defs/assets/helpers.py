"""Building small real-photo libraries and running the face assets through Dagster."""

from __future__ import annotations

import io
import os
import warnings
from datetime import datetime
from pathlib import Path

from PIL import Image

from face_assets.sample_library import exif_bytes


def dated_copy(source: Path, target: Path, taken_at: datetime, orientation: int | None = None):
    """Re-save a real photo with an EXIF DateTimeOriginal (and optionally a rotation)."""
    img = Image.open(source)
    img = img.convert("RGB")
    if orientation == 6:
        img = img.transpose(Image.Transpose.ROTATE_90)
    target.parent.mkdir(parents=True, exist_ok=True)
    img.save(target, "JPEG", quality=92, exif=exif_bytes(taken_at, orientation))
    return target


def dated_library(root: Path, photos: list[tuple[Path, str, datetime]]) -> Path:
    """A photo library at root: each (real photo, path in the library, when taken) as a
    dated_copy; returns root."""
    for source, rel_path, taken_at in photos:
        dated_copy(source, root / rel_path, taken_at)
    return root


def jpeg_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92)
    return buf.getvalue()


def set_mtime(path: Path, moment: datetime) -> None:
    stamp = moment.timestamp()
    os.utime(path, (stamp, stamp), follow_symlinks=False)


def store_resource(store):
    """The Dagster resource that hands out this plain Store."""
    from face_assets.defs.resources import FaceStoreResource

    return FaceStoreResource(database_url=store.database_url, home=str(store.home_path))


def run_months(store, library_root: Path, months: list[str], **extra_resources):
    """Materialize the face assets and their checks for each month, in process."""
    from dagster import materialize

    from face_assets.defs.assets.faces import CHECKS as FACE_CHECKS
    from face_assets.defs.jobs import INGEST_ASSETS as FACE_ASSETS
    from face_assets.defs.resources import FaceModelsResource, PhotoLibraryResource

    resources = {
        "face_models": FaceModelsResource(),
        "store": store_resource(store),
        "library": PhotoLibraryResource(root=str(library_root)),
        **extra_resources,
    }
    results = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for month in months:
            result = materialize(
                [*FACE_ASSETS, *FACE_CHECKS], resources=resources, partition_key=month
            )
            assert result.success
            results.append(result)
    return results


def metadata_of(result, asset_name: str) -> dict:
    for event in result.get_asset_materialization_events():
        if event.asset_key.path[-1] == asset_name:
            return {k: v.value for k, v in event.materialization.metadata.items()}
    raise KeyError(asset_name)


def checks_of(result) -> dict[str, bool]:
    return {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
