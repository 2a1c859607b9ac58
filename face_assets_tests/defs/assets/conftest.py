"""The real library fixtures (`real_library`, `real_store`) live in face_assets_tests/conftest.py,
shared with the HTTP app's tests; GROUP_PHOTO names the group photo in that library."""

from __future__ import annotations

GROUP_PHOTO = "group/kit_with_rose.jpg"  # ../shared/data/group_photos/2.jpg
