"""Shared test fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator

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
