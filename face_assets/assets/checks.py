"""Asset checks that guard the face data in the store (they run with each materialization)."""

from dagster import AssetCheckResult, AssetCheckSeverity, asset_check

from face_assets.assets.faces import detected_faces, face_embeddings, face_quality
from face_assets.media import media_audit
from face_assets.resources import FaceModelsResource, FaceStoreResource
from face_assets.store import checks as check_queries
from face_assets.vision.models import EMBEDDING_DIM

NORM_TOLERANCE = 1e-3  # float32 ArcFace outputs normalise to within ~1e-6; 1e-3 flags real bugs


@asset_check(asset=face_embeddings, description="Embeddings are unit-norm and 512-d.")
def embeddings_unit_norm(
    face_models: FaceModelsResource, store: FaceStoreResource
) -> AssetCheckResult:
    with store.transaction() as conn:
        bad_norm, bad_dim, total = check_queries.embedding_shape_violations(
            conn, face_models.pack, EMBEDDING_DIM, NORM_TOLERANCE
        )
    return AssetCheckResult(
        passed=bad_norm == 0 and bad_dim == 0,
        metadata={"embeddings": total, "not_unit_norm": bad_norm, "wrong_dimension": bad_dim},
    )


@asset_check(
    asset=face_embeddings,
    description="No face of an embedded month is left without an embedding.",
)
def every_face_embedded(
    face_models: FaceModelsResource, store: FaceStoreResource
) -> AssetCheckResult:
    with store.transaction() as conn:
        missing = check_queries.faces_missing_embedding(conn, face_models.pack)
    return AssetCheckResult(
        passed=not missing,
        severity=AssetCheckSeverity.ERROR,
        metadata={"faces_without_embedding": sum(missing.values()), "months": ", ".join(missing)},
    )


@asset_check(
    asset=detected_faces,
    description="Every face row has its crop and thumbnail on disk, and no crop is orphaned.",
)
def face_files_present(store: FaceStoreResource) -> AssetCheckResult:
    with store.transaction() as conn:
        audit = media_audit(store.media_root, check_queries.face_media(conn))
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
    with store.transaction() as conn:
        out_of_range, unscored = check_queries.quality_violations(conn, face_models.pack)
    return AssetCheckResult(
        passed=out_of_range == 0 and unscored == 0,
        metadata={"out_of_range": out_of_range, "unscored_faces": unscored},
    )


FACE_CHECKS = [embeddings_unit_norm, every_face_embedded, face_files_present, quality_in_range]
