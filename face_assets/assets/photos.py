"""raw_images: register the library's photos of each month, one row per distinct content."""

import time
from collections import Counter

from dagster import (
    AssetExecutionContext,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
)

from face_assets.assets.metadata import counts_table
from face_assets.library import scan_library
from face_assets.partitions import monthly_partitions, partition_month
from face_assets.resources import FaceStoreResource, PhotoLibraryResource
from face_assets.store import images as image_store


@asset(
    partitions_def=monthly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name="photos",
    kinds={"python", "postgres"},
    description="Photos of the month (EXIF DateTimeOriginal, else file time): path, sha256,"
    " size, dimensions, status ('ok' or the reason it can't be used). Same content = one row.",
)
def raw_images(
    context: AssetExecutionContext, library: PhotoLibraryResource, store: FaceStoreResource
) -> MaterializeResult:
    started = time.perf_counter()
    months = set(context.partition_keys)
    keys = monthly_partitions.get_partition_keys()
    first, last = keys[0], keys[-1]

    def month_of(moment):
        return partition_month(moment, first, last)

    with store.transaction() as conn:
        cache = image_store.cached_files(conn)
    scanned = list(scan_library(library.root_path, cache, month_of, wanted_months=months))
    files = [s.file for s in scanned]
    wanted = [s.image for s in scanned if s.image is not None and s.image.month in months]
    # Two paths with the same content in one scan register once.
    unique = list({img.sha256: img for img in wanted}.values())
    with store.transaction() as conn:
        # Only this run's months enter the file cache: a new photo of another month stays
        # "new" for the upload sensor until that month's own run registers it.
        image_store.upsert_files(conn, [f for f in files if f.month in months])
        removed = image_store.forget_missing_files(conn, {f.rel_path for f in files})
        new, known = image_store.register_images(conn, unique)
        statuses: Counter[str] = Counter()
        refused: Counter[str] = Counter()
        for month in months:
            statuses += image_store.month_image_counts(conn, month)
            refused += image_store.month_file_problems(conn, month)
    elapsed = time.perf_counter() - started
    failed = {k: v for k, v in statuses.items() if k != "ok"}
    in_months = [f for f in files if f.month in months]
    context.log.info(
        f"{len(in_months)} files in {sorted(months)}: {statuses.get('ok', 0)} images ok,"
        f" failed {failed or 'none'}, refused {dict(refused) or 'none'}"
    )
    return MaterializeResult(
        metadata={
            "months": ", ".join(sorted(months)),
            "files_scanned": len(files),
            "files_in_months": len(in_months),
            "images_ok": statuses.get("ok", 0),
            "images_failed": sum(failed.values()),
            "files_refused": sum(refused.values()),
            "new_images": new,
            "already_registered": known,
            "duplicate_paths": len(wanted) - len(unique),
            "files_gone_from_library": removed,
            "failures_by_reason": MetadataValue.md(counts_table({**failed, **refused}, "reason")),
            "seconds": round(elapsed, 3),
            "files_per_second": round(len(files) / elapsed, 1) if elapsed else 0.0,
        }
    )
