"""Rows the store tests build by hand: what a test needs and nothing the pipeline would add."""

from __future__ import annotations

import psycopg


def bare_image(conn: psycopg.Connection, rel_path: str, month: str) -> int:
    """Id of a new 'ok' image row with no file behind it (its sha256 is its path): the parent
    row faces need."""
    return conn.execute(
        "INSERT INTO images (sha256, rel_path, byte_size, time_source, month, status)"
        " VALUES (%s, %s, 1, 'mtime', %s, 'ok') RETURNING id",
        (rel_path, rel_path, month),
    ).fetchone()[0]
