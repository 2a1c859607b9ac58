"""The one Definitions of the face_assets code location."""

import os

from dagster import Definitions, EnvVar, define_asset_job

from face_assets.assets.checks import FACE_CHECKS
from face_assets.assets.faces import detected_faces, face_embeddings, face_quality
from face_assets.assets.identity import (
    IDENTITY_ASSETS,
    IDENTITY_CHECKS,
    face_assignments,
    face_clusters,
    person_prototypes,
)
from face_assets.assets.photos import raw_images
from face_assets.assets.projection import projection_head, projection_head_gate
from face_assets.automation import SCHEDULES, SENSORS
from face_assets.deployment import TRAINING_RUN_TAG, executor_for
from face_assets.resources import (
    LIBRARY_ENV,
    FaceModelsResource,
    FaceStoreResource,
    PhotoLibraryResource,
    default_home,
)
from face_assets.store.db import DATABASE_URL_ENV

FACE_ASSETS = [raw_images, detected_faces, face_embeddings, face_quality]

# The main job: a month of photos to faces, embeddings and quality.
ingest_job = define_asset_job(
    "ingest_month",
    selection=FACE_ASSETS,
    description="Photos of a month -> faces -> embeddings -> quality, in the store.",
)


# Labels changed or new months landed: refresh prototypes, then cluster what is left.
identity_job = define_asset_job(
    "refresh_identities",
    selection=[person_prototypes, face_clusters],
    description="Recompute person prototypes and re-cluster unlabelled faces.",
)

cluster_job = define_asset_job(
    "cluster_faces", selection=[face_clusters], description="Re-cluster unlabelled faces."
)
prototypes_job = define_asset_job(
    "refresh_prototypes",
    selection=[person_prototypes],
    description="Recompute every person's centroid and exemplars.",
)

# Assign a month's faces to known persons (prototypes must exist).
assignment_job = define_asset_job(
    "assign_month",
    selection=[face_assignments],
    description="Assign a month's unlabelled faces to known persons.",
)


# Train a projection head; its blocking gate decides whether assignments use it.
training_job = define_asset_job(
    "train_projection_head",
    selection=[projection_head],
    tags={TRAINING_RUN_TAG: "true"},
    description="Train a projection head on labelled people and gate its promotion.",
)


def store_resource() -> FaceStoreResource:
    # The URL is passed as an EnvVar so its credentials never show in the UI or run config.
    if os.environ.get(DATABASE_URL_ENV):
        return FaceStoreResource(database_url=EnvVar(DATABASE_URL_ENV), home=default_home())
    return FaceStoreResource(home=default_home())


def library_resource() -> PhotoLibraryResource:
    if os.environ.get(LIBRARY_ENV):
        return PhotoLibraryResource(root=EnvVar(LIBRARY_ENV))
    return PhotoLibraryResource(root=os.path.join(default_home(), "sample_library"))


def build_definitions() -> Definitions:
    return Definitions(
        assets=[*FACE_ASSETS, *IDENTITY_ASSETS, projection_head],
        asset_checks=[*FACE_CHECKS, *IDENTITY_CHECKS, projection_head_gate],
        jobs=[ingest_job, identity_job, assignment_job, training_job, cluster_job, prototypes_job],
        sensors=SENSORS,
        schedules=SCHEDULES,
        executor=executor_for(os.environ),
        resources={
            "face_models": FaceModelsResource(),
            "store": store_resource(),
            "library": library_resource(),
        },
    )


defs = build_definitions()
