"""detected_faces, face_embeddings, face_quality and imported_face_tags (the names people
already gave, as human labels): the monthly face assets, and their checks."""

from functools import partial

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    Config,
    MaterializeResult,
    MetadataValue,
    asset_check,
)
from pydantic import Field

from face_assets.defaults import MIN_CONFIDENCE, MIN_FACE_SIZE, QUALITY_GATE
from face_assets.defs.assets.metadata import counts_table, histogram_table, percentiles, rate
from face_assets.defs.assets.monthly import monthly_asset, monthly_result
from face_assets.defs.assets.photos import raw_images
from face_assets.defs.resources import FaceModelsResource, FaceStoreResource, PhotoLibraryResource
from face_assets.services import (
    backfill,
    face_detection,
    face_embedding,
    face_scoring,
    inspection,
    month_work,
    tag_import,
)

# The monthly assets of the UI's "faces" group.
faces_asset = partial(monthly_asset, group_name="faces")


class DetectionConfig(Config):
    min_confidence: float = Field(
        default=MIN_CONFIDENCE, ge=0.0, le=1.0, description="SCRFD score a face needs to be kept"
    )
    min_face_size: int = Field(default=MIN_FACE_SIZE, ge=1, description="pixels, width and height")
    redetect: bool = Field(
        default=False, description="run detection again on images already detected by this pack"
    )
    limit: int | None = Field(
        default=None,
        ge=1,
        description="seed 002's backfill: detect only this many of the photos this pack has not"
        " detected yet (in id order, over every month; those of the run's months are done)",
    )
    offset: int = Field(default=0, ge=0, description="backfill: photos skipped before `limit`")


class QualityConfig(Config):
    rescore: bool = Field(
        default=False,
        description="score every face of the month again (default: only faces without a score;"
        " the score is deterministic, so re-runs and backfills skip finished work)",
    )


@faces_asset(
    deps=[raw_images],
    kinds={"onnx", "postgres"},
    model="detector",
    description="SCRFD faces of the month's images: box, 5 landmarks, score, aligned 112x112"
    " crop and a review thumbnail on disk. Undecodable images get their reason recorded.",
)
def detected_faces(
    context: AssetExecutionContext,
    config: DetectionConfig,
    face_models: FaceModelsResource,
    store: FaceStoreResource,
    library: PhotoLibraryResource,
) -> MaterializeResult:
    models = face_models.on_demand(context.log.info)  # loaded at the first photo to detect
    chosen = None
    if config.limit is not None:
        picked = backfill.selection(store.get(), models.pack, config.limit, config.offset)
        chosen = {i for month in context.partition_keys for i in picked.get(month, [])}
    stats = face_detection.detect_faces(
        models,
        store.get(),
        library.root_path,
        context.partition_keys,
        min_confidence=config.min_confidence,
        min_face_size=config.min_face_size,
        redetect=config.redetect,
        log=context.log.info,
        image_ids=chosen,
    )
    return monthly_result(
        context,
        {
            "images_processed": stats.images,
            "images_with_faces": stats.images_with_faces,
            "images_failed": sum(stats.failed.values()),
            "failures_by_reason": MetadataValue.md(counts_table(stats.failed, "reason")),
            "conversions": MetadataValue.md(counts_table(stats.notes, "note")),
            "faces": stats.faces,
            "faces_per_image": round(stats.faces / stats.images, 2) if stats.images else 0.0,
            "stale_faces_removed": stats.removed_faces,
            # Re-detection matches stored faces by box overlap (vision/matching.py).
            "faces_found_again": stats.refreshed_faces,
            "faces_new": stats.new_faces,
            "forgotten_faces_skipped": stats.suppressed_faces,
            "images_per_second": rate(stats.images, stats.seconds),
            "faces_per_second": rate(stats.faces, stats.seconds),
            "decode_seconds": round(stats.decode_seconds, 3),
            "detect_seconds": round(stats.detect_seconds, 3),
            "seconds": round(stats.seconds, 3),
            **face_models.run_metadata(models),
            **({} if chosen is None else {"backfill_photos_chosen": len(chosen)}),
        },
    )


@faces_asset(
    deps=[detected_faces],
    kinds={"onnx", "pgvector"},
    model="recognizer",
    description="L2-normalised embeddings of the month's faces from the run's model pack (its"
    " own width, e.g. 512 for buffalo_s, 128 for dlib_resnet; an HNSW cosine index per pack),"
    " computed in batches; each row records its model pack.",
)
def face_embeddings(
    context: AssetExecutionContext, face_models: FaceModelsResource, store: FaceStoreResource
) -> MaterializeResult:
    models = face_models.on_demand()  # loaded at the first face to embed
    stats = face_embedding.embed_faces(
        models,
        store.get(),
        context.partition_keys,
        batch_size=face_models.batch_size,
        log=context.log.info,
    )
    summaries = month_work.month_summaries(store.get(), models.pack, context.partition_keys)
    return monthly_result(
        context,
        {
            "faces_embedded_now": stats.faces,
            "faces_embedded_total": sum(s["embedded"] for s in summaries),
            "faces_total": sum(s["faces"] for s in summaries),
            "missing_crops": stats.missing_crops,
            "faces_per_second": rate(stats.faces, stats.seconds),
            "model_seconds": round(stats.model_seconds, 3),
            "seconds": round(stats.seconds, 3),
            "batch_size": face_models.batch_size,
            **face_models.run_metadata(models),
        },
    )


@faces_asset(
    deps=[detected_faces],
    kinds={"python", "postgres"},
    description="Quality in [0, 1] = 0.4 confidence + 0.3 size + 0.2 sharpness (Laplacian"
    " variance) + 0.1 frontal pose (yaw from landmarks), per face of the month.",
)
def face_quality(
    context: AssetExecutionContext,
    config: QualityConfig,
    face_models: FaceModelsResource,
    store: FaceStoreResource,
) -> MaterializeResult:
    stats = face_scoring.score_faces(
        store.get(),
        face_models.pack,
        context.partition_keys,
        only_unscored=not config.rescore,
        log=context.log.info,
    )
    values = face_scoring.month_quality_values(
        store.get(), face_models.pack, context.partition_keys
    )
    return monthly_result(
        context,
        {
            "faces_scored": stats.faces,
            "missing_crops": stats.missing_crops,
            "quality_histogram": MetadataValue.md(histogram_table(values)),
            f"faces_at_or_above_{QUALITY_GATE:g}": int((values >= QUALITY_GATE).sum()),
            **percentiles(values, "quality"),
            "faces_per_second": rate(stats.faces, stats.seconds),
            "seconds": round(stats.seconds, 3),
        },
    )


@faces_asset(
    deps=[face_embeddings, face_quality],
    kinds={"python", "postgres"},
    model="recognizer",  # it embeds the imported faces
    description="Face names people already gave (XMP MWG / Microsoft Photo regions, embedded"
    " or in sidecars; Picasa's .picasa.ini) as human labels of the month's faces; a region"
    " no detected face overlaps becomes an imported face, embedded from its crop.",
)
def imported_face_tags(
    context: AssetExecutionContext,
    face_models: FaceModelsResource,
    store: FaceStoreResource,
    library: PhotoLibraryResource,
) -> MaterializeResult:
    models = face_models.on_demand()  # loaded at the first new tag region
    stats = tag_import.import_tags(
        models, store.get(), library.root_path, list(context.partition_keys)
    )
    return monthly_result(
        context,
        {
            **{k: v for k, v in stats.metadata().items() if k != "unreadable"},
            "unreadable": sum(stats.unreadable.values()),
            "unreadable_by_reason": MetadataValue.md(counts_table(stats.unreadable, "reason")),
        },
    )


@asset_check(asset=face_embeddings, description="Embeddings are unit-norm and of the pack's width.")
def embeddings_unit_norm(
    face_models: FaceModelsResource, store: FaceStoreResource
) -> AssetCheckResult:
    found = inspection.embedding_violations(store.get(), face_models.pack)
    return AssetCheckResult(
        passed=found["not_unit_norm"] == 0 and found["wrong_dimension"] == 0, metadata=found
    )


@asset_check(
    asset=face_embeddings,
    description="No face of an embedded month is left without an embedding.",
)
def every_face_embedded(
    face_models: FaceModelsResource, store: FaceStoreResource
) -> AssetCheckResult:
    missing = inspection.missing_embeddings(store.get(), face_models.pack)
    return AssetCheckResult(
        passed=not missing,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "faces_without_embedding": sum(missing.values()),
            "months": ", ".join(missing) or "none (every month's faces are embedded)",
        },
    )


@asset_check(
    asset=detected_faces,
    description="Every face row has its crop and thumbnail on disk, and no crop is orphaned.",
)
def face_files_present(store: FaceStoreResource) -> AssetCheckResult:
    audit = inspection.media_state(store.get())
    missing = len(audit.faces_without_files)
    return AssetCheckResult(
        passed=missing == 0,
        severity=AssetCheckSeverity.ERROR if missing else AssetCheckSeverity.WARN,
        metadata={
            "face_files": audit.files,
            "faces_missing_files": missing,
            "orphan_files": len(audit.files_without_faces),
        },
    )


@asset_check(asset=face_quality, description="Qualities lie in [0, 1] and every face is scored.")
def quality_in_range(face_models: FaceModelsResource, store: FaceStoreResource) -> AssetCheckResult:
    found = inspection.quality_violations(store.get(), face_models.pack)
    return AssetCheckResult(passed=not any(found.values()), metadata=found)


CHECKS = [embeddings_unit_norm, every_face_embedded, face_files_present, quality_in_range]

ASSETS = [detected_faces, face_embeddings, face_quality, imported_face_tags]
