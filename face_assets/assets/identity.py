"""person_labels, person_prototypes, face_assignments, face_clusters and their checks."""

import time

import numpy as np
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AutomationCondition,
    BackfillPolicy,
    Config,
    DataVersion,
    MaterializeResult,
    MetadataValue,
    ObserveResult,
    asset,
    asset_check,
    observable_source_asset,
)
from pydantic import Field

from face_assets import labelling, training
from face_assets.assets.faces import face_embeddings, face_quality
from face_assets.assets.metadata import counts_table, histogram_table
from face_assets.identity import clustering
from face_assets.identity.assignment import ASSIGN_MARGIN
from face_assets.partitions import monthly_partitions
from face_assets.resources import FaceModelsResource, FaceStoreResource
from face_assets.store import checks as check_queries
from face_assets.store import persons as person_store

NORM_TOLERANCE = 1e-3  # same tolerance as the embedding check

# Eager, except that a dependency that has never been produced does not block: there may be
# no labels yet (person_labels unobserved) and no trained projection head, ever.
FOLLOW_UPSTREAM = AutomationCondition.eager().without(~AutomationCondition.any_deps_missing())


@observable_source_asset(
    group_name="identities",
    description="Human labels (label, merge, split, unassign, forget): made with the"
    " face-assets CLI or the review page. Its data version changes with every operation.",
)
def person_labels(store: FaceStoreResource) -> ObserveResult:
    with store.transaction() as conn:
        version = person_store.labels_version(conn)
        persons = person_store.list_persons(conn)
    active = [p for p in persons if p["status"] == "active"]
    return ObserveResult(
        data_version=DataVersion(version),
        metadata={
            "active_persons": len(active),
            "human_labelled_faces": sum(p["human"] for p in active),
        },
    )


@asset(
    deps=[person_labels, face_embeddings, face_quality],
    group_name="identities",
    kinds={"python", "pgvector"},
    automation_condition=FOLLOW_UPSTREAM,
    description="For every active person: the centroid (normalised mean of their embeddings)"
    " and up to 3 exemplars (their highest-quality faces), per model pack.",
)
def person_prototypes(
    context: AssetExecutionContext, face_models: FaceModelsResource, store: FaceStoreResource
) -> MaterializeResult:
    started = time.perf_counter()
    with store.transaction() as conn:
        stats = labelling.rebuild_prototypes(conn, face_models.pack)
        names = {p["id"]: p["name"] for p in person_store.list_persons(conn)}
    rows = {names.get(pid, str(pid)): n for pid, n in stats.faces_per_person.items()}
    context.log.info(f"{stats.persons} persons, {stats.prototypes} prototypes")
    return MaterializeResult(
        metadata={
            "persons": stats.persons,
            "prototypes": stats.prototypes,
            "labelled_faces_per_person": MetadataValue.md(counts_table(rows, "person")),
            "model_pack": face_models.pack,
            "seconds": round(time.perf_counter() - started, 3),
        }
    )


class AssignmentConfig(Config):
    person_threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="cosine similarity needed; default per pack (buffalo_s 0.40, buffalo_l 0.7)",
    )
    margin: float = Field(
        default=ASSIGN_MARGIN, ge=0.0, le=1.0, description="lead over the second-best person"
    )


@asset(
    # projection_head by key: its module imports person_labels from this one.
    deps=[person_prototypes, face_embeddings, face_quality, AssetKey("projection_head")],
    partitions_def=monthly_partitions,
    backfill_policy=BackfillPolicy.single_run(),  # prototypes and a head load once per run
    group_name="identities",
    kinds={"python", "pgvector"},
    automation_condition=FOLLOW_UPSTREAM,
    description="Supervised phase: each face of the month without a human label goes to the"
    " most similar known person when similarity >= threshold and it leads the next person by"
    " the margin; two faces of one photo never get the same person. With a promoted"
    " projection head, faces and prototypes are compared in its space at its calibrated"
    " threshold.",
)
def face_assignments(
    context: AssetExecutionContext,
    config: AssignmentConfig,
    face_models: FaceModelsResource,
    store: FaceStoreResource,
) -> MaterializeResult:
    pack = face_models.pack
    projector = training.promoted_projector(store, pack, face_models.torch_device())
    threshold = config.person_threshold
    if threshold is None:
        threshold = projector.threshold if projector else labelling.person_threshold(pack)
    started = time.perf_counter()
    totals = labelling.AssignmentStats(threshold=threshold, margin=config.margin)
    for month in context.partition_keys:
        stats = labelling.assign_month(
            store,
            pack,
            month,
            threshold,
            config.margin,
            projector=projector.project if projector else None,
            head_name=projector.name if projector else None,
        )
        totals.faces += stats.faces
        totals.assigned += stats.assigned
        totals.per_person.update(stats.per_person)
        totals.similarities.extend(stats.similarities)
    with store.transaction() as conn:
        names = {p["id"]: p["name"] for p in person_store.list_persons(conn)}
    per_person = {names.get(pid, str(pid)): n for pid, n in totals.per_person.items()}
    sims = np.asarray(totals.similarities)
    return MaterializeResult(
        metadata={
            "months": ", ".join(context.partition_keys),
            "faces_considered": totals.faces,
            "faces_assigned": totals.assigned,
            "assigned_share": round(totals.assigned / totals.faces, 3) if totals.faces else 0.0,
            "per_person": MetadataValue.md(counts_table(per_person, "person")),
            "similarity_histogram": MetadataValue.md(histogram_table(sims)),
            "person_threshold": threshold,
            "margin": config.margin,
            "projection_head": projector.name if projector else "none (raw ArcFace)",
            "model_pack": pack,
            "seconds": round(time.perf_counter() - started, 3),
        }
    )


class ClusteringConfig(Config):
    method: str = Field(
        default=clustering.DEFAULT_METHOD, description="hdbscan, dbscan, agglomerative"
    )
    min_cluster_size: int = Field(default=clustering.MIN_CLUSTER_SIZE, ge=2)
    min_samples: int = Field(default=clustering.MIN_SAMPLES, ge=1)
    eps: float = Field(default=clustering.UNKNOWN_EPS, gt=0.0, description="cosine distance")
    quality_threshold: float = Field(default=labelling.QUALITY_THRESHOLD, ge=0.0, le=1.0)


@asset(
    deps=[face_assignments, person_labels],
    group_name="identities",
    kinds={"python", "postgres"},
    description="Unsupervised phase over every month at once (a person spans months, so"
    " clustering per month would split them): unlabelled faces of quality >= 0.5, HDBSCAN by"
    " default; noise stays unclustered; ids survive re-runs when membership barely changes.",
)
def face_clusters(
    context: AssetExecutionContext,
    config: ClusteringConfig,
    face_models: FaceModelsResource,
    store: FaceStoreResource,
) -> MaterializeResult:
    if config.method not in clustering.METHODS:
        raise ValueError(f"unknown method {config.method!r}; choose one of {clustering.METHODS}")
    started = time.perf_counter()
    stats = labelling.recluster(
        store,
        face_models.pack,
        method=config.method,
        min_cluster_size=config.min_cluster_size,
        min_samples=config.min_samples,
        eps=config.eps,
        min_quality=config.quality_threshold,
    )
    elapsed = time.perf_counter() - started
    context.log.info(f"{stats.clusters} clusters over {stats.faces} faces in {elapsed:.2f}s")
    return MaterializeResult(
        metadata={
            "faces_clustered": stats.faces,
            "clusters": stats.clusters,
            "noise_faces": stats.noise,
            "noise_share": round(stats.noise / stats.faces, 3) if stats.faces else 0.0,
            "largest_clusters": ", ".join(str(s) for s in stats.sizes[:15]) or "none",
            "cluster_ids_kept": stats.kept_ids,
            "cluster_ids_new": stats.new_ids,
            "method": config.method,
            "min_cluster_size": config.min_cluster_size,
            "seconds": round(elapsed, 3),
        }
    )


@asset_check(
    asset=person_prototypes,
    description="Prototypes are unit-norm; each active person with faces has one centroid.",
)
def prototypes_valid(face_models: FaceModelsResource, store: FaceStoreResource) -> AssetCheckResult:
    with store.transaction() as conn:
        found = check_queries.prototype_violations(conn, face_models.pack, NORM_TOLERANCE)
    problems = {k: v for k, v in found.items() if k != "prototypes" and v}
    return AssetCheckResult(passed=not problems, metadata=found)


@asset_check(
    asset=face_assignments,
    description="No face belongs to a merged or hidden person; no photo has one person twice"
    " by automatic assignment.",
)
def assignments_valid(store: FaceStoreResource) -> AssetCheckResult:
    with store.transaction() as conn:
        inactive = check_queries.faces_on_inactive_persons(conn)
        repeated = check_queries.photos_with_repeated_person(conn, "auto")
    return AssetCheckResult(
        passed=inactive == 0 and repeated == 0,
        metadata={"faces_on_inactive_persons": inactive, "photos_with_person_twice": repeated},
    )


@asset_check(
    asset=face_clusters,
    description="Cluster members are embedded faces, no cluster holds two faces of one photo,"
    " and sizes are within bounds.",
)
def clusters_valid(face_models: FaceModelsResource, store: FaceStoreResource) -> AssetCheckResult:
    with store.transaction() as conn:
        found = check_queries.cluster_violations(conn, face_models.pack)
        sizes = check_queries.cluster_sizes(conn, face_models.pack)
    # Labelling or splitting shrinks clusters below the minimum until the next run: a warning.
    too_small = sum(1 for s in sizes if s < 2)
    hard = (
        found["clustered_faces_without_embedding"] + found["clusters_with_two_faces_of_one_photo"]
    )
    return AssetCheckResult(
        passed=hard == 0 and too_small == 0,
        severity=AssetCheckSeverity.ERROR if hard else AssetCheckSeverity.WARN,
        metadata={**found, "singleton_clusters": too_small, "largest": max(sizes, default=0)},
    )


IDENTITY_ASSETS = [person_labels, person_prototypes, face_assignments, face_clusters]
IDENTITY_CHECKS = [prototypes_valid, assignments_valid, clusters_valid]
