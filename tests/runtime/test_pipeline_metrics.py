"""``--metrics-port``: running ``hotzone ingest`` and ``hotzone node`` processes, scraped.

Each test starts the real command as its own process, feeds it (good input, malformed
input, a connection beyond the limit, a burst of datagrams faster than it decodes) and
reads the Prometheus text it serves, parsed by ``prometheus_client``'s own parser.
"""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.federation.servers import running_standalone
from tests.ingest.asterix.reference import golden_payloads

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
WAIT_S = 60.0
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class Command:
    """``python -m hotzone.cli ARGS`` as a process, its output read line by line."""

    def __init__(self, args: list[str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hotzone.cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []

    def wait_for_line(self, pattern: str) -> re.Match[str]:
        assert self.process.stdout is not None
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            found = re.search(pattern, line)
            if found:
                return found
        raise AssertionError(f"no line matching {pattern!r} in: {''.join(self.lines)}")

    def metrics_url(self) -> str:
        return self.wait_for_line(r"metrics: (http://\S+)").group(1)

    def finish(self) -> str:
        """Everything it printed, once it has stopped by itself (``--duration``)."""
        rest, _ = self.process.communicate(timeout=WAIT_S)
        assert self.process.returncode == 0, "".join(self.lines) + rest
        return "".join(self.lines) + rest

    def interrupt(self) -> str:
        """Ctrl-C; everything it printed."""
        self.process.send_signal(signal.SIGINT)
        rest, _ = self.process.communicate(timeout=WAIT_S)
        return "".join(self.lines) + rest


@contextmanager
def command(args: list[str]) -> Iterator[Command]:
    running = Command(args)
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.communicate(timeout=WAIT_S)


def scrape(url: str) -> Samples:
    with urllib.request.urlopen(url, timeout=10) as answer:
        text = answer.read().decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= set(found))


def scrape_until(url: str, done: object) -> Samples:
    """Scrape until ``done(samples)`` holds (what the process has not counted yet, it will)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        samples = scrape(url)
        if done(samples) or time.monotonic() > deadline:  # type: ignore[operator]
            return samples
        time.sleep(0.2)


def free_port(kind: socket.SocketKind = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def connect_when_listening(port: int) -> socket.socket:
    """A connection to 127.0.0.1:PORT (the listener may print its metrics line before it
    accepts)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port))
        except ConnectionRefusedError:
            assert time.monotonic() < deadline, "ingest never listened"
            time.sleep(0.1)


def test_ingest_metrics_count_messages_dead_letters_and_refused_connections() -> None:
    port = free_port()
    args = ["ingest", "sbs", "--listen-tcp", f"127.0.0.1:{port}", "--max-connections", "1"]
    with command([*args, "--metrics-port", "0"]) as ingest:
        url = ingest.metrics_url()
        before = scrape(url)
        assert value(before, "hotzone_source_messages_total", source="sbs") == 0
        feed = (GOLDEN / "adsb" / "sbs1_msgs.txt").read_bytes()
        with connect_when_listening(port) as held:
            held.sendall(feed + b"MSG,this is not SBS\n")
            # A second connection while the first is open is beyond --max-connections 1.
            with socket.create_connection(("127.0.0.1", port)) as refused:
                refused.settimeout(WAIT_S)
                assert refused.recv(1) == b""  # closed by the server at once
            samples = scrape_until(
                url,
                lambda s: (
                    total(s, "hotzone_dead_letters_total", source="sbs") >= 1
                    and value(s, "hotzone_connections_refused_total", source="sbs", reason="limit")
                ),
            )
            assert value(samples, "hotzone_connections_open", source="sbs") == 1
        output = ingest.interrupt()
    assert value(samples, "hotzone_source_messages_total", source="sbs") > 0
    assert value(samples, "hotzone_source_bytes_total", source="sbs") >= len(feed)
    assert value(samples, "hotzone_connections_refused_total", source="sbs", reason="limit") == 1
    dead = {
        dict(labels)["reason"]: n
        for (name, labels), n in samples.items()
        if name == "hotzone_dead_letters_total"
    }
    assert sum(dead.values()) >= 1 and all(dead), dead
    assert value(samples, "hotzone_source_decode_seconds_count", source="sbs") >= 1
    # Stopped with Ctrl-C, it still says what it received and refused.
    assert re.search(r"sbs: \d+ messages, \d+ dead letters", output), output
    assert "1 connections refused (too many)" in output


def test_ingest_track_metrics_count_what_the_tracker_took_in() -> None:
    """``ingest --track``: the tracker is the stage ``tracking``; every report the source
    published is counted in by it (not only its Track messages out)."""
    port = free_port()
    args = ["ingest", "sbs", "--listen-tcp", f"127.0.0.1:{port}", "--track"]
    with command([*args, "--metrics-port", "0"]) as ingest:
        url = ingest.metrics_url()
        assert value(scrape(url), "hotzone_stage_messages_in_total", stage="tracking") == 0
        with connect_when_listening(port) as feed:
            feed.sendall((GOLDEN / "adsb" / "sbs1_msgs.txt").read_bytes())
            samples = scrape_until(
                url,
                lambda s: (
                    0
                    < value(s, "hotzone_source_messages_total", source="sbs")
                    == total(s, "hotzone_stage_messages_in_total", stage="tracking")
                ),
            )
        ingest.interrupt()
    published = value(samples, "hotzone_source_messages_total", source="sbs")
    taken = {
        dict(labels)["type"]: n
        for (name, labels), n in samples.items()
        if name == "hotzone_stage_messages_in_total" and dict(labels)["stage"] == "tracking"
    }
    print(f"published {published:.0f}, taken in by the tracker {taken}")
    assert published > 0
    assert taken == {"Report": published}


def test_a_udp_burst_faster_than_decoding_is_all_accounted_for() -> None:
    """sent = received + dropped by the kernel, and received = decoded + left at the stop +
    dropped by the receiver: nothing is lost without being counted, on /metrics and in the
    summary."""
    block = golden_payloads("cat062cat065.raw")[0]
    garbage = b"\x30\xff\xff not asterix"
    port = free_port(socket.SOCK_DGRAM)
    args = ["ingest", "asterix", "--udp", f"127.0.0.1:{port}", "--metrics-port", "0"]
    sent = 0
    with command([*args, "--udp-buffer", "1", "--duration", "8"]) as ingest:
        url = ingest.metrics_url()
        granted = ingest.wait_for_line(r"receive buffer: (\d+) KiB granted")
        assert int(granted.group(1)) > 0
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for index in range(30_000):  # a few seconds of decoding, sent in well under one
                sender.sendto(garbage if index % 1000 == 0 else block, ("127.0.0.1", port))
                sent += 1
        samples = scrape_until(
            url,
            lambda s: (
                value(s, "hotzone_udp_datagrams_received_total", source="asterix")
                + total(s, "hotzone_udp_datagrams_dropped_total", source="asterix")
                >= sent
            ),
        )
        # Counted while it runs: what the receiver took, and refusals of the decoder.
        assert value(samples, "hotzone_udp_datagrams_received_total", source="asterix") > 0
        assert value(samples, "hotzone_udp_receive_buffer_bytes", source="asterix") > 0
        assert total(samples, "hotzone_dead_letters_total", source="asterix") >= 1
        output = ingest.finish()
    summary = re.search(
        r"(\d+) datagrams received, (\d+) decoded, (\d+) left undecoded at the stop; "
        r"dropped: (\d+) by the kernel .*, (\d+) by the receiver",
        output,
    )
    assert summary is not None, output
    received, decoded, left, by_kernel, by_receiver = map(int, summary.groups())
    print(f"sent {sent}: {summary.group(0)}")
    assert received + by_kernel == sent
    assert decoded + left + by_receiver == received
    assert decoded > 0


def test_node_metrics_count_stage_inputs_outputs_and_malformed_bus_messages(
    tmp_path: Path,
) -> None:
    import nats

    with running_standalone(tmp_path) as server:
        args = ["node", "--nation", "PL", "--nats", server.plan.url, "--domain", "pl"]
        store = str(tmp_path / "pl.sqlite")
        # Paced, so that the node is still running while it is scraped.
        node_args = [*args, "--duration", "120", "--speed", "20", "--store", store]
        with command([*node_args, "--metrics-port", "0"]) as node:
            url = node.metrics_url()

            async def publish_garbage() -> None:
                client = await nats.connect(server.plan.url)
                try:
                    await client.publish("hz.PL.det.garbage.sensor", b"{not json")
                    await client.flush()
                finally:
                    await client.close()

            samples = scrape_until(url, lambda s: total(s, "hotzone_stage_messages_in_total") > 0)
            asyncio.run(publish_garbage())
            samples = scrape_until(url, lambda s: total(s, "hotzone_stage_dead_letters_total"))
            node.interrupt()
    assert total(samples, "hotzone_stage_messages_in_total") > 0
    assert total(samples, "hotzone_stage_messages_out_total") > 0
    assert total(samples, "hotzone_stage_dead_letters_total") >= 1
    assert total(samples, "hotzone_stage_step_seconds_count") > 0
    assert total(samples, "hotzone_recorded_messages_total") > 0
    assert any(name == "hotzone_queue_depth" for name, _ in samples)
