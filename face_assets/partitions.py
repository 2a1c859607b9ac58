"""Calendar-month partitions of the photo timeline."""

from __future__ import annotations

import os
from datetime import datetime

from dagster import MonthlyPartitionsDefinition

START_MONTH_ENV = "FACE_ASSETS_START_MONTH"
DEFAULT_START_MONTH = "2000-01"  # early enough for scanned prints and the first digital cameras


def start_month() -> str:
    value = os.environ.get(START_MONTH_ENV, DEFAULT_START_MONTH)
    try:
        datetime.strptime(value, "%Y-%m")
    except ValueError as exc:
        raise ValueError(f"{START_MONTH_ENV}={value!r} is not a month like 2015-01") from exc
    return value


# end_offset=1: the current (incomplete) month is a partition too, so today's uploads have one.
monthly_partitions = MonthlyPartitionsDefinition(
    start_date=start_month(), end_offset=1, fmt="%Y-%m"
)


def partition_month(moment: datetime, first: str | None = None, last: str | None = None) -> str:
    """The partition a photo taken at `moment` belongs to.

    Photos dated before the first partition (or after the last, from a wrong camera clock) go
    to the nearest end, so every photo is processed; its true time stays in images.taken_at.
    """
    month = f"{moment.year:04d}-{moment.month:02d}"
    first = first or start_month()
    last = last or datetime.now().strftime("%Y-%m")
    return min(max(month, first), last)
