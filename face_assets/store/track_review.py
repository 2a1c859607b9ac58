"""SQL for reviewing video tracks (issue 20): a track's thumbnail (its best frame), the tracks
shown on the cluster list, tracks per person for the CLI, and the tracks the "Is this X?"
queue may ask about. A track's best frame is its best-quality kept face, earliest on a tie
(ORDER BY quality DESC, frame_idx: store/tracks.py's track cards use the same order)."""

from __future__ import annotations

import numpy as np
import psycopg

from face_assets.store.track_labels import machine_tracks


def track_thumb_path(conn: psycopg.Connection, track_id: int) -> str | None:
    """The media path of a track's best frame crop (None: no such track, e.g. forgotten)."""
    row = conn.execute(
        "SELECT thumb_path FROM video_faces WHERE track_id = %s"
        " ORDER BY quality DESC, frame_idx, id LIMIT 1",
        (track_id,),
    ).fetchone()
    return None if row is None else row[0]


def track_cards_by_cluster(
    conn: psycopg.Connection, cluster_ids: list[str], per_cluster: int
) -> dict[str, list[dict]]:
    """Up to `per_cluster` unassigned tracks of each of these clusters (longest first), each as
    its best frame with the clip's path and the time: the cluster list's track thumbnails."""
    rows = conn.execute(
        "SELECT cluster_id, id, video, time_s FROM (SELECT t.cluster_id, t.id, v.rel_path AS"
        " video, b.time_s, row_number() OVER (PARTITION BY t.cluster_id ORDER BY t.face_count"
        " DESC, t.id) AS n FROM video_tracks t JOIN videos v ON v.id = t.video_id"
        " JOIN LATERAL (SELECT time_s FROM video_faces f WHERE f.track_id = t.id"
        " ORDER BY quality DESC, frame_idx, id LIMIT 1) b ON true"
        " WHERE t.cluster_id = ANY(%s) AND t.person_id IS NULL) c WHERE n <= %s"
        " ORDER BY cluster_id, n",
        (list(cluster_ids), per_cluster),
    ).fetchall()
    found: dict[str, list[dict]] = {}
    for cluster, track, video, time_s in rows:
        found.setdefault(cluster, []).append(
            {"track_id": int(track), "video": video, "time_s": float(time_s)}
        )
    return found


def track_ids_by_cluster(conn: psycopg.Connection, cluster_ids: list[str]) -> dict[str, list[int]]:
    """cluster id -> the ids of its unassigned tracks (what naming the cluster would name)."""
    rows = conn.execute(
        "SELECT cluster_id, array_agg(id ORDER BY id) FROM video_tracks"
        " WHERE cluster_id = ANY(%s) AND person_id IS NULL GROUP BY cluster_id",
        (list(cluster_ids),),
    ).fetchall()
    return {r[0]: [int(t) for t in r[1]] for r in rows}


def tracks_per_person(conn: psycopg.Connection, pack: str) -> dict[int, tuple[int, int]]:
    """person id -> (tracks, of them named by a human) in this pack."""
    rows = conn.execute(
        "SELECT person_id, count(*), count(*) FILTER (WHERE assignment_method = 'human')"
        " FROM video_tracks WHERE pack = %s AND person_id IS NOT NULL GROUP BY person_id",
        (pack,),
    ).fetchall()
    return {int(p): (int(n), int(h)) for p, n, h in rows}


def person_track_count(conn: psycopg.Connection, person_id: int) -> int:
    return int(
        conn.execute(
            "SELECT count(*) FROM video_tracks WHERE person_id = %s", (person_id,)
        ).fetchone()[0]
    )


def queue_tracks(
    conn: psycopg.Connection, pack: str, probes: int
) -> list[tuple[int, np.ndarray, int | None]]:
    """(track id, mean embedding, machine-assigned person or None) of up to `probes` tracks no
    human named, longest first: what the queue matches against the persons' centroids."""
    return machine_tracks(conn, pack, " ORDER BY face_count DESC, id LIMIT %s", (probes,))


def rejected_persons(conn: psycopg.Connection, track_ids: list[int]) -> dict[int, set[int]]:
    """track id -> the persons a human said it is not."""
    rows = conn.execute(
        "SELECT track_id, person_id FROM video_track_rejections WHERE track_id = ANY(%s)",
        (list(track_ids),),
    ).fetchall()
    found: dict[int, set[int]] = {}
    for track, person in rows:
        found.setdefault(int(track), set()).add(int(person))
    return found


def track_facts(conn: psycopg.Connection, track_ids: list[int]) -> dict[int, dict]:
    """track id -> its clip's path, the best frame's index and time, and its face count."""
    rows = conn.execute(
        "SELECT t.id, v.rel_path, b.frame_idx, b.time_s, t.face_count FROM video_tracks t"
        " JOIN videos v ON v.id = t.video_id JOIN LATERAL (SELECT frame_idx, time_s FROM"
        " video_faces f WHERE f.track_id = t.id ORDER BY quality DESC, frame_idx, id LIMIT 1)"
        " b ON true"
        " WHERE t.id = ANY(%s)",
        (list(track_ids),),
    ).fetchall()
    return {
        int(r[0]): {"video": r[1], "frame_idx": int(r[2]), "time_s": float(r[3]),
                    "face_count": int(r[4])}
        for r in rows
    }  # fmt: skip
