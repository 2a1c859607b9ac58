"""Reading a query's rows in a shape its caller wants (the SQL stays with the caller)."""

from __future__ import annotations

from typing import Any

import psycopg


def first_column(conn: psycopg.Connection, query: Any, args: tuple | dict = ()) -> list:
    """The first value of every row of `query`, in the rows' order."""
    return [r[0] for r in conn.execute(query, args)]


def keyed(conn: psycopg.Connection, query: Any, args: tuple | dict = ()) -> dict:
    """{first column: second column} over the rows of `query` (a later row wins a repeated
    key): the per-month, per-cluster and per-id tallies and lookups."""
    return dict(conn.execute(query, args).fetchall())


def the_row(conn: psycopg.Connection, query: Any, args: tuple | dict, missing: str) -> tuple:
    """The row `query` finds; a LookupError saying `missing` when it finds none."""
    row = conn.execute(query, args).fetchone()
    if row is None:
        raise LookupError(missing)
    return row


def row_dict(
    conn: psycopg.Connection, query: Any, args: tuple | dict, keys: tuple[str, ...]
) -> dict | None:
    """The row `query` finds as {key: value} (`keys`: its columns, in order); None when it
    finds none."""
    row = conn.execute(query, args).fetchone()
    return None if row is None else dict(zip(keys, row, strict=True))


def dicts(
    conn: psycopg.Connection, query: Any, args: tuple | dict, keys: tuple[str, ...]
) -> list[dict]:
    """Every row `query` finds as {key: value} (`keys`: its columns, in order), in the rows'
    order: the shape listings hand to the CLI and the HTTP API."""
    return [dict(zip(keys, row, strict=True)) for row in conn.execute(query, args)]
