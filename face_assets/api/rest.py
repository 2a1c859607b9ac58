"""Seed 002's REST API under /api/v1/faces, camelCase JSON, on the services the CLI and the
Dagster assets use. Domain errors map to HTTP in app.py: LookupError 404, ValueError 400,
NameTakenError 409, StoreUnavailableError and RunsUnavailable 503."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status

from face_assets.api import schemas as s
from face_assets.api.auth import require_caller
from face_assets.defs.automation import RANGE_END_TAG, RANGE_START_TAG
from face_assets.defs.jobs import CLUSTER_JOB, IDENTITIES_JOB, INGEST_JOB, TRAINING_JOB
from face_assets.defs.launcher import PARTITION_TAG, DagsterRuns
from face_assets.services import (
    clusters,
    dual,
    face_detection,
    forgetting,
    labels,
    matching,
    people,
    review_queue,
    views,
)
from face_assets.settings import Settings

PREFIX = "/api/v1/faces"
DEFAULT_PAGE_SIZE = 20  # seed 002
MAX_PAGE_SIZE = 100  # seed 002: "max: 100"
MAX_QUESTIONS = 100  # review queue items per request
# Far beyond any library (10^9 pages of 100 = 10^11 clusters) and far from int64's limit.
MAX_PAGE = 1_000_000_000

router = APIRouter(prefix=PREFIX, tags=["library"], dependencies=[Depends(require_caller)])


def _page_args(page: int, page_size: int) -> tuple[int, int]:
    return page_size, (page - 1) * page_size


Page = Query(default=1, ge=1, le=MAX_PAGE, description="page number, from 1")
ClusterId = Annotated[str, Path(pattern=s.CLUSTER_ID_PATTERN, description="a cluster id")]
PageSize = Query(default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, alias="pageSize")


def face_out(face: dict, facts: dict | None = None) -> s.FaceOut:
    fact = (facts or {}).get(face["id"], {})
    return s.FaceOut(
        id=face["id"],
        asset_id=face["asset_id"],
        bbox=s.BBox(x=face["x"], y=face["y"], width=face["width"], height=face["height"]),
        detection_confidence=face["det_score"],
        quality_score=face["quality"],
        cluster_id=face["cluster_id"],
        person_id=face["person_id"],
        person_name=face["person_name"],
        assignment=face["assignment_method"],
        assignment_similarity=face["assignment_similarity"],
        created_at=face["created_at"],
        taken_at=fact.get("taken_at"),
        source=fact.get("source") or "detected",
        age=fact.get("age"),
    )


def labelled(request: Request) -> None:
    """After every labelling operation: tell Dagster (person_labels changed), if configured."""
    hook = request.app.state.on_labelled
    if hook is not None:
        hook()


# --- clusters --------------------------------------------------------------------------------


@router.get("/clusters", response_model=s.ClusterListResponse)
def list_clusters(
    request: Request,
    page: int = Page,
    page_size: int = PageSize,
    include_labeled: bool = Query(
        default=False,
        alias="includeLabeled",
        description="seed 002: also list each known person's faces as a group"
        " (clusterId person_<id>, with personId and personName)",
    ),
) -> s.ClusterListResponse:
    """Clusters of unlabelled faces, largest first, with their best faces."""
    state = request.app.state
    limit, offset = _page_args(page, page_size)
    rows, total = views.cluster_page(
        state.store, state.pack, limit, offset, views.SAMPLE_FACES, include_labeled
    )
    return s.ClusterListResponse(
        items=[
            s.ClusterSummary(
                cluster_id=r["cluster_id"],
                face_count=r["size"],
                sample_face_ids=r["sample_faces"],
                avg_quality=None if r["avg_quality"] is None else float(r["avg_quality"]),
                person_id=r.get("person_id"),
                person_name=r.get("person_name"),
                track_count=r.get("tracks", 0),
                version=r.get("version"),  # person groups (includeLabeled) have none
            )
            for r in rows
        ],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.get("/clusters/{cluster_id}", response_model=s.ClusterDetailResponse)
def get_cluster(request: Request, cluster_id: ClusterId) -> s.ClusterDetailResponse:
    faces = views.cluster_detail(request.app.state.store, cluster_id)
    tracks = views.cluster_tracks(request.app.state.store, cluster_id)
    return s.ClusterDetailResponse(
        cluster_id=cluster_id,
        faces=[face_out(f) for f in faces],
        tracks=[s.TrackOut(**t) for t in tracks],
        version=views.cluster_version(faces),
    )


@router.post(
    "/clusters/{cluster_id}/label",
    response_model=s.LabelClusterResponse,
    responses={409: {"description": "the cluster changed since it was read (see `current`)"}},
)
def label_cluster(
    request: Request, cluster_id: ClusterId, body: s.LabelClusterRequest
) -> s.LabelClusterResponse:
    """Name a cluster (the person is created if new). Faces in excludeFaceIds (the wrong
    ones a reviewer deselected) stay unlabelled and are recorded as not this person. With
    `version` (or `faceIds`) as read, a cluster that changed since is refused with 409 and
    its current state; without, a cluster another request already named is a 409 too."""
    result = label_cluster_faces(
        request, cluster_id, body.name, body.exclude_face_ids, body.version, body.face_ids,
        body.exclude_track_ids,
    )  # fmt: skip
    return s.LabelClusterResponse(**result)


def label_cluster_faces(
    request: Request,
    cluster_id: str,
    name: str,
    exclude: list[int],
    version: str | None = None,
    seen_face_ids: list[int] | None = None,
    exclude_tracks: list[int] | None = None,
) -> dict:
    """The review page's form and the API's POST share this: one path for naming, one
    transaction for the label, the exclusions and the prototypes."""
    state = request.app.state
    done = labels.label_cluster(
        state.store, cluster_id, name, state.pack, exclude, version, seen_face_ids,
        exclude_tracks or (),
    )  # fmt: skip
    labelled(request)
    return {
        "person_id": done["person_id"],
        "person_name": done["name"],
        "created": done["created"],
        "faces_labeled": done["faces"],
        "faces_excluded": done["excluded"],
        "prototypes_created": done["prototypes"],
        "tracks_labeled": done.get("tracks", 0),
        "tracks_excluded": done.get("tracks_excluded", 0),
    }


@router.post("/clusters/{cluster_id}/split", response_model=s.SplitClusterResponse)
def split_cluster(
    request: Request, cluster_id: ClusterId, body: s.SplitClusterRequest | None = None
) -> s.SplitClusterResponse:
    """Re-cluster one mixed cluster with tighter parameters (minClusterSize faces at least
    per sub-cluster; with `version`: only the cluster as read, else 409)."""
    body = body or s.SplitClusterRequest()
    result = labels.split_cluster(
        request.app.state.store, cluster_id, body.min_cluster_size, version=body.version
    )
    labelled(request)
    return s.SplitClusterResponse(
        original_cluster_id=cluster_id,
        new_clusters=sorted(result["sub_clusters"]),
        sizes=result["sub_clusters"],
        unclustered=result["unclustered"],
    )


# --- persons ---------------------------------------------------------------------------------


def person_out(p: dict, extras: dict | None = None) -> s.PersonOut:
    extra = (extras or {}).get(p["id"], {})
    return s.PersonOut(
        id=p["id"],
        name=p["name"],
        status=p["status"],
        merged_into=p["merged_into"],
        face_count=p["faces"],
        human_count=p["human"],
        auto_count=p["auto"],
        prototype_count=p["prototypes"],
        created_at=p["created_at"],
        updated_at=p["updated_at"],
        feature_face_id=extra.get("cover_face_id"),
        birthdate=extra.get("birthdate"),
    )


@router.get("/persons", response_model=s.PersonListResponse)
def list_persons(
    request: Request,
    page: int = Page,
    page_size: int = PageSize,
    status_filter: str | None = Query(
        default=None, alias="status", pattern="^(active|merged|hidden)$"
    ),
) -> s.PersonListResponse:
    limit, offset = _page_args(page, page_size)
    rows, total = views.person_page(request.app.state.store, status_filter, limit, offset)
    extras = people.extras_of(request.app.state.store, [p["id"] for p in rows])
    return s.PersonListResponse(
        items=[person_out(p, extras) for p in rows], total=total, page=page, page_size=page_size
    )


@router.get("/persons/{person_id}", response_model=s.PersonDetailResponse)
def get_person(
    request: Request, person_id: int, page: int = Page, page_size: int = PageSize
) -> s.PersonDetailResponse:
    limit, offset = _page_args(page, page_size)
    store = request.app.state.store
    p = views.person_detail(store, person_id, limit, offset)
    extra = people.profile(store, person_id)
    facts = people.face_facts(store, [f["id"] for f in p["face_list"]], extra["birthdate"])
    line = extra["timeline"]
    return s.PersonDetailResponse(
        id=p["id"],
        name=p["name"],
        status=p["status"],
        merged_into=p["merged_into"],
        face_count=p["faces"],
        prototype_count=p["prototypes"],
        created_at=p["created_at"],
        updated_at=p["updated_at"],
        faces=[face_out(f, facts) for f in p["face_list"]],
        page=page,
        page_size=page_size,
        tracks=[s.TrackOut(**t) for t in views.person_tracks(store, person_id)],
        feature_face_id=extra["cover_face_id"],
        birthdate=extra["birthdate"],
        timeline=s.Timeline(
            first_seen=line["first"],
            last_seen=line["last"],
            undated=line["undated"],
            per_year=line["per_year"],
        ),
    )


@router.post("/persons/{person_id}/merge", response_model=s.MergePersonsResponse)
def merge_person(
    request: Request, person_id: int, body: s.MergePersonsRequest
) -> s.MergePersonsResponse:
    """Merge this person into another; the source stays as 'merged' for the audit trail."""
    state = request.app.state
    result = labels.merge_persons(state.store, str(person_id), str(body.into_person_id), state.pack)
    labelled(request)
    return s.MergePersonsResponse(
        source_person_id=person_id,
        target_person_id=body.into_person_id,
        faces_moved=result["faces_moved"],
    )


def _hide(request: Request, person_id: int, hidden: bool) -> s.HidePersonResponse:
    state = request.app.state
    result = labels.hide_person(state.store, str(person_id), hidden, state.pack)
    labelled(request)
    return s.HidePersonResponse(
        person_id=person_id,
        status=result["status"],
        auto_assignments_released=result["auto_assignments_released"],
    )


@router.post("/persons/{person_id}/hide", response_model=s.HidePersonResponse)
def hide_person(request: Request, person_id: int) -> s.HidePersonResponse:
    """No prototypes, no new assignments; automatic assignments released."""
    return _hide(request, person_id, True)


@router.post("/persons/{person_id}/unhide", response_model=s.HidePersonResponse)
def unhide_person(request: Request, person_id: int) -> s.HidePersonResponse:
    return _hide(request, person_id, False)


@router.post("/persons/{person_id}/rename", response_model=s.RenamePersonResponse)
def rename_person(
    request: Request, person_id: int, body: s.RenamePersonRequest
) -> s.RenamePersonResponse:
    result = labels.rename_person(request.app.state.store, str(person_id), body.name)
    labelled(request)
    return s.RenamePersonResponse(
        person_id=person_id, name=result["to"], previous_name=result["from"]
    )


@router.post("/persons/{person_id}/forget", response_model=s.ForgetPersonResponse)
def forget_person(
    request: Request, person_id: int, body: s.ForgetPersonRequest
) -> s.ForgetPersonResponse:
    """Delete the person's faces, embeddings, crops and prototypes for good. The body must
    confirm with exactly "forget <current name>", so a wrong id cannot delete someone else."""
    state = request.app.state
    found = views.person_detail(state.store, person_id, 0, 0)
    expected = f"forget {found['name']}"
    if body.confirm != expected:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"forget deletes this person's biometric data for good; confirm with"
            f' {{"confirm": {expected!r}}}',
        )
    # The library root lets the forget remove the name from the sidecars export-tags wrote.
    library = Settings.from_env().library
    result = forgetting.forget_person(state.store, str(person_id), library_root=library)
    labelled(request)
    return s.ForgetPersonResponse(
        person_id=person_id,
        faces_deleted=result["faces_deleted"],
        files_deleted=result["files_deleted"],
    )


# --- faces and assets -----------------------------------------------------------------------


@router.post("/faces/{face_id}/unassign", response_model=s.UnassignResponse)
def unassign_face(request: Request, face_id: int) -> s.UnassignResponse:
    """ "Not this person": the face leaves its person and is never given back to them."""
    state = request.app.state
    result = labels.unassign_face(state.store, face_id, state.pack)
    labelled(request)
    return s.UnassignResponse(face_id=face_id, person_id=result["person_id"], was=result["was"])


@router.get(
    "/faces/{face_id}/thumbnail",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 404: {"description": "no such face"}},
)
def face_thumbnail(request: Request, face_id: int) -> Response:
    data = views.face_thumbnail(request.app.state.store, face_id)
    if data is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no thumbnail for face {face_id}")
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private"})


@router.get("/assets/{asset_id}", response_model=s.FaceListResponse)
def asset_faces(request: Request, asset_id: int) -> s.FaceListResponse:
    """A photo's faces (asset = image id), in face order, with their persons."""
    state = request.app.state
    faces = views.image_faces(state.store, asset_id, state.pack)
    facts = people.face_facts(state.store, [f["id"] for f in faces])
    return s.FaceListResponse(
        items=[face_out(f, facts) for f in faces], total=len(faces), page=1, page_size=len(faces)
    )


# --- long work as Dagster runs ----------------------------------------------------------------


def _runs(request: Request) -> DagsterRuns:
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
        return s.DetectAssetResponse(
            run_id=run.run_id,
            job_name=run.job_name,
            status=run.status,
            via=run.via,
            hint=run.hint,
            asset_id=asset_id,
            month=month,
        )
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
    given = {
        "min_quality": body.quality_threshold,
        "min_cluster_size": body.min_cluster_size,
    }
    if not body.queue:
        state = request.app.state
        started = time.perf_counter()
        params = clusters.ClusterParams(**{k: v for k, v in given.items() if v is not None})
        found = clusters.recluster(state.store, state.pack, params, max_faces=body.max_faces)
        return s.ClusteringResultResponse(
            total_faces=found.faces,
            clusters_found=found.clusters,
            noise_count=found.noise,
            mode=found.mode,
            deferred_faces=found.deferred,
            execution_time_seconds=round(time.perf_counter() - started, 3),
        )
    config = {
        k: v
        for k, v in {
            "quality_threshold": body.quality_threshold,
            "max_faces": body.max_faces,
            "min_cluster_size": body.min_cluster_size,
        }.items()
        if v is not None
    }
    run_config = {"ops": {"face_clusters": {"config": config}}} if config else {}
    run = _runs(request).submit(CLUSTER_JOB, run_config, {})
    response.status_code = 202
    return s.RunResponse(
        run_id=run.run_id, job_name=run.job_name, status=run.status, via=run.via, hint=run.hint
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
    return s.DualClusterResponse(
        supervised=s.SupervisedOut(
            faces_processed=done.faces_processed,
            assigned_to_persons=done.assigned_to_persons,
            persons_matched=done.persons_matched,
        ),
        unsupervised=s.UnsupervisedOut(
            unlabeled_faces=done.unlabeled_faces,
            clusters_found=done.clusters_found,
            noise_count=done.noise_count,
        ),
        total_faces=done.faces_processed,
        execution_time_seconds=done.seconds,
        person_threshold=done.threshold,
        threshold_source=done.threshold_source,
        deferred_faces=done.deferred_faces,
    )


@router.post("/train", response_model=s.TrainFaceMatchingResponse | s.QueuedRunResponse)
def train_matching(
    request: Request, body: s.TrainFaceMatchingRequest | None = None
) -> s.TrainFaceMatchingResponse | s.QueuedRunResponse:
    """Seed 002's training: a projection head on the labelled people, then the gate decides
    whether assignments use it. `queue: true` runs it as a train_projection_head run."""
    from face_assets.services import training  # torch: loaded by the first call, not at start

    body = body or s.TrainFaceMatchingRequest()
    fields = training.training_fields(
        epochs=body.epochs,
        margin=body.margin,
        batch_size=body.batch_size,
        learning_rate=body.learning_rate,
        min_faces_per_person=body.min_faces_per_person,
    )
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
    return s.RunResponse(
        run_id=run.run_id, job_name=run.job_name, status=run.status, via=run.via, hint=run.hint
    )


# --- the "Is this X?" queue -------------------------------------------------------------------


@router.get("/review/queue", response_model=s.QueueResponse)
def review_questions(
    request: Request, limit: int = Query(default=20, ge=1, le=MAX_QUESTIONS)
) -> s.QueueResponse:
    """The least sure questions first: borderline assignments, near misses, merge
    suggestions."""
    state = request.app.state
    rule = matching.matching_rule(state.store, state.pack)
    found = review_queue.questions(state.store, state.pack, limit, rule)
    return s.QueueResponse(
        threshold=rule.threshold,
        threshold_source=rule.source,
        matching_space=rule.space,
        items=[
            s.Question(
                kind=q.kind,
                person_id=q.person_id,
                person_name=q.person_name,
                similarity=round(q.similarity, 4),
                uncertainty=round(q.uncertainty, 4),
                face_id=q.face_id,
                cluster_id=q.cluster_id,
                cluster_size=q.cluster_size,
                sample_face_ids=list(q.sample_face_ids),
                person_face_ids=list(q.person_face_ids),
                assigned=q.assigned,
                other_person_id=q.other_person_id,
                other_person_name=q.other_person_name,
                other_face_ids=list(q.other_face_ids),
            )
            for q in found
        ],
    )


@router.post("/review/answer", response_model=s.AnswerResponse)
def review_answer(request: Request, body: s.AnswerRequest) -> s.AnswerResponse:
    """yes: label the face (or cluster) as the person; no: unassign / record the rejection."""
    state = request.app.state
    result = review_queue.answer(
        state.store, state.pack, body.answer, body.person_id, body.face_id, body.cluster_id,
        body.other_person_id,
    )  # fmt: skip
    labelled(request)
    faces = result.get("faces", result.get("faces_rejected", 1))
    return s.AnswerResponse(
        operation=result["operation"], person_id=result.get("person_id", body.person_id),
        faces=int(faces),
    )  # fmt: skip
