"""A person read alone is the row the persons page lists for them."""

from __future__ import annotations

from face_assets.store import Store, listings


def test_person_is_the_person_page_row(store: Store):
    with store.transaction() as conn:
        a, b = (
            conn.execute("INSERT INTO persons (name) VALUES (%s) RETURNING id", (n,)).fetchone()[0]
            for n in ("Ann", "Bob")
        )
        page, total = listings.person_page(conn, "active", 10, 0)
        assert total == 2 and [p["id"] for p in page] == [a, b]
        for row in page:
            assert listings.person(conn, row["id"]) == row
            assert row["faces"] == row["human"] == row["auto"] == row["prototypes"] == 0
        assert listings.person(conn, b + 1) is None
