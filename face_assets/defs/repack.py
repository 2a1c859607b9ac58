"""The repack job: switch the library's model pack in Dagster (`face-assets repack` runs the
same service), with one log line and one observation per month as progress."""

from dagster import AssetKey, AssetObservation, Config, OpExecutionContext, job, op
from pydantic import Field

from face_assets.defs.resources import FaceModelsResource, FaceStoreResource, PhotoLibraryResource
from face_assets.services import repack

REPACK_JOB = "repack_library"


class RepackConfig(Config):
    to: str = Field(description="the pack to switch to (vision/packs.py), e.g. dlib_resnet")
    source: str | None = Field(
        default=None, description="the library's pack now; empty: the face_models resource's"
    )
    keep_old: bool = Field(default=False, description="keep the old pack's faces and vectors")
    force: bool = Field(
        default=False, description="drop the old pack even if a labelled face was not found"
    )


@op(description="Re-detect and re-embed every month with another pack, carrying every name.")
def repack_library_op(
    context: OpExecutionContext,
    config: RepackConfig,
    face_models: FaceModelsResource,
    store: FaceStoreResource,
    library: PhotoLibraryResource,
) -> dict:
    target = FaceModelsResource(
        pack=config.to,
        providers=face_models.run_providers(),
        device_id=face_models.device_id,
        det_size=face_models.det_size,
        model_root=face_models.model_root,
        allow_download=face_models.allow_download,
    ).load()

    def progress(line: str) -> None:
        context.log.info(line)
        if line.startswith("repack ") and ": month " in line:
            month = line.split(": month ")[1].split(" ")[0]
            context.log_event(
                AssetObservation(
                    asset_key=AssetKey("face_embeddings"),
                    partition=month,
                    metadata={"repacked_to": config.to, "progress": line},
                )
            )

    stats = repack.repack(
        store.get(),
        library.root_path,
        target,
        config.source or face_models.pack,
        keep_old=config.keep_old,
        force=config.force,
        log=progress,
    )
    return stats.summary()


@job(name=REPACK_JOB, description="Switch the library's model pack, keeping every name.")
def repack_job() -> None:
    repack_library_op()
