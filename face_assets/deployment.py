"""Where runs execute: GPU pools, run tags and Kubernetes pod resources for the model assets.

Only the assets that run a neural network ask for a GPU; everything else schedules on plain
CPU nodes. The pool caps how many model steps share one machine's GPU at once.
"""

from __future__ import annotations

MODEL_POOL = "face_models"  # dagster.yaml gives this pool its limit (steps at once per deployment)
GPU_RUN_TAG = "face_assets/gpu"  # set to "true" on runs that use a GPU (run coordinator limits)
TRAINING_RUN_TAG = "face_assets/training"

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
