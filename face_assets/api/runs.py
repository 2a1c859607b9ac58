"""Long work (re-detecting a month, clustering) launched as Dagster runs, so it shows in the
Dagster UI with its logs, and its status read back by run id.

Two ways in, tried in this order:
- FACE_ASSETS_DAGSTER_URL (e.g. http://webserver:3000): the webserver's GraphQL API
  (dagster_graphql.DagsterGraphQLClient), as docker-compose runs it;
- DAGSTER_HOME: the local instance. The run is created from the code location
  `face_assets` (the name workspace.yaml gives it) and submitted through the instance's run
  coordinator: the repository's dagster.yaml queues runs and the daemon of `dagster dev`
  launches them; an instance that launches at once gets a code server for the launcher.
Neither configured or reachable: RunsUnavailable, which the app answers with 503.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

DAGSTER_URL_ENV = "FACE_ASSETS_DAGSTER_URL"
DAGSTER_HOME_ENV = "DAGSTER_HOME"
LOCATION_NAME = "face_assets"  # workspace.yaml and deploy/workspace.docker.yaml name it so
REPOSITORY_NAME = "__repository__"  # Dagster's name for the repository of a Definitions
DEFINITIONS_MODULE = "face_assets.definitions"
GRAPHQL_TIMEOUT = 10  # seconds: a launch only queues the run
PARTITION_TAG = "dagster/partition"  # how Dagster names a run's partition


class RunsUnavailable(RuntimeError):
    """No Dagster instance or webserver to launch runs on; the message says what to set."""


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    job_name: str | None
    status: str
    via: str


class DagsterRuns:
    """Launches jobs and reads run status; the workspace is loaded once, on first use."""

    def __init__(self, url: str | None = None, dagster_home: str | None = None) -> None:
        self.url = url or None
        self.dagster_home = dagster_home or None
        self._lock = threading.Lock()
        self._instance = None
        self._workspace = None  # a WorkspaceProcessContext, kept for the app's lifetime

    @classmethod
    def from_env(cls) -> DagsterRuns:
        return cls(os.environ.get(DAGSTER_URL_ENV), os.environ.get(DAGSTER_HOME_ENV))

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

    # --- launching ---------------------------------------------------------------------

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
            run = self._get_instance().get_run_by_id(run_id)
            if run is None:
                raise LookupError(f"no run {run_id!r}")
            return RunInfo(run.run_id, run.job_name, run.status.value, "instance")
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
        from dagster import DagsterInstance

        with self._lock:
            if self._instance is None:
                home = Path(self.dagster_home)
                if not home.is_dir():
                    raise RunsUnavailable(f"{DAGSTER_HOME_ENV}={home} is not a folder")
                self._instance = DagsterInstance.from_config(str(home))
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
        return RunInfo(submitted.run_id, job_name, submitted.status.value, "instance")
