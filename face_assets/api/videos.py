"""Videos over HTTP: seed 004's job endpoint (POST /jobs/faces_embed, snake_case like the seed)
and the clips' tracks under the REST API (camelCase: trackId, frameIdx, timeS)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from face_assets import defaults
from face_assets.api import schemas as s
from face_assets.api.auth import require_caller
from face_assets.api.rest_kit import PREFIX, labelled, thumbnail, thumbnail_route
from face_assets.defs.jobs import FACES_EMBED_JOB
from face_assets.defs.launcher import PARTITION_TAG
from face_assets.services import (
    clip_tracks,
    harvest_progress,
    track_labels,
    video_registration,
    views,
)

jobs = APIRouter(prefix="/jobs", tags=["jobs (seed 004)"], dependencies=[Depends(require_caller)])
router = APIRouter(prefix=PREFIX, tags=["videos"], dependencies=[Depends(require_caller)])


class FacesEmbedRequest(BaseModel):
    """Seed 004's body; `ep_id` is the clip: its id when all digits (as `video_id`), else its
    library path (as `video`)."""

    model_config = ConfigDict(extra="forbid")
    video_id: int | None = Field(default=None, ge=1)
    video: str | None = Field(default=None, max_length=4096, description="library path")
    ep_id: str | None = Field(default=None, max_length=4096, description="seed 004's name")
    save_crops: bool = False
    min_quality: float = Field(default=defaults.HARVEST_MIN_QUALITY, ge=0, le=1)
    max_crops_per_track: int = Field(default=defaults.HARVEST_MAX_CROPS_PER_TRACK, ge=1, le=10000)
    sample_interval: int = Field(default=defaults.HARVEST_SAMPLE_INTERVAL, ge=1, le=100000)


class JobProgress(BaseModel):
    """Where a faces_embed run's harvest stands, as the run last wrote it
    (services/harvest_progress.py HarvestProgress); `state` is "done" once the harvest finished,
    "failed" or "canceled" when the run ended before it did."""

    state: str
    months: int
    months_done: int
    month: str | None
    clips: int = Field(description="clips of the months begun so far")
    clips_done: int
    clips_harvested: int
    clip: str | None = Field(description="the clip being harvested")
    frames_sampled: int
    faces_embedded: int
    faces_kept: int
    tracks: int
    updated_at: str


class JobResponse(BaseModel):
    job_id: str
    job_name: str | None
    status: str
    via: str
    video_id: int | None = None
    month: str | None = None
    progress: JobProgress | None = Field(
        default=None, description="the harvest's progress; null before it starts"
    )


@jobs.post("/faces_embed", response_model=JobResponse, status_code=202)
def faces_embed(request: Request, body: FacesEmbedRequest) -> JobResponse:
    """Harvest the clip's month as a `faces_embed` Dagster run; the job id is the run id."""
    ep_id = body.ep_id
    by_id = ep_id is not None and ep_id.isascii() and ep_id.isdigit()
    video_id = body.video_id if body.video_id is not None else int(ep_id) if by_id else None
    path = body.video or (None if by_id else ep_id)
    if video_id is None and path is None:
        raise ValueError("give video_id, video (a library path) or ep_id (either)")
    video_id, month = video_registration.video_month(request.app.state.store, video_id, path)
    run_config = {
        "ops": {
            "video_faces": {
                "config": {
                    "min_quality": body.min_quality,
                    "max_crops_per_track": body.max_crops_per_track,
                    "sample_interval": body.sample_interval,
                }
            },
            "faces_export": {"config": {"save_crops": body.save_crops}},
        }
    }
    run = request.app.state.runs.submit(FACES_EMBED_JOB, run_config, {PARTITION_TAG: month})
    return JobResponse(job_id=run.run_id, job_name=run.job_name, status=run.status, via=run.via,
                       video_id=video_id, month=month)  # fmt: skip


@jobs.get("/{job_id}", response_model=JobResponse)
def job_status(request: Request, job_id: str) -> JobResponse:
    """The run's status (it also shows in the Dagster UI under the same id) and, once its
    harvest started, its progress: clips, frames sampled, faces embedded, tracks."""
    run = request.app.state.runs.status(job_id)
    progress = harvest_progress.run_progress(request.app.state.store, run.run_id, run.status)
    return JobResponse(job_id=run.run_id, job_name=run.job_name, status=run.status, via=run.via,
                       progress=progress)  # fmt: skip


class TrackOut(s.Camel):
    track_id: int
    first_frame: int
    last_frame: int
    faces: int
    person_id: int | None
    person_name: str | None
    assignment: str | None
    best_face_id: int
    frame_idx: int  # the best face's frame
    time_s: float  # and its time in the clip


class VideoTracksResponse(s.Camel):
    video_id: int
    path: str
    month: str
    status: str
    tracks: list[TrackOut]


class TrackFaceOut(s.Camel):
    face_id: int
    track_id: int
    frame_idx: int
    time_s: float
    bbox: list[float]
    quality: float


class LabelTrackRequest(s.Camel):
    name: str = Field(min_length=1, max_length=200)


class RejectTrackRequest(s.Camel):
    person_id: int = Field(ge=1, description="the person this track is not")


@router.get("/videos/{video_id}/tracks", response_model=VideoTracksResponse)
def video_tracks(request: Request, video_id: int) -> VideoTracksResponse:
    return VideoTracksResponse(
        **clip_tracks.clip_tracks(request.app.state.store, video_id=video_id)
    )


@router.get("/tracks/{track_id}", response_model=list[TrackFaceOut])
def track_faces(request: Request, track_id: int) -> list[TrackFaceOut]:
    return [TrackFaceOut(**f) for f in clip_tracks.track_detail(request.app.state.store, track_id)]


@router.get("/tracks/{track_id}/thumbnail", **thumbnail_route("track"))
def track_thumbnail(request: Request, track_id: int) -> Response:
    """The track's best frame (its best-quality face's crop), as a face's thumbnail."""
    data = views.track_thumbnail(request.app.state.store, track_id)
    return thumbnail(data, f"no thumbnail for track {track_id}")


@router.post("/tracks/{track_id}/label")
def label_track(request: Request, track_id: int, body: LabelTrackRequest) -> dict:
    """Name the whole track (every face of it)."""
    result = track_labels.label_track(request.app.state.store, track_id, body.name)
    labelled(request)
    return {"trackId": result["track_id"], "personId": result["person_id"],
            "faces": result["faces"], "created": result["created"]}  # fmt: skip


@router.post("/tracks/{track_id}/reject")
def reject_track(request: Request, track_id: int, body: RejectTrackRequest) -> dict:
    """ "Not this person" on the whole track: it leaves them and is never proposed again."""
    result = track_labels.reject_track(request.app.state.store, track_id, body.person_id)
    labelled(request)
    return {"trackId": result["track_id"], "personId": result["person_id"],
            "unassigned": result["unassigned"]}  # fmt: skip
