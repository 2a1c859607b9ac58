"""The video branch (issue 20, seed 004's faces harvest): raw_videos -> video_faces ->
video_track_assignments, and faces_export (seed 004's export of a month), monthly like the
photos, on the same models resource and pool."""

from functools import partial

from dagster import (
    AssetExecutionContext,
    Config,
    MaterializeResult,
    MetadataValue,
)
from pydantic import Field

from face_assets.defs.assets.identities import person_prototypes
from face_assets.defs.assets.metadata import counts_table
from face_assets.defs.assets.monthly import monthly_asset, monthly_result
from face_assets.defs.partitions import partition_of
from face_assets.defs.resources import FaceModelsResource, FaceStoreResource, PhotoLibraryResource
from face_assets.services import (
    harvest_progress,
    library_export,
    track_assignment,
    video_harvest,
    video_registration,
)

# The monthly assets of the UI's "videos" group.
videos_asset = partial(monthly_asset, group_name="videos")


class FacesEmbedConfig(Config, video_harvest.HarvestRules):
    """Seed 004's faces_embed_sampling.yaml: its names, defaults and bounds (HarvestRules)."""

    def harvest(self, batch_size: int) -> video_harvest.HarvestConfig:
        return video_harvest.HarvestConfig(**self.model_dump(), embed_batch_size=batch_size)


@videos_asset(
    kinds={"ffmpeg", "postgres"},
    description="The library's clips (mp4, mov, m4v, avi, mkv, webm, 3gp, mts) filed under the"
    " month of their container creation time (else file time): duration, fps, size, codec,"
    " rotation, or the reason a clip cannot be used.",
)
def raw_videos(
    context: AssetExecutionContext, store: FaceStoreResource, library: PhotoLibraryResource
) -> MaterializeResult:
    months = video_registration.register_videos(store.get(), library.root_path, partition_of)
    wanted = set(context.partition_keys)
    return monthly_result(
        context,
        {
            "clips": sum(n for m, n in months.items() if m in wanted),
            "clips_in_library": sum(months.values()),
        },
    )


@videos_asset(
    deps=[raw_videos],
    kinds={"onnx", "pgvector"},
    model="detector-recognizer",
    description="Seed 004's faces harvest of the month's clips: sampled frames, SCRFD faces,"
    " quality gating (rejection_reason counted), tracks (box overlap + ArcFace), volume control"
    " per track and per clip, batched embeddings. A clip already harvested with the same config"
    " is skipped.",
)
def video_faces(
    context: AssetExecutionContext,
    config: FacesEmbedConfig,
    face_models: FaceModelsResource,
    store: FaceStoreResource,
    library: PhotoLibraryResource,
) -> MaterializeResult:
    models = face_models.load()
    harvest = config.harvest(face_models.batch_size)
    total = video_harvest.VideoMonthStats()
    # Where the run stands, by run id, for GET /jobs/{id} (the event log tells only at the end).
    tracker = harvest_progress.HarvestTracker(
        store.get(), context.run_id, context.job_name, len(context.partition_keys),
        log=context.log.info,
    )  # fmt: skip
    for month in context.partition_keys:
        stats = video_harvest.harvest_month(
            store.get(), library.root_path, month, models, harvest, tracker=tracker
        )
        context.log.info(f"{month}: {stats.harvested} clips harvested, {stats.unchanged} unchanged")
        lost = sum(stats.labels_unmatched.values())
        if lost or stats.rejections_unmatched:
            context.log.warning(
                f"{month}: {lost} human track labels (persons"
                f" {', '.join(map(str, sorted(stats.labels_unmatched)))}) and"
                f" {stats.rejections_unmatched} rejections found no new track continuing"
                " theirs under this run config"
            )
        total.add(stats)
    tracker.done()
    return monthly_result(
        context,
        {
            "clips": total.videos,
            "clips_harvested": total.harvested,
            "clips_unchanged": total.unchanged,
            "clips_rejected": MetadataValue.md(counts_table(total.rejected_videos, "reason")),
            "faces_kept": total.faces,
            "tracks": total.tracks,
            "rejection_reason": MetadataValue.md(
                counts_table(total.rejection_reasons, "rejection_reason")
            ),
            "frames_read": total.frames_read,
            "forgotten_faces_skipped": total.forgotten_dropped,
            # A re-harvest's carrying of the humans' decisions to the tracks that continue
            # the old ones; the unmatched ones no new track continues (never dropped silently).
            "human_labels_carried": total.labels_carried,
            "rejections_carried": total.rejections_carried,
            "cluster_places_carried": total.clusters_carried,
            "human_labels_unmatched": sum(total.labels_unmatched.values()),
            "human_labels_unmatched_persons": ", ".join(
                str(p) for p in sorted(total.labels_unmatched)
            ),
            "rejections_unmatched": total.rejections_unmatched,
            **face_models.run_metadata(models),
        },
    )


@videos_asset(
    deps=[video_faces, person_prototypes],
    kinds={"pgvector"},
    description="Tracks named after known persons: each track is one item (the quality-weighted"
    " normalised mean of its faces) matched with the persons' centroids at the pack's"
    " threshold; a human's label on a track is never replaced.",
)
def video_track_assignments(
    face_models: FaceModelsResource, store: FaceStoreResource
) -> MaterializeResult:
    result = track_assignment.assign_tracks(store.get(), face_models.pack)
    return MaterializeResult(metadata={k: v for k, v in result.items() if v is not None})


class ExportConfig(Config):
    save_crops: bool = Field(default=False, description="also crops/{track_id}/*.jpg (seed 004)")
    names: bool = Field(default=False, description="include person names (off: exports hold none)")


@videos_asset(
    deps=[video_faces],
    kinds={"numpy"},
    description="Seed 004's export of the month's faces (clips and photos): faces.jsonl, faces.npy"
    " (same row order, unit norm) and optional crops, under $FACE_ASSETS_HOME/exports/MONTH."
    " Forgotten people's faces are never in it.",
)
def faces_export(
    context: AssetExecutionContext,
    config: ExportConfig,
    face_models: FaceModelsResource,
    store: FaceStoreResource,
) -> MaterializeResult:
    faces = crops = 0
    for month in context.partition_keys:
        target = store.get().home_path / "exports" / month
        summary = library_export.export_faces(
            store.get(), target, face_models.pack, month=month, save_crops=config.save_crops,
            with_names=config.names,
        )  # fmt: skip
        faces += summary.faces
        crops += summary.crops
    return monthly_result(context, {"faces": faces, "crops": crops})


ASSETS = [raw_videos, video_faces, video_track_assignments, faces_export]
CHECKS: list = []
