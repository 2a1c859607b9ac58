"""The jobs users launch (the UI, the CLI, the sensors and the schedules name them)."""

from dagster import define_asset_job

from face_assets.defs.assets import faces, photos, videos
from face_assets.defs.assets.identities import face_assignments, face_clusters, person_prototypes
from face_assets.defs.assets.projection import projection_head
from face_assets.defs.deployment import TRAINING_RUN_TAG
from face_assets.defs.repack import repack_job

# Job names: the CLI, the HTTP app, the sensors and the schedules launch jobs by these.
INGEST_JOB = "ingest_month"
PROTOTYPES_JOB = "refresh_prototypes"
ASSIGN_JOB = "assign_month"
CLUSTER_JOB = "cluster_faces"
IDENTITIES_JOB = "refresh_identities"
TRAINING_JOB = "train_projection_head"
FACES_EMBED_JOB = "faces_embed"  # seed 004's stage and endpoint name (POST /jobs/faces_embed)
FACES_EXPORT_JOB = "export_faces"

INGEST_ASSETS = [*photos.ASSETS, *faces.ASSETS]

JOBS = [
    # The video branch (seed 004): a month's clips -> tracks of gated faces -> named tracks.
    define_asset_job(
        FACES_EMBED_JOB,
        selection=videos.ASSETS,
        description="Clips of a month -> sampled frames -> gated faces in tracks -> embeddings ->"
        " tracks named after known persons -> the month's export (seed 004's faces harvest).",
    ),
    define_asset_job(
        FACES_EXPORT_JOB,
        selection=[videos.faces_export],
        description="faces.jsonl + faces.npy (+ crops) of a month, seed 004's export.",
    ),
    # The main job: a month of photos to faces, embeddings and quality.
    define_asset_job(
        INGEST_JOB,
        selection=INGEST_ASSETS,
        description="Photos of a month -> faces -> embeddings -> quality, in the store.",
    ),
    define_asset_job(
        PROTOTYPES_JOB,
        selection=[person_prototypes],
        description="Recompute every person's centroid and exemplars.",
    ),
    # Dual mode, step 1: known persons claim the months' faces (prototypes must exist).
    define_asset_job(
        ASSIGN_JOB,
        selection=[face_assignments],
        description="Assign the months' unlabelled faces to known persons.",
    ),
    # Dual mode, step 2: only what nobody claimed is clustered. Launch after assign_month.
    define_asset_job(
        CLUSTER_JOB,
        selection=[face_clusters],
        description="Cluster the faces no known person claimed.",
    ),
    # Dual mode in one run, in order: prototypes, the months' assignments (known persons claim
    # their faces first), then clustering of what nobody claimed. Launch it over a month range.
    define_asset_job(
        IDENTITIES_JOB,
        selection=[person_prototypes, face_assignments, face_clusters],
        description="Prototypes, then assignments of the months' faces, then clusters of the rest.",
    ),
    # Train a projection head; its blocking gate decides whether assignments use it.
    define_asset_job(
        TRAINING_JOB,
        selection=[projection_head],
        tags={TRAINING_RUN_TAG: "true"},
        description="Train a projection head on labelled people and gate its promotion.",
    ),
    repack_job,  # defs/repack.py: an op job (it rewrites every month of every asset at once)
]
