"""``hotzone ingest``: a file feed and the SAPIENT server recorded into a SQLite store."""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path

import pytest

from hotzone.cli import main
from hotzone.store import SQLiteStore
from tests.ingest.test_sapient import frames, range_bearing_detection, registration, status_report

GOLDEN_EVE = Path(__file__).parents[1] / "golden" / "eve" / "alerts.eve.json"


def test_ingest_file_into_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "run.sqlite"
    assert main(["ingest", "eve", "--file", str(GOLDEN_EVE), "--store", str(store)]) == 0
    assert "eve: 3 messages, 0 dead letters, 3 recorded" in capsys.readouterr().out
    with SQLiteStore(store) as recorded:
        assert recorded.count("event") == 3


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_ingest_sapient_runs_the_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "run.sqlite"
    port = _free_port()
    args = ["ingest", "sapient", "--tcp", f"127.0.0.1:{port}", "--store", str(store)]
    codes: list[int] = []
    command = threading.Thread(target=lambda: codes.append(main([*args, "--duration", "3"])))
    command.start()

    async def sensor() -> bytes:
        for _ in range(100):  # wait for the server to listen
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except ConnectionRefusedError:
                await asyncio.sleep(0.02)
        writer.write(frames(registration(), status_report(), range_bearing_detection()))
        await writer.drain()
        ack = await asyncio.wait_for(reader.read(4096), 2.0)
        writer.close()
        return ack

    assert asyncio.run(sensor())  # the registration was answered
    command.join(timeout=30)
    assert codes == [0]
    out = capsys.readouterr().out
    assert f"listening on 127.0.0.1:{port}" in out and "0 dead letters" in out
    with SQLiteStore(store) as recorded:
        assert recorded.count("detection") == 1
        assert recorded.count("event") >= 3  # registered, status, behaviour (+ disconnect)
