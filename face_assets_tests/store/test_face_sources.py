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


def test_months_with_pending_work_probes_each_kind_of_work(store):
    """A month is pending for a readable file not registered, a photo this pack has not
    detected, or a face without a quality or an embedding; an unreadable file is not work."""
    from face_assets.records import FileRecord
    from face_assets.store import images as image_store

    months = ["1999-01", "1999-02", "1999-03", "1999-04"]
    with store.transaction() as conn:
        image_store.upsert_files(
            conn,
            [
                FileRecord("p1.jpg", 1, 1, "a" * 64, "1999-01", "ok"),
                FileRecord("p2.txt", 1, 1, None, "1999-02", "unreadable"),
            ],
        )
        undetected = bare_image(conn, "p3.jpg", "1999-03")
        detected = bare_image(conn, "p4.jpg", "1999-04")
        face_store.replace_image_faces(conn, detected, "buffalo_s", "1999-04", [_face(0, 0)], {})
        pending = image_store.months_with_pending_work(conn, "buffalo_s", months)
        assert pending == {"1999-01", "1999-03", "1999-04"}  # p4's face: no quality, no vector
        (face_id,) = conn.execute(
            "SELECT id FROM faces WHERE image_id = %s", (detected,)
        ).fetchone()
        face_store.store_quality(conn, [(face_id, 0.5, 0.5, 0.5, 0.5, 0.5, 1.0, 0.0)])
        assert "1999-04" in image_store.months_with_pending_work(conn, "buffalo_s", months)
        face_store.store_embeddings(conn, [face_id], "buffalo_s", np.ones((1, 512), np.float32))
        face_store.replace_image_faces(conn, undetected, "buffalo_s", "1999-03", [], {})
        pending = image_store.months_with_pending_work(conn, "buffalo_s", months)
        assert pending == {"1999-01"}
        assert image_store.months_with_pending_work(conn, "other_pack", months) == {
            "1999-01",
            "1999-03",
            "1999-04",
        }


def test_images_to_detect_filters_by_id_in_the_query(store):
    """One photo's re-detection reads its own row, not its month's."""
    from face_assets.store import images as image_store

    with store.transaction() as conn:
        ids = [bare_image(conn, f"q{i}.jpg", "1998-06") for i in range(3)]
        every = image_store.images_to_detect(conn, "1998-06", "buffalo_s", True)
        one = image_store.images_to_detect(conn, "1998-06", "buffalo_s", True, [ids[1]])
        none = image_store.images_to_detect(conn, "1998-06", "buffalo_s", True, [])
    assert [p.image_id for p in every] == ids
    assert [p.image_id for p in one] == [ids[1]] and one[0].paths == ("q1.jpg",)
    assert none == []
