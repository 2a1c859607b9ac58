"""Seed 002's long work: detect a photo, cluster, dual mode and train now, or queued as a
Dagster run (`queue: true`, 202) whose status /runs/{id} answers."""

from __future__ import annotations

import time
from dataclasses import asdict

from fastapi import HTTPException, Request, Response, status

from face_assets.api import schemas as s
from face_assets.api.rest_kit import labelled, library_router
from face_assets.defs.assets.identities import ClusteringConfig
from face_assets.defs.automation import RANGE_END_TAG, RANGE_START_TAG
from face_assets.defs.jobs import CLUSTER_JOB, IDENTITIES_JOB, INGEST_JOB, TRAINING_JOB
from face_assets.defs.launcher import PARTITION_TAG, DagsterRuns
from face_assets.services import clusters, dual, face_detection, views

router = library_router()


def _runs(request: Request) -> DagsterRuns:
    """The app's launcher; its run records (RunInfo) are RunResponse's fields, by name."""
    return request.app.state.runs


@router.post("/detect/{asset_id}", response_model=s.DetectFacesResponse | s.DetectAssetResponse)
async def detect_asset(
    request: Request, response: Response, asset_id: int, body: s.DetectFacesRequest | None = None
) -> s.DetectFacesResponse | s.DetectAssetResponse:
    """Seed 002: re-detect this photo now (its faces embedded and scored as ingest does; a
    face found again keeps its id) and answer its face ids. `queue: true` re-detects the
    photo's month as an `ingest_month` run instead (202, it shows in the Dagster UI)."""
    body = body or s.DetectFacesRequest()
    state = request.app.state
    month = views.image_month(state.store, asset_id)
    if body.queue:
        run_config = {
            "ops": {
                "detected_faces": {
                    "config": {
                        "min_confidence": body.min_confidence,
                        "min_face_size": body.min_face_size,
                        "redetect": True,
                    }
                }
            }
        }
        run = _runs(request).submit(INGEST_JOB, run_config, {PARTITION_TAG: month})
        response.status_code = status.HTTP_202_ACCEPTED
        return s.DetectAssetResponse(**asdict(run), asset_id=asset_id, month=month)
    if state.library_root is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "this app serves no photo library (FACE_ASSETS_LIBRARY); send queue: true",
        )
    await state.models.run(
        lambda models: face_detection.detect_photo(
            models, state.store, state.library_root, asset_id, month,
            body.min_confidence, body.min_face_size,
        )
    )  # fmt: skip
    faces = views.image_faces(state.store, asset_id, state.pack)
    return s.DetectFacesResponse(
        asset_id=asset_id, faces_detected=len(faces), face_ids=[f["id"] for f in faces]
    )


@router.post(
    "/cluster",
    response_model=s.ClusteringResultResponse | s.RunResponse,
    responses={202: {"model": s.RunResponse, "description": "`queue: true`: a Dagster run"}},
)
def trigger_clustering(
    request: Request, response: Response, body: s.TriggerClusteringRequest | None = None
) -> s.ClusteringResultResponse | s.RunResponse:
    """Cluster the unclaimed faces now and answer seed 002's counts (a refresh: new faces
    join the clusters they reach; nothing new answers at once, mode `unchanged`); one pass
    of a pack at a time, a second waits. `queue: true` runs it as a `cluster_faces` run."""
    body = body or s.TriggerClusteringRequest()
    # What the caller gave, under the cluster_faces op's names: the queued run's config as
    # it is, and the op's own mapping (ClusteringConfig.params) makes the foreground pass's.
    given = {
        "quality_threshold": body.quality_threshold,
        "min_cluster_size": body.min_cluster_size,
        "max_faces": body.max_faces,
    }
    config = {k: v for k, v in given.items() if v is not None}
    if body.queue:
        run_config = {"ops": {"face_clusters": {"config": config}}} if config else {}
        run = _runs(request).submit(CLUSTER_JOB, run_config, {})
        response.status_code = status.HTTP_202_ACCEPTED
        return s.RunResponse(**asdict(run))
    state = request.app.state
    started = time.perf_counter()
    params = ClusteringConfig(**config).params()
    found = clusters.recluster(state.store, state.pack, params, max_faces=body.max_faces)
    return s.ClusteringResultResponse(
        total_faces=found.faces,
        clusters_found=found.clusters,
        noise_count=found.noise,
        mode=found.mode,
        deferred_faces=found.deferred,
        execution_time_seconds=round(time.perf_counter() - started, 3),
    )


def _queued(request: Request, job: str, run_config: dict, tags: dict) -> s.QueuedRunResponse:
    run = _runs(request).submit(job, run_config, tags)
    return s.QueuedRunResponse(run_id=run.run_id, job_name=run.job_name, via=run.via)


@router.post("/cluster/dual", response_model=s.DualClusterResponse | s.QueuedRunResponse)
def cluster_dual(
    request: Request, body: s.DualClusterRequest | None = None
) -> s.DualClusterResponse | s.QueuedRunResponse:
    """Seed 002's dual mode: known persons claim their faces (prototypes, then assignment),
    then the rest is clustered. `queue: true` runs it as a refresh_identities run."""
    body = body or s.DualClusterRequest()
    state = request.app.state
    given = {
        "method": body.unknown_method,
        "min_cluster_size": body.unknown_min_cluster_size,
        "eps": body.unknown_eps,
    }
    params = clusters.ClusterParams(**{k: v for k, v in given.items() if v is not None})
    params.check()
    if body.queue:
        months = dual.months_with_faces(state.store)
        if not months:
            raise ValueError("no month has faces yet: ingest photos first")
        assign = {"person_threshold": body.person_threshold}
        cluster = {**given, "max_faces": body.max_faces}
        run_config = {
            "ops": {
                name: {"config": {k: v for k, v in config.items() if v is not None}}
                for name, config in (("face_assignments", assign), ("face_clusters", cluster))
            }
        }
        tags = {RANGE_START_TAG: months[0], RANGE_END_TAG: months[-1]}
        return _queued(request, IDENTITIES_JOB, run_config, tags)
    done = dual.dual_cluster(state.store, state.pack, body.person_threshold, params, body.max_faces)
    labelled(request)  # prototypes were rebuilt from the labels
    # Seed 002's names for the two phases' counts: this is where they are given.
    assigned, found, rule = done.assigned, done.found, done.rule
    return s.DualClusterResponse(
        supervised=s.SupervisedOut(
            faces_processed=assigned.faces,
            assigned_to_persons=assigned.assigned,
            persons_matched=len(assigned.per_person),
        ),
        unsupervised=s.UnsupervisedOut(
            unlabeled_faces=found.faces, clusters_found=found.clusters, noise_count=found.noise
        ),
        total_faces=assigned.faces,
        execution_time_seconds=done.seconds,
        person_threshold=rule.threshold,
        threshold_source=rule.source,
        deferred_faces=found.deferred,
    )


@router.post("/train", response_model=s.TrainFaceMatchingResponse | s.QueuedRunResponse)
def train_matching(
    request: Request, body: s.TrainFaceMatchingRequest | None = None
) -> s.TrainFaceMatchingResponse | s.QueuedRunResponse:
    """Seed 002's training: a projection head on the labelled people, then the gate decides
    whether assignments use it. `queue: true` runs it as a train_projection_head run."""
    from face_assets.services import training  # torch: loaded by the first call, not at start

    body = body or s.TrainFaceMatchingRequest()
    # The request's fields other than `queue` are TrainingConfig's, by the same names.
    fields = training.training_fields(**body.model_dump(exclude={"queue"}))
    config = training.TrainingConfig(**fields)  # a bad combination fails here (422)
    if body.queue:
        return _queued(request, TRAINING_JOB, {"ops": {"projection_head": {"config": fields}}}, {})
    state = request.app.state
    started = time.perf_counter()
    outcome, decision = training.train_and_gate(state.store, state.pack, config)
    last = outcome.history[-1] if outcome.history else {}
    return s.TrainFaceMatchingResponse(
        persons_used=outcome.persons_train + outcome.persons_heldout,
        total_faces=outcome.faces,
        training_faces=outcome.training_faces,
        validation_faces=outcome.validation_faces,
        final_train_loss=last.get("loss"),
        final_val_loss=last.get("val_loss"),
        model_checkpoint=str(outcome.checkpoint.relative_to(state.store.home_path)),
        training_time_seconds=round(time.perf_counter() - started, 3),
        head_id=outcome.head_id,
        promoted=decision.promote,
        gate_reason=decision.reason,
    )


@router.get("/runs/{run_id}", response_model=s.RunResponse)
def run_status(request: Request, run_id: str) -> s.RunResponse:
    run = _runs(request).status(run_id)
    return s.RunResponse(**asdict(run))
