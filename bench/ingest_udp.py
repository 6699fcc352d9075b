"""Receiving ASTERIX over UDP: the highest rate without loss, before and after issue 17.

Not run by ``make test``. A sender paces CAT062 datagrams (195 bytes, 2 reports each) at
increasing rates for ``--seconds`` to a real receiver on 127.0.0.1, then the receiver runs
2 s more to catch up. Two receivers, measured in the same run:

- ``in-loop``: what ``hotzone ingest asterix --udp`` did before issue 17 (the socket read
  by the asyncio loop that also decodes and publishes, the kernel's default receive
  buffer), kept here as it was: a datagram endpoint queueing into the loop, feeding a
  `SourcePublisher`;
- ``now``: ``hotzone ingest asterix --udp`` (`hotzone.runtime.udp_receiver`: a thread
  empties a 32 MiB socket buffer into a backlog the loop decodes).

For each rate it prints the datagrams sent, decoded and lost (lost = sent - decoded - left
undecoded at the stop: what the kernel or a queue dropped) and what the receiver counted
as dropped, which, now, must equal what was lost. "Lossless" is no datagram
lost; "sustained" is lossless with nothing left undecoded 2 s after the sender stopped.

    .venv/bin/python bench/ingest_udp.py --seconds 5
"""

from __future__ import annotations

import argparse
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

GOLDEN = Path(__file__).parents[1] / "tests" / "golden"
REPORTS_PER_DATAGRAM = 2
CATCH_UP_S = 2.0
STARTUP_WAIT_S = 60.0

IN_LOOP_RECEIVER = """
import asyncio, contextlib, sys
from hotzone.bus import InProcessBus
from hotzone.ingest.base import DecoderOptions
from hotzone.ingest.registry import decoder_factories
from hotzone.runtime.sources import SourcePublisher

class Queueing(asyncio.DatagramProtocol):
    def __init__(self, queue):
        self.queue, self.dropped = queue, 0

    def datagram_received(self, data, addr):
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:
            self.dropped += 1

async def chunks(port, protocol):
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: protocol, local_addr=("127.0.0.1", port))
    print("receiving datagrams", flush=True)
    try:
        while True:
            yield await protocol.queue.get()
    finally:
        transport.close()

async def main(port, duration):
    publisher = SourcePublisher(InProcessBus(), "PL")
    decoder = decoder_factories()["asterix"](DecoderOptions(framing="datagram"))
    protocol = Queueing(asyncio.Queue(maxsize=65536))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(publisher.pump(decoder, chunks(port, protocol)), duration)
    print(f"decoded {publisher.counters.chunks} queue-dropped {protocol.dropped}", flush=True)

asyncio.run(main(int(sys.argv[1]), float(sys.argv[2])))
"""


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def send_paced(port: int, rate: float, seconds: float, datagram: bytes) -> int:
    """Send ``rate`` datagrams a second for ``seconds``, in 1 ms slices; how many were sent."""
    sent = 0
    start = time.perf_counter()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        while (elapsed := time.perf_counter() - start) < seconds:
            due = int(elapsed * rate)
            while sent < due:
                sender.sendto(datagram, ("127.0.0.1", port))
                sent += 1
            time.sleep(0.0005)
    return sent


def run_receiver(mode: str, rate: float, seconds: float, datagram: bytes) -> dict[str, int]:
    port = free_udp_port()
    duration = str(seconds + CATCH_UP_S + 1.0)
    if mode == "in-loop":
        command = [sys.executable, "-c", IN_LOOP_RECEIVER, str(port), duration]
    else:
        command = [sys.executable, "-m", "hotzone.cli", "ingest", "asterix", "--udp"]
        command += [f"127.0.0.1:{port}", "--duration", duration]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    deadline = time.monotonic() + STARTUP_WAIT_S
    while "receiving datagrams" not in process.stdout.readline():
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(f"{mode} receiver did not start")
    sent = send_paced(port, rate, seconds, datagram)
    output, _ = process.communicate(timeout=STARTUP_WAIT_S + seconds)
    if mode == "in-loop":
        found = re.search(r"decoded (\d+) queue-dropped (\d+)", output)
        assert found is not None, output
        decoded, counted = int(found.group(1)), int(found.group(2))
        left = 0
    else:
        found = re.search(
            r"(\d+) datagrams received, (\d+) decoded, (\d+) left undecoded at the stop; "
            r"dropped: (\d+) by the kernel .*, (\d+) by the receiver",
            output,
        )
        assert found is not None, output
        _, decoded, left, by_kernel, by_receiver = map(int, found.groups())
        counted = by_kernel + by_receiver
    return {"sent": sent, "decoded": decoded, "left": left, "counted_drops": counted}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="sending time per rate")
    parser.add_argument(
        "--rates",
        default="1000,2000,3000,4000,6000,8000,12000,16000",
        help="datagrams per second to try (2 reports each)",
    )
    args = parser.parse_args()
    datagram = (GOLDEN / "asterix" / "cat062cat065.raw").read_bytes()
    rates = [float(rate) for rate in args.rates.split(",")]
    best: dict[str, dict[str, float]] = {}
    print("mode     rate/s    sent  decoded  left  lost  counted-as-dropped")
    for mode in ("in-loop", "now"):
        best[mode] = {"lossless": 0.0, "sustained": 0.0}
        for rate in rates:
            result = run_receiver(mode, rate, args.seconds, datagram)
            lost = result["sent"] - result["decoded"] - result["left"]
            print(
                f"{mode:8} {rate:6.0f} {result['sent']:7} {result['decoded']:8} "
                f"{result['left']:5} {lost:5} {result['counted_drops']:8}",
                flush=True,
            )
            if lost == 0:
                best[mode]["lossless"] = max(best[mode]["lossless"], rate)
                if result["left"] == 0:
                    best[mode]["sustained"] = max(best[mode]["sustained"], rate)
    for mode, figures in best.items():
        print(
            f"{mode}: highest lossless rate {figures['lossless']:.0f} datagrams/s "
            f"({figures['lossless'] * REPORTS_PER_DATAGRAM:.0f} reports/s) for "
            f"{args.seconds:.0f} s; sustained (all decoded {CATCH_UP_S:.0f} s later) "
            f"{figures['sustained']:.0f} datagrams/s"
        )
    before, after = best["in-loop"]["sustained"], best["now"]["sustained"]
    if before:
        print(f"now / in-loop, highest sustained rate: {after / before:.1f}x")


if __name__ == "__main__":
    main()
