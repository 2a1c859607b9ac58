"""SQL for who a video track is: a human's name or "not this person" on a whole track, and the
machine's assignments, which never go over a human's decision."""

from __future__ import annotations

import numpy as np
import psycopg
from psycopg import sql

from face_assets.store.faces import vector_array
from face_assets.store.rows import first_column

# A human's label on a track (SET clause): it leaves its cluster, remembered with the label
# (an earlier human label's remembered cluster stays: the track was in none meanwhile).
HUMAN_LABEL_FROM_CLUSTER = sql.SQL(
    "labelled_from_cluster = CASE WHEN assignment_method = 'human' THEN labelled_from_cluster"
    " ELSE cluster_id END, assignment_method = 'human', cluster_id = NULL"
)


def label_track(conn: psycopg.Connection, track_id: int, person_id: int) -> int:
    """A human names a whole track (every face of it follows: faces hang off the track); an
    earlier "not this person" of theirs for it gives way to this later decision. The track
    leaves its cluster, which is kept with the label (labelled_from_cluster, 0020: a re-label
    keeps the first one) for an undo to give back."""
    done = conn.execute(
        sql.SQL("UPDATE video_tracks SET person_id = %s, {} WHERE id = %s").format(
            HUMAN_LABEL_FROM_CLUSTER
        ),
        (person_id, track_id),
    ).rowcount
    conn.execute(
        "DELETE FROM video_track_rejections WHERE track_id = %s AND person_id = %s",
        (track_id, person_id),
    )
    return done


def reject_track(conn: psycopg.Connection, track_id: int, person_id: int) -> bool | None:
    """A human's "not this person" on a whole track: remembered (never proposed to them again)
    and the track leaves them if it was theirs. None when there is no such track, else whether
    it was unassigned. The track is locked first: while a re-harvest replaces it, this waits
    and then finds no track (instead of failing on a row being deleted)."""
    found = conn.execute("SELECT 1 FROM video_tracks WHERE id = %s FOR UPDATE", (track_id,))
    if found.fetchone() is None:
        return None
    conn.execute(
        "INSERT INTO video_track_rejections (track_id, person_id) VALUES (%s, %s)"
        " ON CONFLICT DO NOTHING",
        (track_id, person_id),
    )
    return bool(
        conn.execute(
            "UPDATE video_tracks SET person_id = NULL, assignment_method = NULL,"
            " labelled_from_cluster = NULL WHERE id = %s AND person_id = %s",
            (track_id, person_id),
        ).rowcount
    )


def track_rejections(conn: psycopg.Connection, pack: str) -> set[tuple[int, int]]:
    """(track id, person id) pairs a human rejected."""
    rows = conn.execute(
        "SELECT r.track_id, r.person_id FROM video_track_rejections r"
        " JOIN video_tracks t ON t.id = r.track_id WHERE t.pack = %s",
        (pack,),
    ).fetchall()
    return {(int(a), int(b)) for a, b in rows}


def assign_tracks(conn: psycopg.Connection, rows: list[tuple[int, int]]) -> int:
    """Machine assignments (track id, person id); never over a human's label, never to a
    person a human rejected for the track (a decision made while the match computed)."""
    with conn.cursor() as cur:
        cur.executemany(
            "UPDATE video_tracks t SET person_id = %s, assignment_method = 'auto'"
            " WHERE t.id = %s AND t.assignment_method IS DISTINCT FROM 'human'"
            " AND NOT EXISTS (SELECT 1 FROM video_track_rejections r"
            " WHERE r.track_id = t.id AND r.person_id = %s)",
            [(p, t, p) for t, p in rows],
        )
    return len(rows)


def unassigned_tracks(
    conn: psycopg.Connection, pack: str, after: int = 0
) -> list[tuple[int, np.ndarray, int | None]]:
    """(id, embedding, machine-assigned person or None) of the tracks no human labelled, with
    ids above `after` (0: all): what track assignment matches."""
    return machine_tracks(conn, pack, " AND id > %s ORDER BY id", (after,))


def machine_tracks(
    conn: psycopg.Connection, pack: str, then: str, args: tuple
) -> list[tuple[int, np.ndarray, int | None]]:
    """(id, embedding, machine-assigned person or None) of the pack's tracks no human named;
    `then` (with `args`) adds conditions, the order and a limit."""
    query = sql.SQL(
        "SELECT id, embedding, person_id FROM video_tracks WHERE pack = %s"
        " AND assignment_method IS DISTINCT FROM 'human'{}"
    ).format(sql.SQL(then))  # `then`: the callers' constant SQL, never a value
    rows = conn.execute(query, (pack, *args)).fetchall()
    return [(int(r[0]), vector_array(r[1]), r[2]) for r in rows]


def human_track_labels(conn: psycopg.Connection, pack: str) -> dict[int, int]:
    rows = conn.execute(
        "SELECT id, person_id FROM video_tracks WHERE pack = %s AND assignment_method = 'human'",
        (pack,),
    ).fetchall()
    return {int(r[0]): int(r[1]) for r in rows}


def release_auto(conn: psycopg.Connection, track_ids: list[int]) -> None:
    """Machine labels of these tracks cleared before they are assigned again."""
    conn.execute(
        "UPDATE video_tracks SET person_id = NULL, assignment_method = NULL"
        " WHERE id = ANY(%s) AND assignment_method = 'auto'",
        (track_ids,),
    )


def label_tracks(conn: psycopg.Connection, track_ids: list[int], person_id: int) -> list[int]:
    """A human names these tracks (they leave their cluster, kept with the label), except any
    a human said is not this person; returns the tracks named."""
    return sorted(
        first_column(
            conn,
            sql.SQL(
                "UPDATE video_tracks t SET person_id = %s, {} WHERE t.id = ANY(%s) AND NOT EXISTS"
                " (SELECT 1 FROM video_track_rejections r WHERE r.track_id = t.id"
                " AND r.person_id = %s) RETURNING t.id"
            ).format(HUMAN_LABEL_FROM_CLUSTER),
            (person_id, track_ids, person_id),
        )
    )


def unlabel_tracks(
    conn: psycopg.Connection, track_ids: list[int], person_id: int, cluster_id: str
) -> list[int]:
    """Undo a cluster's naming for its tracks: those still this person's by a human label go
    back, unnamed, to the cluster. Returns the tracks released."""
    return sorted(
        first_column(
            conn,
            "UPDATE video_tracks SET person_id = NULL, assignment_method = NULL, cluster_id = %s,"
            " labelled_from_cluster = NULL"
            " WHERE id = ANY(%s) AND person_id = %s AND assignment_method = 'human' RETURNING id",
            (cluster_id, track_ids, person_id),
        )
    )


def release_human_track_label(conn: psycopg.Connection, track_id: int, person_id: int) -> int:
    """Undo a human's name on a track (the queue's yes): it goes back to unassigned and to the
    cluster it was in when it was named, if it is still this person's by a human label (a
    later decision stays). How many tracks changed."""
    return conn.execute(
        "UPDATE video_tracks SET person_id = NULL, assignment_method = NULL,"
        " cluster_id = labelled_from_cluster, labelled_from_cluster = NULL"
        " WHERE id = %s AND person_id = %s AND assignment_method = 'human'",
        (track_id, person_id),
    ).rowcount


def drop_track_rejections(conn: psycopg.Connection, track_ids: list[int], person_id: int) -> int:
    return conn.execute(
        "DELETE FROM video_track_rejections WHERE person_id = %s AND track_id = ANY(%s)",
        (person_id, track_ids),
    ).rowcount


def remembered_clusters(conn: psycopg.Connection, pack: str) -> list[str]:
    """The clusters the pack's named tracks remember for an undo (through the partial index
    of 0022), distinct and sorted."""
    return first_column(
        conn,
        "SELECT DISTINCT labelled_from_cluster FROM video_tracks"
        " WHERE pack = %s AND labelled_from_cluster IS NOT NULL ORDER BY 1",
        (pack,),
    )


def move_remembered_clusters(
    conn: psycopg.Connection, pack: str, successors: dict[str, str | None]
) -> int:
    """Named tracks remembering a retired cluster remember its successor instead (None: no
    cluster, the undo then leaves the track to the next run). How many tracks changed."""
    if not successors:
        return 0
    old = list(successors)
    return conn.execute(
        "UPDATE video_tracks t SET labelled_from_cluster = m.new"
        " FROM unnest(%s::text[], %s::text[]) AS m(old, new)"
        " WHERE t.pack = %s AND t.labelled_from_cluster = m.old",
        (old, [successors[o] for o in old], pack),
    ).rowcount
