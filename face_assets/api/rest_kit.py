"""What seed 002's REST API under /api/v1/faces shares: the prefix, paging, path types, the
face shape and the labelled hook. The API's routers are by topic (rest_clusters, rest_persons,
rest_faces, rest_runs, rest_review), camelCase JSON on the services the CLI and the Dagster
assets use; domain errors map to HTTP in app.py: LookupError 404, ValueError 400,
NameTakenError 409, StoreUnavailableError and RunsUnavailable 503."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status

from face_assets.api import schemas as s
from face_assets.api.auth import require_caller

PREFIX = "/api/v1/faces"
DEFAULT_PAGE_SIZE = 20  # seed 002
MAX_PAGE_SIZE = 100  # seed 002: "max: 100"
# Far beyond any library (10^9 pages of 100 = 10^11 clusters) and far from int64's limit.
MAX_PAGE = 1_000_000_000


def library_router() -> APIRouter:
    """A router of this API: its prefix, its tag in /docs, and the token on every route."""
    return APIRouter(prefix=PREFIX, tags=["library"], dependencies=[Depends(require_caller)])


def thumbnail_route(what: str) -> dict:
    """The route options of a JPEG thumbnail endpoint (a face's, a track's): its media type
    and its 404 in /docs."""
    jpeg = {"content": {"image/jpeg": {}}}
    return {
        "response_class": Response,
        "responses": {200: jpeg, 404: {"description": f"no such {what}"}},
    }


def thumbnail(data: bytes | None, missing: str) -> Response:
    """A thumbnail's JPEG bytes as the answer (private: it shows a face), or a 404 saying
    `missing`."""
    if data is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, missing)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private"})


def page_args(page: int, page_size: int) -> tuple[int, int]:
    """(limit, offset) of a 1-based page."""
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
