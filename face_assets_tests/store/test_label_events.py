"""Whether a naming was undone is read through an index, not a scan of the whole audit log."""

from __future__ import annotations

from face_assets.store import label_events as event_store

EVENTS = 20_000  # namings, one in ten of them undone: a log the planner would rather not scan


def _plan(conn, event_id: int) -> str:
    rows = conn.execute(f"EXPLAIN {event_store.UNDONE_SQL}", (str(event_id),)).fetchall()
    return "\n".join(r[0] for r in rows)


def test_undone_reads_the_undo_events_through_their_index(store):
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO label_events (operation, person_id, face_count, detail)"
            " SELECT 'label', 1, 1, jsonb_build_object('faces', 1) FROM generate_series(1, %s)",
            (EVENTS,),
        )
        first = conn.execute("SELECT min(id) FROM label_events").fetchone()[0]
        conn.execute(
            "INSERT INTO label_events (operation, person_id, face_count, detail)"
            " SELECT 'undo_label', 1, 1, jsonb_build_object('event', id) FROM label_events"
            " WHERE id % 10 = 0",
        )
        conn.execute("ANALYZE label_events")
        undone_id = first + (10 - first % 10) % 10  # the first id that is a multiple of 10
        assert event_store.undone(conn, undone_id)
        assert not event_store.undone(conn, undone_id + 1)
        plan = _plan(conn, undone_id)
    assert "label_events_undo_of" in plan and "Seq Scan" not in plan, plan
