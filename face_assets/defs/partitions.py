"""Calendar-month partitions of the photo timeline (first month from the settings)."""

from __future__ import annotations

from datetime import datetime

from dagster import MonthlyPartitionsDefinition

from face_assets.library import month_of
from face_assets.settings import Settings

# end_offset=1: the current (incomplete) month is a partition too, so today's uploads have one.
monthly_partitions = MonthlyPartitionsDefinition(
    start_date=Settings.from_env().start_month, end_offset=1, fmt="%Y-%m"
)


def partition_of(moment: datetime) -> str:
    """The month partition of a photo taken at `moment` (the library's one rule, clamped to
    the partitions that exist)."""
    keys = monthly_partitions.get_partition_keys()
    return month_of(moment, keys[0], keys[-1])
