"""``hotzone ingest asterix --udp``: each datagram is framed on its own."""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hotzone.cli import main
from hotzone.ingest.registry import DecoderOptions, decoder_factories
from hotzone.store import SQLiteStore
from hotzone.types import DeadLetter, Report
from tests.ingest.asterix.reference import golden_payloads

LISTEN_TIMEOUT_S = 60.0


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_cut_datagram_is_refused_alone_and_the_next_one_decodes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sender's datagram cut short (a truncated data block) must not swallow the next
    sender's datagram, as it would if the bytes were one stream."""
    whole = golden_payloads("cat062cat065.raw")[0]
    cut = whole[:40]
    # What the library makes of the whole datagram, framed on its own.
    options = DecoderOptions(framing="datagram")
    expected = decoder_factories()["asterix"](options).feed(whole, datetime.now(UTC))
    expected_reports = sum(isinstance(m, Report) for m in expected.messages)
    assert expected_reports > 0 and not expected.rejected

    port = _free_udp_port()
    store = tmp_path / "feed.sqlite"
    codes: list[int] = []
    args = ["ingest", "asterix", "--udp", f"127.0.0.1:{port}", "--store", str(store)]
    command = threading.Thread(target=lambda: codes.append(main([*args, "--duration", "6"])))
    command.start()
    output = ""
    try:
        deadline = time.monotonic() + LISTEN_TIMEOUT_S
        while "receiving datagrams" not in output and time.monotonic() < deadline:
            time.sleep(0.05)
            output += capsys.readouterr().out
        assert "receiving datagrams" in output, "the command never bound its UDP port"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(cut, ("127.0.0.1", port))
            sender.sendto(whole, ("127.0.0.1", port))
    finally:
        command.join(timeout=LISTEN_TIMEOUT_S)
    output += capsys.readouterr().out
    assert codes == [0]
    assert f"asterix: {expected_reports} messages, 1 dead letters" in output
    with SQLiteStore(store) as recorded:
        messages = [stored.message for stored in recorded.replay()]
    letters = [m for m in messages if isinstance(m, DeadLetter)]
    assert len(letters) == 1 and letters[0].raw == cut
    assert sum(isinstance(m, Report) for m in messages) == expected_reports
