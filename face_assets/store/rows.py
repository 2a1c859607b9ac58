"""Reading a query's rows in a shape its caller wants (the SQL stays with the caller)."""

from __future__ import annotations

from typing import Any

import psycopg


def first_column(conn: psycopg.Connection, query: Any, args: tuple | dict = ()) -> list:
    """The first value of every row of `query`, in the rows' order."""
    return [r[0] for r in conn.execute(query, args)]
