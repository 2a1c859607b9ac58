"""detected_faces, face_embeddings, face_quality: the monthly face assets."""

from dagster import (
    AssetExecutionContext,
    BackfillPolicy,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from face_assets import pipeline
from face_assets.assets.metadata import counts_table, histogram_table, percentiles
from face_assets.assets.photos import raw_images
from face_assets.deployment import MODEL_OP_TAGS, MODEL_POOL
from face_assets.partitions import monthly_partitions
from face_assets.resources import FaceModelsResource, FaceStoreResource, PhotoLibraryResource
from face_assets.store import faces as face_store
from face_assets.vision.faces import MIN_CONFIDENCE, MIN_FACE_SIZE

# One run per backfill: the models load once for all its months instead of once per month.
HEAVY_BACKFILL = BackfillPolicy.single_run()


class DetectionConfig(Config):
    min_confidence: float = Field(default=MIN_CONFIDENCE, ge=0.0, le=1.0)
    min_face_size: int = Field(default=MIN_FACE_SIZE, ge=1, description="pixels, width and height")
    redetect: bool = Field(
        default=False, description="run detection again on images already detected by this pack"
    )


class QualityConfig(Config):
    rescore: bool = Field(
        default=False,
        description="score every face of the month again (default: only faces without a score;"
        " the score is deterministic, so re-runs and backfills skip finished work)",
    )


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 2) if seconds > 0 else 0.0


@asset(
    deps=[raw_images],
    partitions_def=monthly_partitions,
    backfill_policy=HEAVY_BACKFILL,
    group_name="faces",
    kinds={"onnx", "postgres"},
    tags={"face_assets/model": "detector"},
    op_tags=MODEL_OP_TAGS,
    pool=MODEL_POOL,
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
    models = face_models.load()
    context.log.info(f"pack {models.pack} on {models.providers}")
    stats = pipeline.detect_faces(
        models,
        store,
        library.root_path,
        context.partition_keys,
        min_confidence=config.min_confidence,
        min_face_size=config.min_face_size,
        redetect=config.redetect,
        log=context.log.info,
    )
    return MaterializeResult(
        metadata={
            "months": ", ".join(context.partition_keys),
            "images_processed": stats.images,
            "images_with_faces": stats.images_with_faces,
            "images_failed": sum(stats.failed.values()),
            "failures_by_reason": MetadataValue.md(counts_table(stats.failed, "reason")),
            "conversions": MetadataValue.md(counts_table(stats.notes, "note")),
            "faces": stats.faces,
            "faces_per_image": round(stats.faces / stats.images, 2) if stats.images else 0.0,
            "stale_faces_removed": stats.removed_faces,
            "images_per_second": _rate(stats.images, stats.seconds),
            "faces_per_second": _rate(stats.faces, stats.seconds),
            "decode_seconds": round(stats.decode_seconds, 3),
            "detect_seconds": round(stats.detect_seconds, 3),
            "seconds": round(stats.seconds, 3),
            "model_pack": models.pack,
            "providers": ", ".join(models.providers),
        }
    )


@asset(
    deps=[detected_faces],
    partitions_def=monthly_partitions,
    backfill_policy=HEAVY_BACKFILL,
    group_name="faces",
    kinds={"onnx", "pgvector"},
    tags={"face_assets/model": "recognizer"},
    op_tags=MODEL_OP_TAGS,
    pool=MODEL_POOL,
    description="ArcFace 512-d L2-normalised embeddings of the month's faces (vector(512),"
    " HNSW cosine index), computed in batches; each row records its model pack.",
)
def face_embeddings(
    context: AssetExecutionContext, face_models: FaceModelsResource, store: FaceStoreResource
) -> MaterializeResult:
    models = face_models.load()
    stats = pipeline.embed_faces(
        models,
        store,
        context.partition_keys,
        batch_size=face_models.batch_size,
        log=context.log.info,
    )
    with store.transaction() as conn:
        summaries = [
            face_store.month_face_summary(conn, m, models.pack) for m in context.partition_keys
        ]
    return MaterializeResult(
        metadata={
            "months": ", ".join(context.partition_keys),
            "faces_embedded_now": stats.faces,
            "faces_embedded_total": sum(s["embedded"] for s in summaries),
            "faces_total": sum(s["faces"] for s in summaries),
            "missing_crops": stats.missing_crops,
            "faces_per_second": _rate(stats.faces, stats.seconds),
            "model_seconds": round(stats.model_seconds, 3),
            "seconds": round(stats.seconds, 3),
            "batch_size": face_models.batch_size,
            "model_pack": models.pack,
            "providers": ", ".join(models.providers),
        }
    )


@asset(
    deps=[detected_faces],
    partitions_def=monthly_partitions,
    backfill_policy=HEAVY_BACKFILL,
    group_name="faces",
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
    stats = pipeline.score_faces(
        store, face_models.pack, context.partition_keys, only_unscored=not config.rescore
    )
    values = pipeline.month_quality_values(store, face_models.pack, context.partition_keys)
    return MaterializeResult(
        metadata={
            "months": ", ".join(context.partition_keys),
            "faces_scored": stats.faces,
            "missing_crops": stats.missing_crops,
            "quality_histogram": MetadataValue.md(histogram_table(values)),
            "faces_at_or_above_0.5": int((values >= 0.5).sum()),
            **percentiles(values, "quality"),
            "faces_per_second": _rate(stats.faces, stats.seconds),
            "seconds": round(stats.seconds, 3),
        }
    )
