"""Fixtures of the federation tests: a PostgreSQL for the node that records into one."""

from tests.store.conftest import postgres_dsn

__all__ = ["postgres_dsn"]
