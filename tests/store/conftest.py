"""Stores under test: SQLite in a temporary file, PostgreSQL/PostGIS in a throw-away schema.

PostgreSQL comes from ``HOTZONE_TEST_POSTGRES_DSN`` (``make test`` sets it through
``scripts/services.sh up``); without it this session starts its own cluster through the same
script and stops it afterwards, so ``pytest tests/store`` works alone. A PostgreSQL that
cannot run fails the tests, with the reason: it is never a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from hotzone.store import PostgresStore, SQLiteStore

SERVICES_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "services.sh"
DSN_VARIABLE = "HOTZONE_TEST_POSTGRES_DSN"


def _start_cluster(state_dir: Path) -> str:
    environment = {**os.environ, "HOTZONE_SERVICES_DIR": str(state_dir)}
    try:
        started = subprocess.run(
            [str(SERVICES_SCRIPT), "postgres-up"],
            env=environment,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        pytest.fail(f"could not run {SERVICES_SCRIPT} postgres-up: {error}", pytrace=False)
    prefix = f"export {DSN_VARIABLE}="
    lines = [line for line in started.stdout.splitlines() if line.startswith(prefix)]
    if started.returncode != 0 or not lines:
        pytest.fail(
            f"PostgreSQL with PostGIS could not be started by {SERVICES_SCRIPT} postgres-up "
            f"(exit {started.returncode}); install it with `scripts/services.sh install` or "
            f"set {DSN_VARIABLE}.\nstderr:\n{started.stderr}",
            pytrace=False,
        )
    return lines[-1].removeprefix(prefix)


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    given = os.environ.get(DSN_VARIABLE)
    if given:
        yield given
        return
    # Not under pytest's own temporary folder: that one is private to this user, and the
    # server may run as the `postgres` system user, which must reach its data directory.
    state_dir = Path(tempfile.mkdtemp(prefix="hotzone-pg-"))
    state_dir.chmod(0o755)
    try:
        yield _start_cluster(state_dir)
    finally:
        subprocess.run(
            [str(SERVICES_SCRIPT), "postgres-down"],
            env={**os.environ, "HOTZONE_SERVICES_DIR": str(state_dir)},
            capture_output=True,
            timeout=120,
            check=False,
        )
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture
def postgres_schema(postgres_dsn: str) -> Iterator[str]:
    """A fresh schema name for one test; dropped with everything in it afterwards."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    yield name
    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def store_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def store(
    store_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[SQLiteStore | PostgresStore]:
    """Each contract test runs once on SQLite and once on PostgreSQL, on an empty store."""
    opened: SQLiteStore | PostgresStore
    if store_kind == "sqlite":
        opened = SQLiteStore(tmp_path / "store.sqlite")
    else:
        dsn: str = request.getfixturevalue("postgres_dsn")
        schema: str = request.getfixturevalue("postgres_schema")
        opened = PostgresStore(dsn, schema=schema)
    try:
        yield opened
    finally:
        opened.close()
