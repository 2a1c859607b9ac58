"""How the pipeline runs itself: a sensor on new uploads and the seed's ongoing schedules.

- new_photos_sensor: each tick compares the library with the store's file cache (what ingest
  runs have registered) and requests one ingest run per month holding new or changed photos.
  Run keys are month + a digest of that month's pending files, so a restart or a second tick
  before the run finishes never requests the same work twice, while a file added later
  changes the digest and gets its own run. The cursor remembers the months of pending files
  so their dates are read once; each tick reads at most MAX_READS_PER_TICK new files.
- new_videos_sensor: the same for clips and the video branch (faces_embed): one run per month
  holding clips the pack has not harvested as they are on disk (new, changed, or registered
  by another month's run and never harvested); at most MAX_PROBES_PER_TICK clips probed.
- Downstream, person_prototypes and face_assignments carry eager automation conditions (they
  follow new labels and new months); the schedules below are the seed's ongoing workflow.

Everything is off by default (switch on in the UI, or FACE_ASSETS_AUTOMATION=on).
"""

import hashlib
import json
from datetime import timedelta

from dagster import (
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    schedule,
    sensor,
)

from face_assets.defs.jobs import (
    ASSIGN_JOB,
    CLUSTER_JOB,
    FACES_EMBED_JOB,
    INGEST_JOB,
    PROTOTYPES_JOB,
)
from face_assets.defs.partitions import monthly_partitions, partition_of
from face_assets.defs.resources import FaceModelsResource, FaceStoreResource, PhotoLibraryResource
from face_assets.services import month_work, uploads, video_harvest
from face_assets.settings import Settings

MAX_READS_PER_TICK = 500  # new files whose dates one tick may read: a bounded tick
MAX_PROBES_PER_TICK = 50  # new clips one tick may probe (container + one decoded frame each)
RANGE_START_TAG = "dagster/asset_partition_range_start"  # one run over a range of months
RANGE_END_TAG = "dagster/asset_partition_range_end"


_SETTINGS = Settings.from_env()  # read once when the code location loads
_SENSOR_STATUS = (
    DefaultSensorStatus.RUNNING if _SETTINGS.automation else DefaultSensorStatus.STOPPED
)
_SCHEDULE_STATUS = (
    DefaultScheduleStatus.RUNNING if _SETTINGS.automation else DefaultScheduleStatus.STOPPED
)


def _load_cursor(raw: str | None) -> tuple[dict[str, uploads.PendingFile], dict[str, str]]:
    if not raw:
        return {}, {}
    data = json.loads(raw)
    pending = {path: uploads.PendingFile(path, *values) for path, values in data["pending"].items()}
    return pending, dict(data.get("requested", {}))


def _dump_cursor(pending: list[uploads.PendingFile], requested: dict[str, str]) -> str:
    return json.dumps(
        {
            "pending": {p.rel_path: [p.size, p.mtime_ns, p.month] for p in pending},
            "requested": requested,
        },
        sort_keys=True,
    )


def pending_by_month(pending: list[uploads.PendingFile]) -> dict[str, str]:
    """Month -> fingerprint of exactly the files that month's ingest run must register."""
    by_month: dict[str, list[str]] = {}
    for p in pending:
        by_month.setdefault(p.month, []).append(f"{p.rel_path}:{p.size}:{p.mtime_ns}")
    return {
        month: hashlib.sha1("\n".join(sorted(items)).encode()).hexdigest()[:16]
        for month, items in sorted(by_month.items())
    }


def month_requests(
    context: SensorEvaluationContext,
    pending: list[uploads.PendingFile],
    requested: dict[str, str],
    job_name: str,
    trigger: str,
    what: str,
) -> SensorResult:
    """One run request per month of pending files, keyed by month + a digest of its files:
    a month requested with exactly these files is not requested again (its run is queued or
    running, or failed and waits for a human retry), a file added later makes a new request."""
    fingerprints = pending_by_month(pending)
    # Files older than the first partition this code location loaded: their month is not a
    # partition until the location reloads (partitions start at the library's first month).
    first = monthly_partitions.get_first_partition_key()
    early = sorted(m for m in fingerprints if m < first)
    if early:
        context.log.warning(
            f"{what} of {', '.join(early)} predate the first partition {first}: reload the"
            " code location (Deployment > Reload) to give them their months"
        )
        fingerprints = {m: fp for m, fp in fingerprints.items() if m >= first}
    new = {m: fp for m, fp in fingerprints.items() if requested.get(m) != fp}
    cursor = _dump_cursor(pending, fingerprints)
    if not new:
        return SensorResult(skip_reason=SkipReason(f"no new {what}"), cursor=cursor)
    counts = {m: sum(1 for p in pending if p.month == m) for m in new}
    return SensorResult(
        run_requests=[
            RunRequest(
                run_key=f"{month}:{fingerprint}",
                job_name=job_name,
                partition_key=month,
                tags={"face_assets/trigger": trigger, "face_assets/new_files": str(counts[month])},
            )
            for month, fingerprint in new.items()
        ],
        cursor=cursor,
    )


@sensor(
    job_name=INGEST_JOB,
    minimum_interval_seconds=_SETTINGS.sensor_interval,
    default_status=_SENSOR_STATUS,
    description="Requests an ingest run for every month that received new or changed photos.",
)
def new_photos_sensor(
    context: SensorEvaluationContext, library: PhotoLibraryResource, store: FaceStoreResource
):
    known, requested = _load_cursor(context.cursor)
    scan = uploads.PendingScan(known, MAX_READS_PER_TICK, partition_of)
    pending, deferred = uploads.pending_uploads(store.get(), library.root_path, scan)
    if deferred:
        context.log.info(f"{deferred} more new files will be read on the next tick")
    return month_requests(context, pending, requested, INGEST_JOB, "new_photos", "photos")


@sensor(
    job_name=FACES_EMBED_JOB,
    minimum_interval_seconds=_SETTINGS.sensor_interval,
    default_status=_SENSOR_STATUS,
    description="Requests a faces_embed run (the video branch) for every month that received"
    " new or changed clips, or clips this pack has not harvested.",
)
def new_videos_sensor(
    context: SensorEvaluationContext,
    library: PhotoLibraryResource,
    store: FaceStoreResource,
    face_models: FaceModelsResource,
):
    known, requested = _load_cursor(context.cursor)
    scan = uploads.PendingScan(known, MAX_PROBES_PER_TICK, partition_of)
    pending, deferred = video_harvest.pending_videos(
        store.get(), library.root_path, face_models.pack, scan
    )
    if deferred:
        context.log.info(f"{deferred} more new clips will be probed on the next tick")
    return month_requests(context, pending, requested, FACES_EMBED_JOB, "new_videos", "clips")


def _tick_run_key(job_key: str, context: ScheduleEvaluationContext) -> str:
    """One run per scheduled day: a tick evaluated again asks for the same run key, and Dagster
    launches a run key once."""
    return f"{job_key}:{context.scheduled_execution_time:%Y-%m-%d}"


@schedule(
    cron_schedule="0 2 * * *",
    job_name=ASSIGN_JOB,
    default_status=_SCHEDULE_STATUS,
    description="Nightly: assign the faces detected since the last night to known persons.",
)
def nightly_assignments(
    context: ScheduleEvaluationContext, face_models: FaceModelsResource, store: FaceStoreResource
):
    since = context.scheduled_execution_time - timedelta(days=1)
    months = month_work.months_with_new_faces(store.get(), face_models.pack, since)
    if not months:
        return SkipReason(f"no faces detected since {since:%Y-%m-%d %H:%M}")
    # One run over the months' range: face_assignments loads prototypes (and a head) once.
    return RunRequest(
        run_key=_tick_run_key("assign", context),
        tags={RANGE_START_TAG: months[0], RANGE_END_TAG: months[-1]},
    )


def _every_tick_schedule(
    name: str,
    *,
    cron: str,
    job: str,
    job_key: str,
    description: str,
    run_config: dict | None = None,
) -> ScheduleDefinition:
    """A schedule that runs its job at every tick, whatever the data: no resources, no skip."""

    @schedule(
        name=name,
        cron_schedule=cron,
        job_name=job,
        default_status=_SCHEDULE_STATUS,
        description=description,
    )
    def every_tick(context: ScheduleEvaluationContext) -> RunRequest:
        return RunRequest(run_key=_tick_run_key(job_key, context), run_config=run_config)

    return every_tick


# The weekly run re-clusters everything (the incremental runs only touch what changed); on
# unchanged data it gives the same clusters and ids.
weekly_clustering = _every_tick_schedule(
    "weekly_clustering",
    cron="0 3 * * 0",
    job=CLUSTER_JOB,
    job_key="cluster",
    description="Weekly: re-cluster every face no person has claimed (a full run).",
    run_config={"ops": {"face_clusters": {"config": {"full": True}}}},
)
monthly_prototypes = _every_tick_schedule(
    "monthly_prototypes",
    cron="0 4 1 * *",
    job=PROTOTYPES_JOB,
    job_key="prototypes",
    description="Monthly: recompute every person's centroid and exemplars.",
)


# Evaluates the eager conditions of person_prototypes and face_assignments: new labels or a
# newly ingested month bring prototypes and that month's assignments up to date.
identity_automation = AutomationConditionSensorDefinition(
    "identity_automation",
    target=AssetSelection.keys("person_prototypes", "face_assignments", "face_clusters"),
    default_status=_SENSOR_STATUS,
    minimum_interval_seconds=_SETTINGS.sensor_interval,
    description="Keeps prototypes and assignments following new labels and new months.",
)

SENSORS = [new_photos_sensor, new_videos_sensor, identity_automation]
SCHEDULES = [nightly_assignments, weekly_clustering, monthly_prototypes]
