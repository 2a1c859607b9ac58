"""Request and response bodies of the REST API (seed 002): camelCase JSON, except the dual-mode
clustering and training bodies, snake_case as that seed's examples. The stateless service's
(seed 001) are in service_schemas.py, the People endpoints' in people_schemas.py."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from face_assets.defaults import MIN_CONFIDENCE, MIN_FACE_SIZE
from face_assets.identity.clustering import SPLIT_MIN_CLUSTER_SIZE
from face_assets.identity.names import MAX_NAME_LENGTH

# A name is limited to MAX_NAME_LENGTH characters after normalisation (identity.names: a 400
# error names the limit); the raw text is only capped against abuse, with room for 150
# decomposed "é" (two code points each) and stray spaces.
MAX_RAW_NAME_LENGTH = 4 * MAX_NAME_LENGTH
# Cluster ids are ours ("clu_..." and "<id>_sub_..."): printable text of bounded length.
CLUSTER_ID_PATTERN = r"^[^\x00-\x1f\x7f]{1,200}$"
MAX_MIN_FACE_SIZE = 4096  # px: a face wider than a 4K frame cannot be asked to be the smallest


class Camel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields are refused (422)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class Page(Camel):
    total: int = Field(description="items in all pages")
    page: int = Field(description="this page, from 1", examples=[1])
    page_size: int = Field(description="items per page (at most 100)", examples=[20])


class BBox(Camel):
    """A face's box in the photo's upright pixels (EXIF orientation applied)."""

    x: int = Field(description="left edge", examples=[120])
    y: int = Field(description="top edge", examples=[80])
    width: int = Field(examples=[96])
    height: int = Field(examples=[110])


class FaceOut(Camel):
    id: int = Field(description="the face; stable across re-detections (matched by overlap)")
    asset_id: int = Field(description="the photo (image id)")
    bbox: BBox
    detection_confidence: float = Field(description="SCRFD's score (0 for a box drawn by hand)")
    quality_score: float | None = Field(
        description="0-1 mix of confidence, size, sharpness and pose; null until scored"
    )
    cluster_id: str | None = Field(description="its cluster while nobody claims it")
    person_id: int | None
    person_name: str | None
    assignment: Literal["human", "auto"] | None = Field(
        description="human: a person said so (never overwritten); auto: matched by prototypes"
    )
    assignment_similarity: float | None = Field(
        description="cosine similarity to the person's prototype (automatic assignments)"
    )
    created_at: datetime = Field(description="when the face was detected")
    taken_at: datetime | None = Field(
        default=None, description="when the photo was taken (EXIF, else the file's time)"
    )
    source: Literal["detected", "manual", "imported"] = Field(
        default="detected", description="manual: a face a person drew on the photo"
    )
    age: int | None = Field(
        default=None, description="the person's age on the photo's date (with a birthdate)"
    )


class ClusterSummary(Camel):
    cluster_id: str = Field(examples=["clu_3f2a9c"])
    face_count: int = Field(description="unlabelled faces in the cluster")
    sample_face_ids: list[int] = Field(description="its best faces (thumbnails)")
    avg_quality: float | None
    track_count: int = Field(default=0, description="video tracks in it, one member each")
    person_id: int | None = None
    person_name: str | None = None
    version: str | None = Field(
        default=None, description="send it back when labelling: a changed cluster is a 409"
    )


class ClusterListResponse(Page):
    items: list[ClusterSummary]


class TrackOut(Camel):
    """A video track (one identity unit) shown as its best frame."""

    track_id: int
    video_id: int
    video: str = Field(description="the clip's library path")
    frame_idx: int = Field(description="the best frame's index in the clip")
    time_s: float = Field(description="the best frame's time in the clip, seconds")
    video_face_id: int
    face_count: int = Field(description="faces kept in the track")
    person_id: int | None = None


class ClusterDetailResponse(Camel):
    cluster_id: str
    faces: list[FaceOut]
    tracks: list[TrackOut] = Field(
        default_factory=list, description="video tracks in the cluster, one member each"
    )
    person_id: int | None = None
    person_name: str | None = None
    version: str | None = Field(
        default=None, description="send it back when labelling: a changed cluster is a 409"
    )


MAX_EXCLUDED_TRACKS = 10_000  # tracks one request may deselect: a bound on its cost


class LabelClusterRequest(Camel):
    name: str = Field(min_length=1, max_length=MAX_RAW_NAME_LENGTH)
    exclude_face_ids: list[int] = Field(
        default_factory=list,
        description="faces of the cluster that are NOT this person (deselected): they stay"
        " unlabelled and are recorded as rejected for the person",
    )
    # A track's faces are video faces, another id space than excludeFaceIds' photo faces, and a
    # track is one member labelled whole: deselected tracks are named by track id.
    exclude_track_ids: list[int] = Field(
        default_factory=list,
        max_length=MAX_EXCLUDED_TRACKS,
        description="video tracks of the cluster (trackId, as `tracks` lists them) that are NOT"
        " this person: each whole track stays unnamed and is recorded as not this person",
    )
    version: str | None = Field(
        default=None,
        max_length=64,
        description="the cluster's version as read (list or detail): if the cluster changed"
        " since, nothing is labelled and the answer is 409 with the current state",
    )
    face_ids: list[int] | None = Field(
        default=None,
        description="or the cluster's face ids as read: the same check as version",
    )
    track_ids: list[int] | None = Field(
        default=None,
        max_length=MAX_EXCLUDED_TRACKS,
        description="the cluster's video tracks as read (trackId): a track that joined or left"
        " since is a 409 and nothing is named (version covers the photo faces only)",
    )


class LabelClusterResponse(Camel):
    event_id: int = Field(description="this naming; POST /labels/{eventId}/undo takes it back")
    person_id: int
    person_name: str
    created: bool
    faces_labeled: int
    faces_excluded: int
    prototypes_created: int
    tracks_labeled: int = Field(default=0, description="video tracks named (each one whole)")
    tracks_excluded: int = 0


class SplitClusterRequest(Camel):
    min_cluster_size: int = Field(default=SPLIT_MIN_CLUSTER_SIZE, ge=2)
    version: str | None = Field(
        default=None, max_length=64, description="the cluster's version as read, else 409"
    )


class SplitClusterResponse(Camel):
    original_cluster_id: str
    new_clusters: list[str]
    sizes: dict[str, int]
    unclustered: int
    status: Literal["split"] = "split"


class PersonOut(Camel):
    id: int
    name: str = Field(examples=["Rose Leslie"])
    status: str = Field(
        description="active; hidden (no prototypes, no new assignments); merged (into"
        " mergedInto, kept for the audit trail)"
    )
    merged_into: int | None
    face_count: int = Field(description="faces assigned to the person, human and automatic")
    human_count: int = Field(description="faces a person labelled")
    auto_count: int = Field(description="faces assigned automatically")
    prototype_count: int = Field(description="centroid + exemplars the matcher compares with")
    created_at: datetime
    updated_at: datetime
    feature_face_id: int | None = Field(
        default=None, description="the cover face: the one chosen, else the best-quality face"
    )
    birthdate: date | None = None


class PersonListResponse(Page):
    items: list[PersonOut]


class PersonDetailResponse(Camel):
    id: int
    name: str
    status: str
    merged_into: int | None
    face_count: int
    prototype_count: int
    created_at: datetime
    updated_at: datetime
    faces: list[FaceOut]
    page: int
    page_size: int
    tracks: list[TrackOut] = Field(default_factory=list, description="their video tracks")
    feature_face_id: int | None = None
    birthdate: date | None = None
    timeline: Timeline | None = None


class Timeline(Camel):
    """A person's faces by the photos' dates (not detection times)."""

    first_seen: datetime | None
    last_seen: datetime | None
    undated: int
    per_year: dict[int, int]


class MergePersonsRequest(Camel):
    into_person_id: int


class MergePersonsResponse(Camel):
    source_person_id: int
    target_person_id: int
    faces_moved: int


class RenamePersonRequest(Camel):
    name: str = Field(min_length=1, max_length=MAX_RAW_NAME_LENGTH)


class RenamePersonResponse(Camel):
    person_id: int
    name: str
    previous_name: str


class HidePersonResponse(Camel):
    person_id: int
    status: str
    auto_assignments_released: int


class ForgetPersonRequest(Camel):
    confirm: str = Field(
        description="exactly 'forget <the person's current name>': deletion cannot be undone"
    )


class ForgetPersonResponse(Camel):
    person_id: int
    faces_deleted: int
    files_deleted: int


class UnassignResponse(Camel):
    face_id: int
    person_id: int
    was: str | None


class FaceListResponse(Page):
    items: list[FaceOut]


class DetectFacesRequest(Camel):
    min_confidence: float = Field(default=MIN_CONFIDENCE, ge=0.0, le=1.0)
    min_face_size: int = Field(default=MIN_FACE_SIZE, ge=1, le=MAX_MIN_FACE_SIZE)
    queue: bool = Field(
        default=False,
        description="re-detect the photo's whole month as an ingest_month run (202) instead"
        " of this photo now",
    )


class DetectFacesResponse(Camel):
    asset_id: int
    faces_detected: int
    face_ids: list[int]


class RunResponse(Camel):
    run_id: str
    job_name: str | None
    status: str
    via: str
    hint: str | None = Field(
        default=None, description="why a run waits (e.g. no Dagster daemon) and what to do"
    )


class DetectAssetResponse(RunResponse):
    asset_id: int
    month: str


class TriggerClusteringRequest(Camel):
    quality_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    max_faces: int | None = Field(default=None, ge=1)
    min_cluster_size: int | None = Field(default=None, ge=2)
    queue: bool = Field(
        default=False,
        description="true: run it as a cluster_faces Dagster run (202 with its id, shown in the"
        " Dagster UI) instead of answering the counts when done",
    )


class ClusteringResultResponse(Camel):
    """Seed 002's ClusteringResultResponse, plus how the pass ran."""

    total_faces: int = Field(description="unlabelled faces of quality >= qualityThreshold seen")
    clusters_found: int
    noise_count: int = Field(description="faces left unclustered")
    status: Literal["completed"] = "completed"
    mode: str = Field(description="refresh (new faces joined), full, or unchanged (nothing new)")
    deferred_faces: int = Field(description="new faces past maxFaces, left for the next pass")
    execution_time_seconds: float


class Question(Camel):
    kind: Literal["face", "cluster", "persons", "track"] = Field(
        description="face: is this face X?; cluster: is this cluster X?; persons: are X and"
        " the other person the same?; track: is this video track (all of it) X?"
    )
    person_id: int
    person_name: str
    similarity: float = Field(description="cosine similarity behind the question")
    uncertainty: float = Field(description="distance from the pack's threshold: lower = less sure")
    face_id: int | None
    cluster_id: str | None
    cluster_size: int
    sample_face_ids: list[int]
    person_face_ids: list[int]
    assigned: bool
    other_person_id: int | None = Field(
        default=None, description="kind 'persons': are this person and the other the same?"
    )
    other_person_name: str | None = None
    other_face_ids: list[int] = Field(default_factory=list)
    track_id: int | None = Field(
        default=None,
        description="kind 'track': the track, shown by its best frame"
        " (/api/v1/faces/tracks/{trackId}/thumbnail)",
    )
    video: str | None = Field(default=None, description="kind 'track': the clip's library path")
    time_s: float | None = Field(default=None, description="the best frame's time in the clip")
    track_faces: int = Field(default=0, description="kind 'track': frames kept in the track")
    caption: str | None = Field(
        default=None, description="kind 'track': the clip's name and the time, 'clip.mp4 at 0:04'"
    )


class QueueResponse(Camel):
    threshold: float  # the assignments' matching rule the questions are measured against
    threshold_source: str  # "promoted head", "pack" (its default) or "override"
    matching_space: str  # the promoted head's name, or raw ArcFace
    items: list[Question]


class AnswerRequest(Camel):
    answer: Literal["yes", "no"]
    person_id: int
    face_id: int | None = None
    cluster_id: str | None = Field(default=None, pattern=CLUSTER_ID_PATTERN)
    other_person_id: int | None = Field(
        default=None, description="a 'persons' question: yes merges the two, no keeps them apart"
    )
    track_id: int | None = Field(
        default=None, description="a 'track' question: yes names the whole track, no rejects it"
    )


class AnswerResponse(Camel):
    operation: str
    person_id: int
    faces: int


# --- seed 002's dual-mode clustering and training: its examples are snake_case -------------


class SeedRequest(BaseModel):
    """Seed 002's examples send snake_case here; camelCase is taken too, unknown refused."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class DualClusterRequest(SeedRequest):
    person_threshold: float | None = Field(
        default=None, ge=0.0, le=1.0, description="default: the matching rule's (measured)"
    )
    unknown_method: str | None = Field(default=None, description="default: average linkage")
    unknown_min_cluster_size: int | None = Field(default=None, ge=2)
    unknown_eps: float | None = Field(default=None, gt=0.0)
    max_faces: int | None = Field(default=None, ge=1)
    queue: bool = False


class SupervisedOut(BaseModel):
    faces_processed: int
    assigned_to_persons: int
    persons_matched: int


class UnsupervisedOut(BaseModel):
    unlabeled_faces: int
    clusters_found: int
    noise_count: int


class DualClusterResponse(BaseModel):
    status: Literal["completed"] = "completed"
    supervised: SupervisedOut
    unsupervised: UnsupervisedOut
    total_faces: int
    execution_time_seconds: float
    person_threshold: float
    threshold_source: str
    deferred_faces: int


class QueuedRunResponse(BaseModel):
    """`queue: true`: the work runs as a Dagster run (it shows in the Dagster UI)."""

    status: Literal["queued"] = "queued"
    run_id: str
    job_name: str | None
    via: str


class TrainFaceMatchingRequest(SeedRequest):
    epochs: int | None = Field(default=None, ge=0)
    margin: float | None = Field(default=None, gt=0.0)
    batch_size: int | None = Field(default=None, ge=4)
    learning_rate: float | None = Field(default=None, gt=0.0)
    min_faces_per_person: int | None = Field(default=None, ge=2)
    queue: bool = False


class TrainFaceMatchingResponse(BaseModel):
    status: Literal["completed"] = "completed"
    persons_used: int
    total_faces: int
    training_faces: int
    validation_faces: int
    final_train_loss: float | None
    final_val_loss: float | None
    model_checkpoint: str
    training_time_seconds: float
    head_id: int
    promoted: bool  # the gate's decision: assignments use the head only if it won
    gate_reason: str
