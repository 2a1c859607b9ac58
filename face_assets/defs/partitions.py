"""Calendar-month partitions of the photo timeline, from the library's first month.

The first partition is FACE_ASSETS_START_MONTH when it is set; else the first month the
library's scans filed a photo under (read from the store when the code location loads), so
the UI lists the library's months, not every month since 2000; else, before anything was
scanned (or with the store out of reach), the default start. Photos are filed by one rule
(`partition_of`): older photos go to the start month, later ones to the current month. A
photo older than the loaded first partition gets its own month; the CLI loads the
definitions after its scan, and a running code location offers it after a reload.
"""

from __future__ import annotations

import logging
from datetime import datetime

from dagster import MonthlyPartitionsDefinition

from face_assets.errors import StoreUnavailableError
from face_assets.library import month_of
from face_assets.services import month_work
from face_assets.settings import Settings
from face_assets.store import Store

_SETTINGS = Settings.from_env()  # read once when the code location loads


def first_partition_month(settings: Settings) -> str:
    """Where the monthly partitions start for these settings (see above)."""
    if settings.start_month_from_env:
        return settings.start_month
    try:
        found = month_work.first_library_month(Store(settings.database_url, settings.home))
    except StoreUnavailableError as exc:
        logging.getLogger(__name__).warning(
            "partitions start at %s: the store did not say where the library starts (%s)",
            settings.start_month,
            exc,
        )
        return settings.start_month
    return max(found, settings.start_month) if found else settings.start_month


FIRST_MONTH = first_partition_month(_SETTINGS)
# end_offset=1: the current (incomplete) month is a partition too, so today's uploads have one.
monthly_partitions = MonthlyPartitionsDefinition(start_date=FIRST_MONTH, end_offset=1, fmt="%Y-%m")


def partition_of(moment: datetime) -> str:
    """The month of a photo taken at `moment`: the library's one rule (clamped to the start
    month and the current month), the same in every scan."""
    return month_of(moment, _SETTINGS.start_month)
