"""``hotzone serve`` and ``hotzone demo --serve`` as a user runs them: a process that prints
its URL, serves the page and the API with the picture, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hotzone.runtime.federation_servers import free_port

HOTZONE = str(Path(sys.executable).with_name("hotzone"))
START_TIMEOUT_S = 180.0
URL = re.compile(r"hotzone COP: (https?://\S+)")


class Served:
    """A hotzone process whose output is read as it comes."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [HOTZONE, *args],
            cwd=cwd,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def url(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if found := URL.search(line):
                    return found.group(1).rstrip("/")
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"no URL printed; output: {''.join(self.lines)[-2000:]}")

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=60)
        finally:
            self.close()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def processes() -> Iterator[list[Served]]:
    started: list[Served] = []
    yield started
    for served in started:
        served.close()


def _confirmed_tracks(url: str, username: str = "observer") -> list[dict[str, object]]:
    with httpx.Client(base_url=url, timeout=30) as client:
        login = {"username": username, "password": f"{username}-test"}
        token = client.post("/api/login", json=login).json()["token"]
        headers = {"authorization": f"Bearer {token}"}
        tracks: list[dict[str, object]] = client.get(
            "/api/tracks?status=confirmed", headers=headers
        ).json()
        return tracks


def _wait_for_tracks(
    url: str, timeout_s: float = START_TIMEOUT_S, count: int = 1
) -> list[dict[str, object]]:
    """At least ``count`` confirmed tracks. The URL is printed before the server has loaded
    its picture and bound its port, so a refused connection is waited out too."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            tracks = _confirmed_tracks(url)
        except httpx.ConnectError:
            tracks = []
        if len(tracks) >= count:
            return tracks
        time.sleep(1.0)
    raise AssertionError(f"the picture did not show {count} confirmed tracks in time")


def test_serve_plays_a_scenario_live_and_stops_on_ctrl_c(
    tmp_path: Path, processes: list[Served]
) -> None:
    port = free_port()
    served = Served(
        ["serve", "--port", str(port), "--speed", "max", "--duration", "90", "--out", "runs"],
        tmp_path,
    )
    processes.append(served)
    url = served.url()
    assert url == f"http://127.0.0.1:{port}"
    tracks = _wait_for_tracks(url)
    assert all(track["sidc"] for track in tracks)
    with httpx.Client(base_url=url, timeout=30) as client:
        page = client.get("/")
        assert page.status_code == 200 and "maplibre" in page.text.lower()
        token = client.post(
            "/api/login", json={"username": "observer", "password": "observer-test"}
        ).json()["token"]
        metrics = client.get("/metrics", headers={"authorization": f"Bearer {token}"}).text
    # The live pipeline's stages are on the API's /metrics (hotzone.runtime.metrics).
    assert 'hotzone_stage_messages_in_total{stage="fusion",type="Detection"}' in metrics
    assert 'hotzone_stage_step_seconds_count{stage="fusion"}' in metrics
    assert 'hotzone_queue_depth{consumer="recorder"}' in metrics
    assert served.interrupt() == 0
    assert len(list((tmp_path / "runs").glob("suwalki-drones-seed1-*-live"))) == 1


def test_demo_serve_prints_the_url_of_the_finished_run(
    tmp_path: Path, processes: list[Served]
) -> None:
    port = free_port()
    served = Served(
        ["demo", "--serve", "--quiet", "--duration", "60", "--port", str(port), "--out", "runs"],
        tmp_path,
    )
    processes.append(served)
    url = served.url()
    output = "".join(served.lines)
    assert "run folder:" in output and "after-action report:" in output
    assert _wait_for_tracks(url, timeout_s=60)
    assert served.interrupt() == 0
