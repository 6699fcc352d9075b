"""Persistence: the `Store` protocol, its SQLite and PostgreSQL/PostGIS implementations.

`open_store` picks one from what the user typed after ``--store``: a ``postgresql://`` URL
opens a `PostgresStore`, anything else is the path of an SQLite file.
"""

from __future__ import annotations

from pathlib import Path

from hotzone.store.base import Store, StoredMessage
from hotzone.store.postgres import PostgresStore, PostgresStoreError
from hotzone.store.spatial import SpatialQueryError, SpatialStore
from hotzone.store.sqlite import SQLiteStore

POSTGRES_SCHEMES = ("postgresql://", "postgres://")

__all__ = [
    "POSTGRES_SCHEMES",
    "PostgresStore",
    "PostgresStoreError",
    "SQLiteStore",
    "SpatialQueryError",
    "SpatialStore",
    "Store",
    "StoredMessage",
    "open_store",
]


def open_store(url_or_path: str | Path, schema: str | None = None) -> SQLiteStore | PostgresStore:
    """The store named by ``--store``: PostgreSQL for a ``postgresql://`` URL, else SQLite.

    ``schema`` (PostgreSQL only) keeps the tables in their own schema.
    """
    text = str(url_or_path)
    if text.startswith(POSTGRES_SCHEMES):
        return PostgresStore(text, schema=schema)
    if schema is not None:
        raise ValueError(f"schema {schema!r} applies to PostgreSQL only, not to {text!r}")
    if not text:
        raise ValueError("store path is empty: give an SQLite file or a postgresql:// URL")
    return SQLiteStore(text)
