"""What every monthly asset declares: the month partitions and one run per backfill; and, for
the assets that run a neural network, the GPU pod tags and the model pool. And what each reports
first: the months its run covered."""

from collections.abc import Callable, Mapping
from typing import Any

from dagster import AssetExecutionContext, BackfillPolicy, MaterializeResult, asset

from face_assets.defs.deployment import MODEL_OP_TAGS, MODEL_POOL, MODEL_TAG
from face_assets.defs.partitions import monthly_partitions

# One run per backfill: what a run loads (models, prototypes, a projection head) loads once
# for all its months instead of once per month.
HEAVY_BACKFILL = BackfillPolicy.single_run()


def monthly_asset(*, model: str | None = None, **kwargs: Any) -> Callable:
    """`@asset` over the month partitions with HEAVY_BACKFILL. An asset that runs a `model`
    (detector, recognizer...) shows it as its MODEL_TAG, and its step asks for a GPU pod
    (MODEL_OP_TAGS) and queues in MODEL_POOL: the three go together, so they are said once."""
    if model is not None:
        tags = {MODEL_TAG: model, **kwargs.pop("tags", {})}
        kwargs = {"op_tags": MODEL_OP_TAGS, "pool": MODEL_POOL, "tags": tags, **kwargs}
    return asset(partitions_def=monthly_partitions, backfill_policy=HEAVY_BACKFILL, **kwargs)


def monthly_result(
    context: AssetExecutionContext, metadata: Mapping[str, Any]
) -> MaterializeResult:
    """The materialization of a monthly run: the months it covered, in order (a backfill runs
    several in one run, HEAVY_BACKFILL), then the asset's own `metadata`, so the UI shows them
    alike."""
    months = ", ".join(sorted(context.partition_keys))
    return MaterializeResult(metadata={"months": months, **metadata})
