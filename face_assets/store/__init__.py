"""The only place with SQL and psycopg: the Store, migrations and queries."""

from face_assets.store.store import Connection, Store

__all__ = ["Connection", "Store"]
