"""What every monthly asset declares: the month partitions and one run per backfill; and, for
the assets that run a neural network, the GPU pod tags and the model pool."""

from collections.abc import Callable
from typing import Any

from dagster import BackfillPolicy, asset

from face_assets.defs.deployment import MODEL_OP_TAGS, MODEL_POOL
from face_assets.defs.partitions import monthly_partitions

# One run per backfill: what a run loads (models, prototypes, a projection head) loads once
# for all its months instead of once per month.
HEAVY_BACKFILL = BackfillPolicy.single_run()


def monthly_asset(*, model_step: bool = False, **kwargs: Any) -> Callable:
    """`@asset` over the month partitions with HEAVY_BACKFILL. A `model_step` runs a model: its
    step asks for a GPU pod (MODEL_OP_TAGS) and queues in MODEL_POOL."""
    if model_step:
        kwargs = {"op_tags": MODEL_OP_TAGS, "pool": MODEL_POOL, **kwargs}
    return asset(partitions_def=monthly_partitions, backfill_policy=HEAVY_BACKFILL, **kwargs)
