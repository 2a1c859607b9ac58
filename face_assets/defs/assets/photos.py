"""raw_images: register the library's photos of each month, one row per distinct content."""

from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
)

from face_assets.defs.assets.metadata import counts_table, rate
from face_assets.defs.assets.monthly import monthly_asset, monthly_result
from face_assets.defs.partitions import partition_of
from face_assets.defs.resources import FaceStoreResource, PhotoLibraryResource
from face_assets.services import registration


@monthly_asset(
    group_name="photos",
    kinds={"python", "postgres"},
    description="Photos of the month (EXIF DateTimeOriginal, else file time): path, sha256,"
    " size, dimensions, status ('ok' or the reason it can't be used). Same content = one row.",
)
def raw_images(
    context: AssetExecutionContext, library: PhotoLibraryResource, store: FaceStoreResource
) -> MaterializeResult:
    months = sorted(context.partition_keys)
    stats = registration.register_months(
        store.get(), library.root_path, months, partition_of, log=context.log.info
    )
    failed = {k: v for k, v in stats.statuses.items() if k != "ok"}
    context.log.info(
        f"{stats.files_in_months} files in {months}: {stats.statuses.get('ok', 0)} images ok,"
        f" failed {failed or 'none'}, refused {dict(stats.refused) or 'none'}"
    )
    return monthly_result(
        context,
        {
            "files_scanned": stats.files_scanned,
            "files_in_months": stats.files_in_months,
            "images_ok": stats.statuses.get("ok", 0),
            "images_failed": sum(failed.values()),
            "files_refused": sum(stats.refused.values()),
            "new_images": stats.new_images,
            "already_registered": stats.already_registered,
            "duplicate_paths": stats.duplicate_paths,
            "files_gone_from_library": stats.files_gone,
            "failures_by_reason": MetadataValue.md(
                counts_table({**failed, **stats.refused}, "reason")
            ),
            "seconds": round(stats.seconds, 3),
            "files_per_second": rate(stats.files_scanned, stats.seconds),
        },
    )


ASSETS = [raw_images]
CHECKS: list = []
