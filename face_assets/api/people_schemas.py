"""Request and response bodies of the People endpoints (camelCase, as the rest of seed 002's
API)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from face_assets.api.schemas import MAX_NAME_LENGTH, BBox, Camel, Page


class ManualFaceRequest(Camel):
    asset_id: int = Field(description="the photo (asset = image id)", examples=[12])
    bbox: BBox = Field(description="the drawn box in the photo's upright pixels")
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, examples=["Rose Leslie"])


class ManualFaceResponse(Camel):
    face_id: int
    asset_id: int
    bbox: list[float] = Field(description="x1, y1, x2, y2 as stored (refined when detected)")
    refined: bool = Field(
        description="true: the detector found the face in the drawn region and placed its"
        " landmarks; false: aligned from the drawn box alone"
    )
    det_score: float
    quality: float
    person_id: int
    person_name: str
    created: bool
    marks_lifted: int = Field(description="'not a face' marks on the same place removed")


class NotAFaceResponse(Camel):
    face_id: int
    asset_id: int
    mark_id: int = Field(description="undo with POST /api/v1/faces/marks/{markId}/undo")
    was_person_id: int | None
    not_a_face_marks: int = Field(description="'not a face' marks in the whole library")


class RestoreFaceResponse(Camel):
    mark_id: int
    asset_id: int
    faces_found_again: int


class PersonUpdateRequest(Camel):
    """Only the fields sent change; null clears one."""

    feature_face_id: int | None = Field(
        default=None, description="the cover face (one of the person's); null: best quality"
    )
    birthdate: date | None = Field(
        default=None,
        description="no face in a photo taken before it is assigned or suggested to them",
        examples=["2015-06-01"],
    )


class PersonUpdateResponse(Camel):
    person_id: int
    feature_face_id: int | None
    birthdate: date | None
    auto_assignments_released: int = Field(
        description="automatic assignments in photos taken before the birthdate, dropped"
    )


class SearchFace(Camel):
    face_id: int
    asset_id: int
    similarity: float = Field(description="cosine similarity, 1 = identical")
    person_id: int | None
    person_name: str | None
    taken_at: datetime | None


class SearchPerson(Camel):
    person_id: int
    person_name: str
    similarity: float = Field(description="the best similarity among the person's faces")
    face_id: int = Field(description="that face")
    likely: bool = Field(description="similarity at or above the pack's person threshold")


class SearchResponse(Camel):
    persons: list[SearchPerson]
    faces: list[SearchFace]
    threshold: float
    query_face: list[float] | None = Field(
        default=None, description="x1, y1, x2, y2 of the face searched for in the upload"
    )


class PhotoPerson(Camel):
    id: int
    name: str


class PhotoOut(Camel):
    asset_id: int
    taken_at: datetime | None
    path: str = Field(description="library-relative path")
    width: int | None
    height: int | None
    face_count: int
    persons: list[PhotoPerson]


class PhotoListResponse(Page):
    items: list[PhotoOut]


class UndoLabelResponse(Camel):
    event_id: int
    person_id: int
    cluster_id: str
    faces_released: int = Field(description="faces back in the cluster, unnamed")
    faces_changed_since: int = Field(
        description="faces a human changed since the naming (named someone else, forgotten):"
        " left as they are"
    )
    tracks_released: int
    rejections_dropped: int = Field(description="unticked faces and tracks no longer 'not X'")
    person_removed: bool = Field(description="the naming created the person and nothing else is"
                                 " theirs: the person is gone again")  # fmt: skip


class UndoResponse(Camel):
    undone: bool = Field(description="false: there was nothing left to take back")
