"""Where runs execute: GPU pools, run tags and Kubernetes pod resources for the model assets.

Only the assets that run a neural network ask for a GPU; everything else schedules on plain
CPU nodes. The pool caps how many model steps share one machine's GPU at once.
"""

from __future__ import annotations

from collections.abc import Mapping

from dagster import ExecutorDefinition, in_process_executor

from face_assets.settings import EXECUTOR_ENV, K8S_MAX_CONCURRENT_ENV

MODEL_POOL = "face_models"  # dagster.yaml gives this pool its limit (steps at once per deployment)
GPU_RUN_TAG = "face_assets/gpu"  # set to "true" on runs that use a GPU (run coordinator limits)
TRAINING_RUN_TAG = "face_assets/training"

# Step pods one run may have at once: the four face assets of a month are at most two wide
# (embeddings beside quality), so 4 also covers the identity assets without flooding a cluster.
K8S_MAX_CONCURRENT = 4

# dagster-k8s reads this op tag when the k8s_job_executor launches a step as its own pod.
K8S_GPU_POD = {
    "dagster-k8s/config": {
        "container_config": {
            "resources": {
                "requests": {"cpu": "2", "memory": "6Gi", "nvidia.com/gpu": "1"},
                "limits": {"memory": "12Gi", "nvidia.com/gpu": "1"},
            }
        },
        "pod_spec_config": {
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
        },
    }
}

MODEL_OP_TAGS = dict(K8S_GPU_POD)
MODEL_TAG = "face_assets/model"  # an asset's tag naming the model its step runs (UI filter)


def executor_for(env: Mapping[str, str]) -> ExecutorDefinition | None:
    """The executor named by FACE_ASSETS_EXECUTOR (`env`: Settings.executor_env): in-process
    by default, None for Dagster's multiprocess executor, or the Kubernetes one.

    In-process by default: a run's steps share one process, so the models load once per run
    and no step pays a Python start-up (measured by benchmarks/upload_latency.py: each step
    subprocess took 10-15 s to start on a busy 2-core machine, two minutes for one photo's
    ingest run). With "k8s" every step runs in its own pod, so MODEL_OP_TAGS put only the
    model steps on GPU nodes; it needs the K8sRunLauncher (deploy/k8s/values.yaml).
    """
    name = env.get(EXECUTOR_ENV, "").strip().lower()
    if name in ("", "in_process"):
        return in_process_executor
    if name in ("multiprocess", "default"):
        return None
    if name == "k8s":
        # Imported here: the kubernetes client is heavy and only a cluster deployment needs it.
        from dagster_k8s import k8s_job_executor

        limit = env.get(K8S_MAX_CONCURRENT_ENV, "").strip() or str(K8S_MAX_CONCURRENT)
        if not limit.isdigit() or int(limit) < 1:
            raise ValueError(f"{K8S_MAX_CONCURRENT_ENV} must be a positive integer, got {limit!r}")
        return k8s_job_executor.configured({"max_concurrent": int(limit)})
    raise ValueError(
        f"{EXECUTOR_ENV}={env[EXECUTOR_ENV]!r} is not an executor: use 'k8s', 'multiprocess'"
        " (Dagster's default), or 'in_process' (or leave it unset)"
    )
