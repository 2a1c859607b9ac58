"""person_labels, person_prototypes, face_assignments, face_clusters and their checks."""

import time
from typing import Annotated

import numpy as np
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    AutomationCondition,
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

from face_assets.defaults import QUALITY_GATE
from face_assets.defs.assets.faces import face_embeddings, face_quality
from face_assets.defs.assets.metadata import clusters_preview, histogram_table, review_page
from face_assets.defs.assets.monthly import monthly_asset, monthly_result
from face_assets.defs.resources import FaceModelsResource, FaceStoreResource
from face_assets.services import clusters, identities, inspection, matching, views
from face_assets.settings import Settings

# Eager, except that a dependency that has never been produced does not block: there may be
# no labels yet (person_labels unobserved) and no trained projection head, ever.
FOLLOW_UPSTREAM = AutomationCondition.eager().without(~AutomationCondition.any_deps_missing())
# eager() only considers the latest month, but libraries constantly receive back-dated photos
# (old phones, scans, imports): any month whose embeddings were updated gets its assignments.
MONTH_EMBEDDED = (
    AutomationCondition.any_deps_updated()
    .allow(AssetSelection.keys("face_embeddings"))
    .since_last_handled()
    & ~AutomationCondition.any_deps_in_progress()
    & ~AutomationCondition.in_progress()
).with_label("month's embeddings updated")
FOLLOW_NEW_FACES = FOLLOW_UPSTREAM | MONTH_EMBEDDED
PREVIEW = 10  # largest clusters shown in face_clusters' metadata
# A cosine similarity, lead or quality score: the configs' bounds, declared once.
UnitInterval = Annotated[float, Field(ge=0.0, le=1.0)]


@observable_source_asset(
    group_name="identities",
    description="Human labels (label, merge, split, unassign, forget): made with the"
    " face-assets CLI or the review page. Its data version changes with every operation.",
)
def person_labels(store: FaceStoreResource) -> ObserveResult:
    state = inspection.labels_state(store.get())
    return ObserveResult(
        data_version=DataVersion(state.pop("version")),
        metadata=state,
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
    stats = identities.refresh_prototypes(store.get(), face_models.pack)
    faces = np.asarray(list(stats.faces_per_person.values()))
    context.log.info(f"{stats.persons} persons, {stats.prototypes} prototypes")
    return MaterializeResult(
        metadata={
            "persons": stats.persons,
            "prototypes": stats.prototypes,
            # Counts only, no names: a forgotten person's name must not stay in the event log.
            "labelled_faces_per_person_median": float(np.median(faces)) if faces.size else 0.0,
            "labelled_faces_per_person_max": int(faces.max()) if faces.size else 0,
            "model_pack": face_models.pack,
            "seconds": round(time.perf_counter() - started, 3),
        }
    )


class AssignmentConfig(Config):
    person_threshold: UnitInterval | None = Field(
        default=None,
        description="cosine similarity needed; default: the promoted head's calibrated threshold,"
        f" else the pack's ({matching.thresholds_help()})",
    )
    margin: UnitInterval | None = Field(
        default=None,
        description="lead over the second-best person; empty: the pack's"
        f" ({identities.assign_margins_help()})",
    )


@monthly_asset(  # one run per backfill: prototypes and a head load once per run
    # projection_head by key: its module imports person_labels from this one.
    deps=[person_prototypes, face_embeddings, face_quality, AssetKey("projection_head")],
    group_name="identities",
    kinds={"python", "pgvector"},
    automation_condition=FOLLOW_NEW_FACES,
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
    plain = store.get()
    rule = matching.matching_rule(
        plain, pack, face_models.torch_device(), override=config.person_threshold
    )
    started = time.perf_counter()
    totals = identities.assign_months(plain, pack, context.partition_keys, rule, config.margin)
    sims = np.asarray(totals.similarities)
    return monthly_result(
        context,
        {
            "faces_considered": totals.faces,
            "faces_assigned": totals.assigned,
            "assigned_share": round(totals.assigned / totals.faces, 3) if totals.faces else 0.0,
            "persons_assigned_to": len(totals.per_person),
            # Candidates refused because the photo predates the person's birthdate.
            "refused_before_birthdate": totals.before_birthdate,
            "similarity_histogram": MetadataValue.md(histogram_table(sims)),
            "person_threshold": rule.threshold,
            "threshold_source": rule.source,
            "margin": totals.margin,  # the pack's unless the run set one
            "projection_head": rule.space,
            **{name: round(value, 3) for name, value in totals.phases.items()},
            "model_pack": pack,
            "seconds": round(time.perf_counter() - started, 3),
        },
    )


_CLUSTERING = clusters.ClusterParams()  # the service's defaults, shown in the Launchpad


class ClusteringConfig(Config):
    method: str = Field(
        default=_CLUSTERING.method,
        description=f"one of {', '.join(clusters.METHODS)}; the seed's hdbscan, dbscan and"
        f" agglomerative compare all pairs and are refused above"
        f" {clusters.ALL_PAIRS_MAX_FACES} faces",
    )
    full: bool = Field(
        default=False,
        description="re-cluster every face (the weekly schedule); default: only the parts of"
        " the graph that new faces touch, nothing when no input changed",
    )
    k: int = Field(default=_CLUSTERING.k, ge=2, le=200, description="neighbours per face")
    min_similarity: float | None = Field(
        default=None,
        gt=0.0,
        lt=1.0,
        description="mean cosine to merge; empty: the pack's bar for the number of faces"
        f" clustered, rising as the library grows ({clusters.cluster_bars_help()})",
    )
    min_cluster_size: int = Field(
        default=_CLUSTERING.min_cluster_size, ge=2, description="fewer faces stay noise"
    )
    min_samples: int = Field(default=_CLUSTERING.min_samples, ge=1, description="hdbscan only")
    eps: float = Field(default=_CLUSTERING.eps, gt=0.0, description="dbscan only")
    quality_threshold: UnitInterval = Field(
        default=QUALITY_GATE,
        description="faces below this quality are not clustered",
    )
    max_faces: int | None = Field(
        default=None,
        ge=1,
        description="seed 002's maxFaces: at most this many new faces join this run (the"
        " earliest first); the rest wait for the next run. Default: all",
    )

    def params(self) -> clusters.ClusterParams:
        """The service's parameters: this config's fields of the same names, with seed 002's
        quality_threshold as min_quality (full and max_faces are the run's, not the method's)."""
        given = self.model_dump(exclude={"full", "max_faces", "quality_threshold"})
        return clusters.ClusterParams(**given, min_quality=self.quality_threshold)


@asset(
    deps=[face_assignments, person_labels],
    group_name="identities",
    kinds={"python", "postgres"},
    automation_condition=FOLLOW_UPSTREAM,
    description="Unsupervised phase over every month at once (a person spans months), after"
    f" the assignments: unlabelled faces of quality >= {QUALITY_GATE:g} on a sparse kNN graph"
    " (average linkage by default); two faces of one photo never share a cluster; noise stays"
    " unclustered. Incremental: new faces join the clusters they reach (average linkage goes"
    " on from last run's clusters, each by its sum vector), so a month costs what its faces"
    " cost; untouched clusters keep their ids; the weekly full run re-cuts everything.",
)
def face_clusters(
    context: AssetExecutionContext,
    config: ClusteringConfig,
    face_models: FaceModelsResource,
    store: FaceStoreResource,
) -> MaterializeResult:
    stats = clusters.recluster(
        store.get(),
        face_models.pack,
        config.params(),
        full=config.full,
        log=context.log.info,
        max_faces=config.max_faces,
    )
    app_url = Settings.from_env().app_url
    return MaterializeResult(
        metadata={
            "mode": stats.mode,
            "faces_considered": stats.faces,
            "min_similarity": stats.min_similarity,
            "faces_new": stats.new_faces,
            "faces_deferred": stats.deferred,
            "faces_reclustered": stats.reclustered_faces,
            "clusters": stats.clusters,
            "clusters_created": stats.created,
            "clusters_grown": stats.grown,
            "clusters_unchanged": stats.unchanged,
            "noise_faces": stats.noise,
            "noise_share": round(stats.noise / stats.faces, 3) if stats.faces else 0.0,
            "largest_clusters": ", ".join(str(s) for s in stats.sizes[:15]) or "none",
            "largest_clusters_preview": MetadataValue.md(
                clusters_preview(
                    views.clusters(store.get(), face_models.pack, PREVIEW), app_url, PREVIEW
                )
            ),
            **review_page(app_url, "/review/clusters"),
            "video_tracks": stats.tracks,  # one item each
            "video_tracks_in_photo_clusters": stats.tracks_joined,
            "clusters_of_tracks": stats.track_clusters,
            # full runs: the largest connected part of the kNN graph (what a cluster could span)
            **({"largest_graph_component": stats.largest_component} if stats.full else {}),
            **stats.phases,
            "seconds": round(sum(stats.phases.values()), 3),
            "peak_rss_mb": round(stats.peak_rss_mb, 1),
            "method": config.method,
        }
    )


@asset_check(
    asset=person_prototypes,
    description="Prototypes are unit-norm; each active person with faces has one centroid.",
)
def prototypes_valid(face_models: FaceModelsResource, store: FaceStoreResource) -> AssetCheckResult:
    found = inspection.prototype_violations(store.get(), face_models.pack)
    problems = {k: v for k, v in found.items() if k != "prototypes" and v}
    return AssetCheckResult(passed=not problems, metadata=found)


@asset_check(
    asset=face_assignments,
    description="No face belongs to a merged or hidden person; no photo has one person twice"
    " by automatic assignment.",
)
def assignments_valid(store: FaceStoreResource) -> AssetCheckResult:
    found = inspection.assignment_violations(store.get())
    return AssetCheckResult(passed=not any(found.values()), metadata=found)


@asset_check(
    asset=face_clusters,
    description="Cluster members are embedded faces, no cluster holds two faces of one photo,"
    " and sizes are within bounds.",
)
def clusters_valid(face_models: FaceModelsResource, store: FaceStoreResource) -> AssetCheckResult:
    found, sizes = inspection.cluster_state(store.get(), face_models.pack)
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


ASSETS = [person_labels, person_prototypes, face_assignments, face_clusters]
CHECKS = [prototypes_valid, assignments_valid, clusters_valid]
