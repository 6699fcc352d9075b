"""Shared test fixtures."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

#: The mark that says how long a test (or its module's set-up) takes on the 2-core machine.
SLOW = "slow"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files holding the longest tests run first, longest first.

    `make test` runs two workers (pytest-xdist), each taking whole files in this order
    (``--dist loadfile --no-loadscope-reorder``: a module's fixtures are made once). Were a
    five-minute end-to-end test taken last, one worker would run it alone at the end; taken
    first, the other worker meanwhile runs the many short files (and `ONE_AT_A_TIME`
    keeps the two browser end-to-end runs apart). Order within a file, and of the files
    without a ``slow`` mark, is pytest's."""
    longest: dict[Path, float] = {}
    for item in items:
        mark = item.get_closest_marker(SLOW)
        seconds = float(mark.args[0]) if mark is not None and mark.args else 0.0
        longest[item.path] = max(longest.get(item.path, 0.0), seconds)
    items.sort(key=lambda item: -longest[item.path])


#: Files that drive a live run in Chromium at a set speed, each needing most of a core to
#: keep its run in time: one worker runs them one after the other, never two at once.
ONE_AT_A_TIME = ("tests/web/test_effectors_e2e.py", "tests/web/test_decider_e2e.py")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile`` with the files of `ONE_AT_A_TIME` as one unit of work (in the
    place of the first of them in the run's order)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class FilesOneAtATime(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return ONE_AT_A_TIME[0] if path in ONE_AT_A_TIME else path

    return FilesOneAtATime(config, log)


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
    test must not change it."""
    from tests.demo_runs import run_home, suwalki_run

    def make(parent: Path) -> Path:
        # The run's c2 node key is made in a nation configuration of its own, beside the
        # run (`run_home`): under pytest-xdist the worker that verifies the run's audit
        # chain may not be the one that made it, and each worker has its own HOTZONE_HOME.
        before = os.environ.get("HOTZONE_HOME")
        os.environ["HOTZONE_HOME"] = str(parent / "hotzone-home")
        try:
            run = suwalki_run(parent, duration_s=300.0)
        finally:
            if before is None:
                os.environ.pop("HOTZONE_HOME", None)
            else:
                os.environ["HOTZONE_HOME"] = before
        assert run_home(run).is_dir()
        return run

    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return make(tmp_path_factory.mktemp("suwalki-seed3-300s"))
    # Under pytest-xdist each worker has a session of its own: the first worker to need
    # the run makes it in the folder all workers of this pytest run share (the parent of
    # a worker's base folder), the others wait on the lock and read it (~18 s saved).
    shared = tmp_path_factory.getbasetemp().parent / "suwalki-seed3-300s"
    shared.mkdir(exist_ok=True)
    made = shared / "run-folder.txt"
    with (shared / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not made.exists():
            made.write_text(str(make(shared / "made")))
        return Path(made.read_text())


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real nats-server with JetStream on 127.0.0.1 for one test module (its own store
    directory), stopped after the module's tests."""
    from tests.federation.servers import running_standalone

    with running_standalone(tmp_path_factory.mktemp("nats")) as server:
        yield server.plan.url
