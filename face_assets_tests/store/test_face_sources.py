"""Faces drawn by hand or imported from tags survive a re-detection that no longer finds them."""

from __future__ import annotations

import numpy as np

from face_assets.store import faces as face_store
from face_assets_tests.store.helpers import bare_image


def _face(index: int, x: float) -> face_store.FaceRow:
    box = (x, 10.0, x + 50.0, 60.0)
    key = (round(x), 10, 50, 50)
    return face_store.FaceRow(index, box, key, np.zeros((5, 2), np.float32), 0.9, f"c{x}", f"t{x}")


def test_redetection_removes_only_detected_faces(store):
    with store.transaction() as conn:
        image_id = bare_image(conn, "a.jpg", "2024-01")
        face_store.replace_image_faces(
            conn, image_id, "buffalo_s", "2024-01", [_face(0, 0), _face(1, 100), _face(2, 200)], {}
        )
        ids = [r[0] for r in conn.execute("SELECT id FROM faces ORDER BY bbox_x")]
        assert [r[0] for r in conn.execute("SELECT source FROM faces")] == ["detected"] * 3
        conn.execute("UPDATE faces SET source = 'manual' WHERE id = %s", (ids[1],))
        conn.execute("UPDATE faces SET source = 'imported' WHERE id = %s", (ids[2],))
        written = face_store.replace_image_faces(conn, image_id, "buffalo_s", "2024-01", [], {})
        left = conn.execute("SELECT id, source FROM faces ORDER BY id").fetchall()
    assert written.removed == 1
    assert left == [(ids[1], "manual"), (ids[2], "imported")]
