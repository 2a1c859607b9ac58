"""What seed 002's REST API under /api/v1/faces shares: the prefix, paging, path types, the
face shape and the labelled hook. The API's routers are by topic (rest_clusters, rest_persons,
rest_faces, rest_runs, rest_review), camelCase JSON on the services the CLI and the Dagster
assets use; domain errors map to HTTP in app.py: LookupError 404, ValueError 400,
NameTakenError 409, StoreUnavailableError and RunsUnavailable 503."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from pydantic import BaseModel

from face_assets.api import schemas as s
from face_assets.api.auth import require_caller

PREFIX = "/api/v1/faces"
DEFAULT_PAGE_SIZE = 20  # seed 002
MAX_PAGE_SIZE = 100  # seed 002: "max: 100"
# Far beyond any library (10^9 pages of 100 = 10^11 clusters) and far from int64's limit.
MAX_PAGE = 1_000_000_000

M = TypeVar("M", bound=BaseModel)


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


def from_row(
    model: type[M], row: Mapping[str, Any], renamed: Mapping[str, str] | None = None, **values: Any
) -> M:
    """`model` from a store row: each field from the row's key of the same name, or from the
    key `renamed` gives for it (the store names its keys after its columns, the API after seed
    002), and `values` for what a row does not hold as such. One rule for every response built
    from rows, so no endpoint copies a row field by field; a field the row lacks keeps its
    default, and the model still refuses a value of the wrong type."""
    renamed = renamed or {}
    fields = {
        name: row[renamed.get(name, name)]
        for name in model.model_fields
        if renamed.get(name, name) in row
    }
    return model.model_validate({**fields, **values})


# FaceOut's fields that store/listings.py's face rows (FACE_KEYS) name otherwise.
FACE_ROW_KEYS = {
    "detection_confidence": "det_score",
    "quality_score": "quality",
    "assignment": "assignment_method",
}


def face_out(face: dict, facts: dict | None = None) -> s.FaceOut:
    """A face row (listings.FACE_KEYS) with its photo's facts (person_profiles.face_facts)."""
    fact = (facts or {}).get(face["id"], {})
    return from_row(
        s.FaceOut,
        face,
        FACE_ROW_KEYS,
        bbox=from_row(s.BBox, face),
        taken_at=fact.get("taken_at"),
        source=fact.get("source") or "detected",
        age=fact.get("age"),
    )


def labelled(request: Request) -> None:
    """After every labelling operation: tell Dagster (person_labels changed), if configured."""
    hook = request.app.state.on_labelled
    if hook is not None:
        hook()
