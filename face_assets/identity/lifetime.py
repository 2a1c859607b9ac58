"""A person's lifetime as a matching rule: nobody appears in a photo taken before they were
born. A cannot-link in time that no peer applies (Immich and PhotoPrism only show the age),
and the one that separates a child from a look-alike parent or older sibling in old photos.
"""

from __future__ import annotations

from datetime import date, datetime

# Photo dates come from EXIF, else the file's mtime (images.time_source): a scanned print's
# mtime is its scan date, later than the truth, so it never falls wrongly before a birth.


def before_birth(taken_at: datetime | date | None, birthdate: date | None) -> bool:
    """True when the photo was taken before the person was born (never with a date unknown)."""
    if taken_at is None or birthdate is None:
        return False
    day = taken_at.date() if isinstance(taken_at, datetime) else taken_at
    return day < birthdate


def age_on(taken_at: datetime | date | None, birthdate: date | None) -> int | None:
    """Whole years of age on the photo's date (None when either is unknown or before birth)."""
    if taken_at is None or birthdate is None or before_birth(taken_at, birthdate):
        return None
    day = taken_at.date() if isinstance(taken_at, datetime) else taken_at
    years = day.year - birthdate.year
    if (day.month, day.day) < (birthdate.month, birthdate.day):
        years -= 1
    return years
