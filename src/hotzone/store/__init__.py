"""Persistence: the `Store` protocol and its SQLite implementation."""

from hotzone.store.base import Store, StoredMessage
from hotzone.store.sqlite import SQLiteStore

__all__ = ["SQLiteStore", "Store", "StoredMessage"]
