"""`UdpReceiver`: a thread takes datagrams into a bounded backlog; nothing goes uncounted."""

from __future__ import annotations

import asyncio
import socket
import time

from hotzone.runtime.udp_receiver import UdpReceiver


def _send(port: int, datagrams: list[bytes]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for datagram in datagrams:
            sender.sendto(datagram, ("127.0.0.1", port))


def test_a_backlog_at_its_bound_drops_and_counts_and_the_rest_is_left_at_the_stop() -> None:
    async def scenario() -> UdpReceiver:
        receiver = UdpReceiver("127.0.0.1", 0, max_backlog_bytes=1000)
        async with receiver:
            _send(receiver.bound_port, [bytes([n]) * 100 for n in range(50)])
            # Nobody decodes: the thread fills the backlog to its bound, then drops.
            for _ in range(200):
                if receiver.counters.received + receiver.kernel_drops_now() >= 50:
                    break
                await asyncio.sleep(0.02)
        return receiver

    counters = asyncio.run(scenario()).counters
    assert counters.received + counters.dropped_by_kernel == 50
    assert counters.delivered == 0
    assert counters.left_at_stop == 10  # 10 datagrams of 100 bytes fill 1,000 bytes
    assert counters.dropped_backlog_full == counters.received - 10
    assert counters.receive_buffer_granted > 0


def test_datagrams_arrive_in_order_and_what_reached_the_socket_at_the_stop_is_counted() -> None:
    async def scenario() -> tuple[list[bytes], UdpReceiver]:
        receiver = UdpReceiver("127.0.0.1", 0)
        taken: list[bytes] = []
        async with receiver:
            datagrams = receiver.timed_datagrams()
            _send(receiver.bound_port, [b"first", b"second", b"third"])
            for _ in range(2):
                taken.append((await asyncio.wait_for(anext(datagrams), 10))[1])
            await datagrams.aclose()
        return taken, receiver

    taken, receiver = asyncio.run(scenario())
    assert taken == [b"first", b"second"]
    counters = receiver.counters
    assert counters.delivered == 2
    assert counters.received == 3 and counters.left_at_stop == 1


def test_each_datagram_keeps_the_moment_the_thread_received_it() -> None:
    """A datagram that waited in the backlog is timed by its reception, not by when the
    loop got to it (the live tracker's windows follow these times)."""

    async def scenario() -> tuple[float, float, list[tuple[float, bytes]]]:
        receiver = UdpReceiver("127.0.0.1", 0)
        async with receiver:
            before = time.time()
            _send(receiver.bound_port, [b"first", b"second", b"third"])
            while receiver.counters.received < 3:
                await asyncio.sleep(0.01)
            read_from = time.time()  # all three were received before this
            datagrams = receiver.timed_datagrams()
            taken = [await asyncio.wait_for(anext(datagrams), 10) for _ in range(3)]
            await datagrams.aclose()
        return before, read_from, taken

    before, read_from, taken = asyncio.run(scenario())
    assert [datagram for _, datagram in taken] == [b"first", b"second", b"third"]
    times = [received for received, _ in taken]
    assert times == sorted(times)
    assert before <= times[0] and times[-1] <= read_from
