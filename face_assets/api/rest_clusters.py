"""Seed 002's cluster endpoints: list, read, name (with a version check) and split a cluster."""

from __future__ import annotations

from fastapi import Query, Request

from face_assets.api import schemas as s
from face_assets.api.rest_kit import (
    ClusterId,
    Page,
    PageSize,
    face_out,
    from_row,
    labelled,
    library_router,
    page_args,
)
from face_assets.services import cluster_naming, labels, views

router = library_router()
# ClusterSummary's fields that the store's cluster rows (listings.cluster_page) name otherwise.
CLUSTER_ROW_KEYS = {
    "face_count": "size",
    "sample_face_ids": "sample_faces",
    "track_count": "tracks",
}


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
    limit, offset = page_args(page, page_size)
    rows, total = views.cluster_page(
        state.store, state.pack, limit, offset, views.SAMPLE_FACES, include_labeled
    )
    return s.ClusterListResponse(
        items=[
            from_row(s.ClusterSummary, r, CLUSTER_ROW_KEYS)  # person groups have no version
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
    ones a reviewer deselected) stay unlabelled and are recorded as not this person, and so
    do the video tracks in excludeTrackIds (each whole). With `version` (or `faceIds`, and
    `trackIds` for its tracks) as read, a cluster that changed since is refused with 409 and
    its current state; without, a cluster another request already named is a 409 too."""
    result = label_cluster_faces(
        request, cluster_id, body.name, body.exclude_face_ids, body.version, body.face_ids,
        body.exclude_track_ids, body.track_ids,
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
    seen_track_ids: list[int] | None = None,
) -> dict:
    """The review page's form and the API's POST share this: one path for naming, one
    transaction for the label, the exclusions and the prototypes."""
    state = request.app.state
    done = cluster_naming.label_cluster(
        state.store, cluster_id, name, state.pack, exclude, version, seen_face_ids,
        exclude_tracks or (), seen_track_ids,
    )  # fmt: skip
    labelled(request)
    return {
        "event_id": done["event_id"],
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
