"""The event loop of hotzone's processes: uvloop where installed, asyncio's own when it is
turned off (``HOTZONE_UVLOOP=0``) or missing (`hotzone.runtime.event_loop`)."""

from __future__ import annotations

import gc
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hotzone.runtime import event_loop
from tests.federation.servers import running_standalone
from tests.runtime.test_pipeline_metrics import WAIT_S, Command, free_port, scrape_until, value


class _Node(Command):
    """``python -m hotzone.cli ARGS --metrics-port 0`` with its own environment (a node, or
    another command)."""

    def __init__(self, args: list[str], environment: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hotzone.cli", *args, "--metrics-port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=environment,
        )
        self.lines = []


@pytest.mark.parametrize(
    ("setting", "expected"), [(None, "uvloop"), ("0", "asyncio"), ("off", "asyncio")]
)
def test_a_node_started_by_the_cli_says_on_its_metrics_which_loop_it_runs_on(
    tmp_path: Path, setting: str | None, expected: str
) -> None:
    pytest.importorskip("uvloop")  # a dependency of hotzone: installed with it
    environment = {k: v for k, v in os.environ.items() if k != event_loop.UVLOOP_ENV}
    if setting is not None:
        environment[event_loop.UVLOOP_ENV] = setting
    with running_standalone(tmp_path) as server:
        args = ["node", "--nation", "PL", "--nats", server.plan.url, "--domain", "pl"]
        store = str(tmp_path / "pl.sqlite")
        # Paced, so that the node is still running while it is scraped.
        node = _Node([*args, "--duration", "120", "--speed", "20", "--store", store], environment)
        try:
            url = node.metrics_url()
            samples = scrape_until(
                url, lambda s: any(name == "hotzone_event_loop_info" for name, _ in s)
            )
            output = node.interrupt()
        finally:
            if node.process.poll() is None:
                node.process.kill()
                node.process.communicate(timeout=WAIT_S)
    loops = {
        labels: v for (name, labels), v in samples.items() if name == "hotzone_event_loop_info"
    }
    assert loops == {(("loop", expected),): 1.0}, output
    assert value(samples, "hotzone_event_loop_info", loop=expected) == 1.0


async def _which_loop() -> str:
    return event_loop.running_loop_kind()


def test_without_uvloop_a_process_runs_on_asyncios_loop_and_warns(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(event_loop.UVLOOP_ENV, raising=False)
    # ``import uvloop`` fails as where it is not installed (restored after the test).
    monkeypatch.setitem(sys.modules, "uvloop", None)
    told: list[str] = []
    with caplog.at_level(logging.INFO, logger=event_loop.__name__):
        assert event_loop.run(_which_loop(), on_start=told.append) == "asyncio"
    assert told == ["asyncio"]
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "uvloop is not installed" in record.getMessage()


def test_uvloop_turned_off_is_said_without_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(event_loop.UVLOOP_ENV, "0")
    with caplog.at_level(logging.INFO, logger=event_loop.__name__):
        assert event_loop.run(_which_loop()) == "asyncio"
    [record] = caplog.records
    assert record.levelno == logging.INFO
    assert "turned off" in record.getMessage()


def test_uvloop_runs_the_coroutine_when_installed(caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("uvloop")
    told: list[str] = []
    with caplog.at_level(logging.INFO, logger=event_loop.__name__):
        assert event_loop.run(_which_loop(), use_uvloop=True, on_start=told.append) == "uvloop"
    assert told == ["uvloop"]
    assert "event loop: uvloop" in caplog.text


async def _frozen_objects() -> int:
    return gc.get_freeze_count()


def test_what_was_made_before_the_loop_is_frozen_while_it_runs_and_given_back_after() -> None:
    # Frozen: the collector's full runs no longer scan the modules and classes (a 180-200 ms
    # pause under sharing load); after the run, a program that ran the command has its
    # objects back in the collector's care.
    assert gc.get_freeze_count() == 0
    assert event_loop.run(_frozen_objects()) > 10_000
    assert gc.get_freeze_count() == 0


def test_ingest_stays_on_asyncios_loop_where_uvloop_is_installed() -> None:
    # It serves SAPIENT over TLS, whose refusals uvloop 0.21 got wrong (hotzone ingest).
    pytest.importorskip("uvloop")
    environment = {k: v for k, v in os.environ.items() if k != event_loop.UVLOOP_ENV}
    args = ["ingest", "sbs", "--listen-tcp", f"127.0.0.1:{free_port()}"]
    ingest = _Node(args, environment)
    try:
        url = ingest.metrics_url()
        samples = scrape_until(url, lambda s: any(n == "hotzone_event_loop_info" for n, _ in s))
        output = ingest.interrupt()
    finally:
        if ingest.process.poll() is None:
            ingest.process.kill()
            ingest.process.communicate(timeout=WAIT_S)
    assert value(samples, "hotzone_event_loop_info", loop="asyncio") == 1.0, output
    assert value(samples, "hotzone_event_loop_info", loop="uvloop") == 0.0
