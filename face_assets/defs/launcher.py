"""Dagster runs for the entry points: the CLI runs jobs in its own process, the HTTP app
submits them to an instance or a webserver; both read a failed run the same way.

- JobLauncher (the CLI): `execute_in_process` of a job of Definitions built for the given
  settings and library, recorded in the instance under Settings.dagster_home (DAGSTER_HOME)
  so the runs show up in `dagster dev`. Each run is tagged with this process; the first
  launch of a process marks runs of killed CLI processes failed (defs/stale_runs.py).
- DagsterRuns (the HTTP app): long work (re-detecting a month, clustering) launched as runs
  that show in the Dagster UI, their status read back by run id. Two ways in, tried in this
  order: Settings.dagster_url (FACE_ASSETS_DAGSTER_URL, e.g. http://webserver:3000), the
  webserver's GraphQL API as docker-compose runs it; Settings.dagster_home, the local
  instance: the run is created from the code location `face_assets` (workspace.yaml's name)
  and submitted through the instance's run coordinator (the repository's dagster.yaml queues
  runs, the daemon of `dagster dev` launches them; an instance that launches at once gets a
  code server for the launcher). Neither: RunsUnavailable, which the app answers with 503.
- run_failure: the one reading of a failed run, its first step error's root message in one
  line; a lost database is StoreUnavailableError (exit status 3, HTTP 503).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from face_assets.errors import StoreUnavailableError
from face_assets.settings import DAGSTER_HOME_ENV, DAGSTER_URL_ENV, Settings

LOCATION_NAME = "face_assets"  # workspace.yaml and deploy/workspace.docker.yaml name it so
REPOSITORY_NAME = "__repository__"  # Dagster's name for the repository of a Definitions
DEFINITIONS_MODULE = "face_assets.definitions"
GRAPHQL_TIMEOUT = 10  # seconds: a launch only queues the run
PARTITION_TAG = "dagster/partition"  # how Dagster names a run's partition
QUEUE_DAEMON = "QUEUED_RUN_COORDINATOR"  # the daemon that launches queued runs
DAEMON_SILENT_SECONDS = 120  # daemons beat every 30 s (Dagster's interval): 4 missed = none
# The CLI prints its own summary and, for a failed run, one line with the root error;
# Dagster's console log (step failures come with full tracebacks at ERROR) would bury both.
# The runs' full event logs are still in the instance (dagster dev shows them).
OUR_ERRORS = "face_assets."  # how a run's error names an exception of this package
QUIET_RUN = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


class RunsUnavailable(RuntimeError):
    """No Dagster instance or webserver to launch runs on; the message says what to set."""


class RunFailed(RuntimeError):
    """A run failed; the message is one line with the root error and the run's id."""


# --- reading a failed run ---------------------------------------------------------------------


@dataclass(frozen=True)
class RunFailure:
    line: str  # "<what> failed: <root message> (run 1a2b3c4d in Dagster)"
    store_down: bool  # the root error is StoreUnavailableError

    def error(self) -> Exception:
        return StoreUnavailableError(self.line) if self.store_down else RunFailed(self.line)


def run_failure(result, what: str) -> RunFailure | None:
    """The first step failure of an in-process run, as one line; None when no step failed.

    The line holds the message of the outermost error of ours in the cause chain (it says
    what to do: "unzip the pack into ...", "run the same command again"), else the root
    cause's, never a traceback.
    """
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            chain = []
            error = event.event_specific_data.error
            while error is not None:
                chain.append(error)
                error = error.cause
            ours = [e for e in chain if e.message.startswith(OUR_ERRORS)]
            error = ours[0] if ours else chain[-1]
            message = re.sub(rf"^[\w.]*\b{re.escape(error.cls_name)}: ", "", error.message.strip())
            first = (message.splitlines() or ["failed"])[0]
            return RunFailure(
                f"{what} failed: {first} (run {result.run_id[:8]} in Dagster)",
                error.cls_name == StoreUnavailableError.__name__,
            )
    return None


def raise_for_failure(result, what: str) -> None:
    """StoreUnavailableError or RunFailed for a run that did not succeed."""
    failure = run_failure(result, what)
    if failure is not None:
        raise failure.error()
    if not result.success:
        raise RunFailed(f"{what} failed; see run {result.run_id[:8]} in Dagster")


# --- the CLI: jobs in this process ------------------------------------------------------------


class JobLauncher:
    """Runs jobs of one Definitions (built on first use) in this process."""

    def __init__(
        self,
        settings: Settings,
        library_root: Path | None = None,
        on_stale: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.settings = settings
        self.library_root = library_root
        self.on_stale = on_stale  # told the ids of killed processes' runs marked failed
        self._defs = None
        self._instance = None

    @property
    def instance(self):
        """The local instance; on first use, runs of killed CLI processes are marked failed."""
        from face_assets.defs.instance import local_instance
        from face_assets.defs.stale_runs import fail_stale_runs

        if self._instance is None:
            self._instance = local_instance(self.settings.dagster_home)
            if self.settings.dagster_home is not None:
                stale = fail_stale_runs(self._instance)
                if stale and self.on_stale is not None:
                    self.on_stale(stale)
        return self._instance

    def job(self, job_name: str):
        from face_assets.defs.code_location import build_definitions

        if self._defs is None:
            self._defs = build_definitions(self.settings, library_root=self.library_root)
        return self._defs.resolve_job_def(job_name)

    def execute(
        self,
        job_name: str,
        *,
        partition_key: str | None = None,
        run_config: dict | None = None,
        tags: dict[str, str] | None = None,
        what: str | None = None,
        check: bool = True,
    ):
        """One run of the job, quiet on the console; with `check`, a failed run raises
        (StoreUnavailableError or RunFailed, named `what`). The ExecuteInProcessResult."""
        from face_assets.defs.stale_runs import CLI_PROCESS_TAG, process_tag

        job = self.job(job_name)
        result = job.execute_in_process(
            partition_key=partition_key,
            instance=self.instance,
            run_config={**QUIET_RUN, **(run_config or {})},
            tags={**(tags or {}), CLI_PROCESS_TAG: process_tag()},
            raise_on_error=False,
        )
        if check:
            raise_for_failure(result, what or job_name)
        return result


# --- the HTTP app: runs submitted to an instance or a webserver -------------------------------


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    job_name: str | None
    status: str
    via: str
    hint: str | None = None  # why a queued run does not start, and what to do


def queued_run_hint(instance, status: str) -> str | None:
    """For a QUEUED run on an instance whose run queue no daemon serves: say so."""
    if status != "QUEUED":
        return None
    beat = instance.get_daemon_heartbeats().get(QUEUE_DAEMON)
    if beat is not None and time.time() - beat.timestamp <= DAEMON_SILENT_SECONDS:
        return None
    return (
        "no Dagster daemon is taking runs from this instance's queue, so the run waits:"
        " start one (`make dev`, or `dagster-daemon run` with the same DAGSTER_HOME)"
    )


class DagsterRuns:
    """Launches jobs and reads run status; the workspace is loaded once, on first use."""

    def __init__(self, url: str | None = None, dagster_home: str | Path | None = None) -> None:
        self.url = url or None
        self.dagster_home = Path(dagster_home) if dagster_home else None
        self._lock = threading.Lock()
        self._instance = None
        self._workspace = None  # a WorkspaceProcessContext, kept for the app's lifetime

    @classmethod
    def from_settings(cls, settings: Settings) -> DagsterRuns:
        return cls(settings.dagster_url, settings.dagster_home)

    @property
    def configured(self) -> str:
        if self.url:
            return "graphql"
        if self.dagster_home:
            return "instance"
        return "none"

    def close(self) -> None:
        with self._lock:
            if self._workspace is not None:
                self._workspace.__exit__(None, None, None)
                self._workspace = None

    def submit(self, job_name: str, run_config: dict, tags: dict[str, str]) -> RunInfo:
        if self.url:
            return self._submit_graphql(job_name, run_config, tags)
        if self.dagster_home:
            return self._submit_instance(job_name, run_config, tags)
        raise RunsUnavailable(
            f"no Dagster to launch runs on: set {DAGSTER_URL_ENV} to the Dagster webserver"
            f" (e.g. http://127.0.0.1:3000) or {DAGSTER_HOME_ENV} to the instance folder"
        )

    def status(self, run_id: str) -> RunInfo:
        if self.url:
            return self._status_graphql(run_id)
        if self.dagster_home:
            instance = self._get_instance()
            run = instance.get_run_by_id(run_id)
            if run is None:
                raise LookupError(f"no run {run_id!r}")
            status = run.status.value
            hint = queued_run_hint(instance, status)
            return RunInfo(run.run_id, run.job_name, status, "instance", hint)
        raise RunsUnavailable(
            f"no Dagster to read runs from: set {DAGSTER_URL_ENV} or {DAGSTER_HOME_ENV}"
        )

    # --- the webserver's GraphQL API ---------------------------------------------------------

    def _client(self):
        from dagster_graphql import DagsterGraphQLClient

        parts = urlsplit(self.url)
        if not parts.hostname:
            raise RunsUnavailable(f"{DAGSTER_URL_ENV}={self.url!r} is not a URL")
        try:
            return DagsterGraphQLClient(
                parts.hostname,
                port_number=parts.port,
                use_https=parts.scheme == "https",
                timeout=GRAPHQL_TIMEOUT,
            )
        except Exception as exc:  # the client probes the server when it is built
            raise RunsUnavailable(
                f"the Dagster webserver at {self.url} is unreachable: {exc}"
            ) from exc

    def _submit_graphql(self, job_name: str, run_config: dict, tags: dict[str, str]) -> RunInfo:
        from dagster_graphql import DagsterGraphQLClientError

        client = self._client()
        try:
            run_id = client.submit_job_execution(
                job_name,
                repository_location_name=LOCATION_NAME,
                repository_name=REPOSITORY_NAME,
                run_config=run_config,
                tags=tags,
            )
        except DagsterGraphQLClientError as exc:
            raise RunsUnavailable(f"the Dagster webserver refused the run: {exc}") from exc
        except Exception as exc:
            raise RunsUnavailable(
                f"the Dagster webserver at {self.url} is unreachable: {exc}"
            ) from exc
        return RunInfo(run_id, job_name, "SUBMITTED", "graphql")

    def _status_graphql(self, run_id: str) -> RunInfo:
        from dagster_graphql import DagsterGraphQLClientError

        client = self._client()
        try:
            found = client.get_run_status(run_id)
        except DagsterGraphQLClientError as exc:
            if "RunNotFound" in str(exc) or "PipelineNotFound" in str(exc):
                raise LookupError(f"no run {run_id!r}") from exc
            raise RunsUnavailable(f"the Dagster webserver could not say: {exc}") from exc
        except Exception as exc:
            raise RunsUnavailable(
                f"the Dagster webserver at {self.url} is unreachable: {exc}"
            ) from exc
        return RunInfo(run_id, None, found.value, "graphql")

    # --- the local instance --------------------------------------------------------------------

    def _get_instance(self):
        from face_assets.defs.instance import instance_at

        with self._lock:
            if self._instance is None:
                try:
                    self._instance = instance_at(self.dagster_home, create=False)
                except FileNotFoundError as exc:
                    raise RunsUnavailable(
                        f"no Dagster instance in {self.dagster_home} ({DAGSTER_HOME_ENV}):"
                        " `make dev` creates it and runs the daemon that starts queued runs;"
                        f" or set {DAGSTER_URL_ENV} to a Dagster webserver"
                    ) from exc
            return self._instance

    def _get_workspace(self, instance):
        """The code location `face_assets`: loaded in this process when the instance queues
        runs (the daemon launches them from its own workspace), else through a code server,
        which the instance's run launcher needs to start a run itself."""
        from dagster._core.remote_origin import InProcessCodeLocationOrigin
        from dagster._core.run_coordinator import QueuedRunCoordinator
        from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
        from dagster._core.workspace.context import WorkspaceProcessContext
        from dagster._core.workspace.load_target import (
            InProcessWorkspaceLoadTarget,
            ModuleTarget,
        )

        with self._lock:
            if self._workspace is None:
                if isinstance(instance.run_coordinator, QueuedRunCoordinator):
                    target = InProcessWorkspaceLoadTarget(
                        InProcessCodeLocationOrigin(
                            LoadableTargetOrigin(module_name=DEFINITIONS_MODULE),
                            location_name=LOCATION_NAME,
                        )
                    )
                else:
                    target = ModuleTarget(
                        module_name=DEFINITIONS_MODULE,
                        attribute=None,
                        working_directory=None,
                        location_name=LOCATION_NAME,
                    )
                context = WorkspaceProcessContext(instance, target)
                self._workspace = context.__enter__()
            return self._workspace.create_request_context()

    def _submit_instance(self, job_name: str, run_config: dict, tags: dict[str, str]) -> RunInfo:
        from dagster._core.definitions.selector import JobSubsetSelector

        instance = self._get_instance()
        workspace = self._get_workspace(instance)
        location = workspace.get_code_location(LOCATION_NAME)
        repo = location.get_repository(REPOSITORY_NAME)
        if not repo.has_job(job_name):
            raise LookupError(f"no job {job_name!r} in the code location {LOCATION_NAME}")
        remote_job = location.get_job(
            JobSubsetSelector(
                location_name=LOCATION_NAME,
                repository_name=REPOSITORY_NAME,
                job_name=job_name,
                op_selection=None,
            )
        )
        plan = location.get_execution_plan(
            remote_job, run_config, step_keys_to_execute=None, known_state=None, instance=instance
        )
        run = instance.create_run(
            job_name=job_name,
            run_id=None,
            run_config=run_config,
            resolved_op_selection=remote_job.resolved_op_selection,
            step_keys_to_execute=plan.execution_plan_snapshot.step_keys_to_execute,
            op_selection=None,
            status=None,
            root_run_id=None,
            parent_run_id=None,
            tags={**remote_job.tags, **tags},
            job_snapshot=remote_job.job_snapshot,
            execution_plan_snapshot=plan.execution_plan_snapshot,
            parent_job_snapshot=remote_job.parent_job_snapshot,
            remote_job_origin=remote_job.get_remote_origin(),
            job_code_origin=remote_job.get_python_origin(),
            asset_selection=None,
            asset_check_selection=None,
            asset_graph=repo.asset_graph,
        )
        submitted = instance.submit_run(run.run_id, workspace)
        status = submitted.status.value
        hint = queued_run_hint(instance, status)
        return RunInfo(submitted.run_id, job_name, status, "instance", hint)
