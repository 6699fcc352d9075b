"""Shared test fixtures."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def nation_configuration(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The tests' own nation configuration directory (c2 node keys, enrolled operators),
    never the developer's ``~/.config/hotzone``; processes the tests start inherit it.
    A test that needs a fresh one sets ``HOTZONE_HOME`` itself."""
    before = os.environ.get("HOTZONE_HOME")
    os.environ["HOTZONE_HOME"] = str(tmp_path_factory.mktemp("hotzone-home"))
    yield
    if before is None:
        os.environ.pop("HOTZONE_HOME", None)
    else:
        os.environ["HOTZONE_HOME"] = before


@pytest.fixture(scope="session")
def suwalki_demo_seed3_300s(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run folder of ``hotzone demo`` of suwalki-drones, seed 3, 300 s, not live (with
    its report): one run, made once, for the tests that only read such a run
    (tests/runtime/test_demo.py, test_report_agrees.py, tests/web/test_report_page.py). A
    test must not change it.

    Made in a thread of its own: a module that also drives Playwright's sync API holds an
    event loop in the main thread, and the demo runs one of its own."""
    from concurrent.futures import ThreadPoolExecutor

    from rich.console import Console

    from hotzone.runtime.demo import run_demo

    parent = tmp_path_factory.mktemp("suwalki-seed3-300s")
    quiet = Console(file=io.StringIO())
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(
            run_demo, "suwalki-drones", parent, seed=3, duration_s=300.0, live=False, console=quiet
        ).result()
