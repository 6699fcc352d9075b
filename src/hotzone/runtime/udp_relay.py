"""Receiving UDP without silent loss: a relay process empties the socket, hotzone decodes.

A UDP sender has no back-pressure: whatever the receive buffer cannot hold when it arrives
is dropped by the kernel. Decoding, publishing and tracking in the same thread as the
socket let a 212 KB buffer overflow at ~2,250 reports/s (issue 17), silently. So the
socket is emptied by a second process (`relay_main`, ``python -m
hotzone.runtime.udp_relay``) that does nothing else and runs on another core; it hands the
datagrams to hotzone over a pipe, keeping what hotzone has not read yet in memory up to a
bound. A thread would not do: every ``recv`` gives up the GIL, and getting it back from a
thread that is busy decoding takes the interpreter's switch interval (5 ms), so a
receiving thread would take some 200 datagrams a second.

Every datagram is accounted for (`UdpCounters`)::

    sent = received + dropped_by_kernel
    received = delivered + dropped_backlog_full + left_at_stop

``dropped_by_kernel`` comes from the socket itself (``SO_RXQ_OVFL`` on each datagram, and
the ``drops`` column of ``/proc/net/udp`` for drops after the last one); the receive buffer
asked for (``SO_RCVBUFFORCE`` where permitted, else ``SO_RCVBUF``, capped by
``net.core.rmem_max``) and the size granted are reported, never assumed.

The pipe carries records ``kind (1 byte) | length (4 bytes, big-endian) | body``: ``D`` a
datagram, ``S`` the relay's counts (three unsigned 64-bit integers: received, dropped by
the kernel, dropped because the backlog was full). Nothing is pickled: the relay's input
is network data.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import selectors
import signal
import socket
import struct
import sys
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

#: What is asked of the kernel for the receive buffer: at 100 bytes per ASTERIX block
#: (plus ~700 bytes of kernel bookkeeping each) about 40,000 datagrams, most of a second
#: at 50,000/s.
DEFAULT_RECEIVE_BUFFER_BYTES = 32 << 20
#: Datagrams received and not yet decoded, in the relay's memory at most (then counted as
#: dropped): a backlog of minutes at the rates hotzone decodes.
DEFAULT_MAX_BACKLOG_BYTES = 256 << 20

_HEADER = struct.Struct("!cI")
_COUNTS = struct.Struct("!QQQ")
_DATAGRAM = b"D"
_COUNTS_KIND = b"S"
#: Linux's ``SO_RXQ_OVFL`` (asm-generic/socket.h); Python's socket module does not name it.
_SO_RXQ_OVFL = getattr(socket, "SO_RXQ_OVFL", 40)
_SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
_F_SETPIPE_SZ = 1031
_COUNTS_EVERY_S = 0.1
_READ_BYTES = 1 << 20


@dataclass
class UdpCounters:
    """Where every datagram that reached the socket went."""

    #: Taken from the socket by the relay.
    received: int = 0
    #: Handed to the decoder.
    delivered: int = 0
    #: Dropped by the kernel: the receive buffer was full when they arrived.
    dropped_by_kernel: int = 0
    #: Dropped by the relay: the backlog waiting for the decoder was at its bound.
    dropped_backlog_full: int = 0
    #: Received but not decoded when the receiver stopped (--duration, Ctrl-C).
    left_at_stop: int = 0
    receive_buffer_asked: int = 0
    #: What the kernel granted (``getsockopt``; Linux reports twice what it counts).
    receive_buffer_granted: int = 0

    @property
    def dropped(self) -> int:
        return self.dropped_by_kernel + self.dropped_backlog_full

    @property
    def backlog(self) -> int:
        """Received and not yet handed to the decoder (as of the relay's last counts)."""
        return max(0, self.received - self.delivered - self.dropped_backlog_full)


def kernel_drops(sock: socket.socket) -> int | None:
    """The kernel's drop count of ``sock`` (``/proc/net/udp``'s ``drops``), None if unknown."""
    inode = str(os.fstat(sock.fileno()).st_ino)
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with contextlib.suppress(OSError), open(table, encoding="ascii") as lines:
            next(lines, None)  # the header
            for line in lines:
                fields = line.split()
                if len(fields) > 12 and fields[9] == inode:
                    return int(fields[12])
    return None


def bind_udp(host: str, port: int, receive_buffer_bytes: int) -> tuple[socket.socket, int]:
    """A UDP socket bound to HOST:PORT with a receive buffer as large as permitted;
    returns it and the size granted."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        try:
            # Beyond net.core.rmem_max for a process with CAP_NET_ADMIN...
            sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, receive_buffer_bytes)
        except OSError:
            # ...and up to it for anyone else.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer_bytes)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock, sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)


class UdpReceiver:
    """Binds HOST:PORT, starts the relay process and yields the datagrams it hands over.

    ``async with UdpReceiver(...) as receiver: async for datagram in receiver.datagrams()``;
    leaving the block stops the relay and accounts for what it still held (`UdpCounters`).
    """

    def __init__(
        self,
        host: str,
        port: int,
        receive_buffer_bytes: int = DEFAULT_RECEIVE_BUFFER_BYTES,
        max_backlog_bytes: int = DEFAULT_MAX_BACKLOG_BYTES,
    ) -> None:
        self.host = host
        self.port = port
        self.max_backlog_bytes = max_backlog_bytes
        self.counters = UdpCounters(receive_buffer_asked=receive_buffer_bytes)
        self._socket: socket.socket | None = None
        self._relay: asyncio.subprocess.Process | None = None
        self._pending = bytearray()

    @property
    def bound_port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the receiver is not started")
        return int(self._socket.getsockname()[1])

    async def __aenter__(self) -> UdpReceiver:
        self._socket, self.counters.receive_buffer_granted = bind_udp(
            self.host, self.port, self.counters.receive_buffer_asked
        )
        descriptor = self._socket.fileno()
        try:
            self._relay = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "hotzone.runtime.udp_relay",
                str(descriptor),
                str(self.max_backlog_bytes),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                pass_fds=(descriptor,),
                limit=4 * _READ_BYTES,
                env=_relay_environment(),
            )
        except BaseException:
            self._socket.close()
            raise
        return self

    async def datagrams(self) -> AsyncIterator[bytes]:
        """Each datagram in arrival order, until the relay stops."""
        stdout = self._stdout()
        while chunk := await stdout.read(_READ_BYTES):
            self._pending += chunk
            for datagram in self._records():
                self.counters.delivered += 1
                yield datagram

    def kernel_drops_now(self) -> int:
        """Kernel drops as of now (the relay's counts arrive with its datagrams)."""
        if self._socket is not None:
            now = kernel_drops(self._socket)
            if now is not None:
                self.counters.dropped_by_kernel = max(self.counters.dropped_by_kernel, now)
        return self.counters.dropped_by_kernel

    async def __aexit__(self, *exc_info: object) -> None:
        relay, sock = self._relay, self._socket
        if relay is None or sock is None:
            return
        try:
            # End of its input tells the relay to take what the socket still holds, send
            # everything and its final counts, and exit.
            if relay.stdin is not None:
                relay.stdin.close()
            stdout = self._stdout()
            while chunk := await stdout.read(_READ_BYTES):
                self._pending += chunk
                self.counters.left_at_stop += sum(1 for _ in self._records())
            await relay.wait()
            self.kernel_drops_now()
        finally:
            if relay.returncode is None:
                relay.kill()
                await relay.wait()
            sock.close()
            self._socket = None

    def _stdout(self) -> asyncio.StreamReader:
        if self._relay is None or self._relay.stdout is None:
            raise RuntimeError("the receiver is not started")
        return self._relay.stdout

    def _records(self) -> list[bytes]:
        """The datagrams of the whole records pending (counts are taken as they pass)."""
        pending = self._pending
        view = memoryview(pending)
        datagrams = []
        offset = 0
        try:
            while len(pending) - offset >= _HEADER.size:
                kind, length = _HEADER.unpack_from(view, offset)
                end = offset + _HEADER.size + length
                if end > len(pending):
                    break
                body = bytes(view[offset + _HEADER.size : end])
                offset = end
                if kind == _DATAGRAM:
                    datagrams.append(body)
                else:
                    received, by_kernel, backlog_full = _COUNTS.unpack(body)
                    self.counters.received = received
                    self.counters.dropped_by_kernel = max(
                        self.counters.dropped_by_kernel, by_kernel
                    )
                    self.counters.dropped_backlog_full = backlog_full
        finally:
            view.release()
        del pending[:offset]
        return datagrams


def _relay_environment() -> dict[str, str]:
    """This environment, with the relay importing the same hotzone as this process."""
    source_root = str(Path(__file__).resolve().parents[2])  # the folder holding hotzone/
    inherited = os.environ.get("PYTHONPATH")
    path = source_root if not inherited else os.pathsep.join((source_root, inherited))
    return {**os.environ, "PYTHONPATH": path}


def relay_main(descriptor: int, max_backlog_bytes: int) -> None:
    """The relay process: empty the socket ``descriptor`` into standard output, keeping at
    most ``max_backlog_bytes`` unsent; stop when standard input ends."""
    # Ctrl-C reaches the whole process group: hotzone stops the relay by closing its
    # input, so that the relay's last counts still reach it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sock = socket.socket(fileno=descriptor)
    sock.setblocking(False)
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, _SO_RXQ_OVFL, 1)
    out = sys.stdout.fileno()
    with contextlib.suppress(OSError):
        fcntl.fcntl(out, _F_SETPIPE_SZ, 1 << 20)  # fewer wake-ups; best effort
    os.set_blocking(out, False)
    control = sys.stdin.fileno()
    relay = _Relay(sock, max_backlog_bytes)
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ, "socket")
    selector.register(control, selectors.EVENT_READ, "control")
    writing = False
    last_counts = 0.0
    while True:
        for key, _ in selector.select(timeout=_COUNTS_EVERY_S):
            if key.data == "socket":
                relay.receive()
            elif key.data == "control" and not os.read(control, 4096):
                # What arrived before the stop is received (and counted), not lost.
                while relay.receive() > 0:
                    pass
                relay.queue_counts()
                os.set_blocking(out, True)
                relay.write(out)
                return
            elif key.data == "output":
                relay.write(out)
        if time.monotonic() - last_counts >= _COUNTS_EVERY_S:
            relay.queue_counts()
            last_counts = time.monotonic()
        if relay.unsent and not writing:
            selector.register(out, selectors.EVENT_WRITE, "output")
            writing = True
        elif not relay.unsent and writing:
            selector.unregister(out)
            writing = False


class _Relay:
    """The relay's state: the socket, the records not yet written, the counts."""

    def __init__(self, sock: socket.socket, max_backlog_bytes: int) -> None:
        self.sock = sock
        self.max_backlog_bytes = max_backlog_bytes
        self.records: deque[bytes] = deque()
        self.head_offset = 0
        self.unsent = 0
        self.received = 0
        self.dropped_by_kernel = 0
        self.dropped_backlog_full = 0

    def receive(self, at_most: int = 4096) -> int:
        """Take up to ``at_most`` datagrams the socket holds; how many there were."""
        batch = []
        taken = 0
        for _ in range(at_most):
            try:
                data, ancillary, _, _ = self.sock.recvmsg(65536, socket.CMSG_SPACE(4))
            except (BlockingIOError, InterruptedError):
                break
            taken += 1
            self.received += 1
            for level, kind, value in ancillary:
                if level == socket.SOL_SOCKET and kind == _SO_RXQ_OVFL and len(value) >= 4:
                    # The socket's drops since it was made, as of this datagram.
                    (since_made,) = struct.unpack("=I", value[:4])
                    self.dropped_by_kernel = max(self.dropped_by_kernel, since_made)
            if self.unsent + len(data) > self.max_backlog_bytes:
                self.dropped_backlog_full += 1
                continue
            record = _HEADER.pack(_DATAGRAM, len(data)) + data
            batch.append(record)
            self.unsent += len(record)
        if batch:
            self.records.append(b"".join(batch))
        return taken

    def queue_counts(self) -> None:
        counts = _COUNTS.pack(self.received, self.dropped_by_kernel, self.dropped_backlog_full)
        record = _HEADER.pack(_COUNTS_KIND, len(counts)) + counts
        self.records.append(record)
        self.unsent += len(record)

    def write(self, out: int) -> None:
        while self.records:
            head = self.records[0]
            try:
                written = os.write(out, memoryview(head)[self.head_offset :])
            except BlockingIOError:
                return
            self.head_offset += written
            self.unsent -= written
            if self.head_offset == len(head):
                self.records.popleft()
                self.head_offset = 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        relay_main(int(sys.argv[1]), int(sys.argv[2]))
