"""Seed 000's embedding plugin over HTTP: POST /jobs/face_embedding (multipart `file`, one or
more; `normalize`; `priority` 0-10) -> {"job_id", "status": "queued"}; the job's status and
Task Output at GET /jobs/face_embedding/{job_id}; POST .../cancel. Past the queue's bound:
429 with Retry-After. Snake_case, like the seed."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile, status
from pydantic import BaseModel

from face_assets.api.auth import require_caller
from face_assets.api.service import UPLOAD_READ_CHUNK
from face_assets.services import embedding_jobs

router = APIRouter(
    prefix="/jobs/face_embedding",
    tags=["jobs (seed 000)"],
    dependencies=[Depends(require_caller)],
)


class QueuedJob(BaseModel):
    job_id: str
    status: str


class FileOutput(BaseModel):
    file_path: str
    embedding: dict | None = None
    status: str
    error: str | None = None


class JobOut(BaseModel):
    job_id: str
    status: str
    priority: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    files: list[FileOutput]
    total_files: int
    normalize: bool


async def _read(upload: UploadFile) -> bytes:
    chunks = []
    while chunk := await upload.read(UPLOAD_READ_CHUNK):
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("", response_model=QueuedJob, status_code=status.HTTP_202_ACCEPTED)
async def submit(
    request: Request,
    file: Annotated[list[UploadFile], File(description="cropped face image(s)")],
    normalize: Annotated[bool, Form()] = True,
    priority: Annotated[int, Form(ge=0, le=10)] = embedding_jobs.DEFAULT_PRIORITY,
) -> QueuedJob:
    files = [(f.filename or f"file_{i}", await _read(f)) for i, f in enumerate(file)]
    try:
        job_id = embedding_jobs.submit(request.app.state.store, files, normalize, priority)
    except embedding_jobs.QueueFull as exc:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            str(exc),
            headers={"Retry-After": str(embedding_jobs.RETRY_AFTER_SECONDS)},
        ) from exc
    if request.app.state.job_worker is not None:
        request.app.state.job_worker.notify()
    return QueuedJob(job_id=job_id, status="queued")


@router.get("/{job_id}", response_model=JobOut)
def job_status(request: Request, job_id: str) -> JobOut:
    return JobOut(**embedding_jobs.job_view(request.app.state.store, job_id))


@router.post("/{job_id}/cancel", response_model=QueuedJob)
def cancel(request: Request, job_id: str) -> QueuedJob:
    return QueuedJob(job_id=job_id, status=embedding_jobs.cancel(request.app.state.store, job_id))
