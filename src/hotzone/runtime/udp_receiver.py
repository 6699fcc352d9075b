"""Receiving UDP without silent loss: a thread empties the socket, the event loop decodes.

A UDP sender has no back-pressure: whatever the receive buffer cannot hold when it arrives
is dropped by the kernel. Reading the socket in the asyncio loop that also decodes,
publishes and tracks let a 212 KB buffer overflow at ~2,250 reports/s (issue 17), silently.
So a thread of its own empties the socket as datagrams arrive (``recv`` runs without the
GIL, and the thread's Python work per datagram is an append) into a backlog bounded in
bytes, which the loop decodes at its own pace; the receive buffer is asked to be large.

Every datagram is accounted for (`UdpCounters`)::

    sent = received + dropped_by_kernel
    received = delivered + dropped_backlog_full + left_at_stop

``dropped_by_kernel`` comes from the socket itself (``SO_RXQ_OVFL`` on each datagram, and
the ``drops`` column of ``/proc/net/udp`` for drops after the last one); the receive buffer
asked for (``SO_RCVBUFFORCE`` where permitted, else ``SO_RCVBUF``, capped by
``net.core.rmem_max``) and the size granted are reported, never assumed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

#: What is asked of the kernel for the receive buffer: at 200 bytes per ASTERIX block
#: (plus ~700 bytes of kernel bookkeeping each) some 35,000 datagrams.
DEFAULT_RECEIVE_BUFFER_BYTES = 32 << 20
#: Datagrams received and not yet decoded, in memory at most (then counted as dropped):
#: a backlog of minutes at the rates hotzone decodes.
DEFAULT_MAX_BACKLOG_BYTES = 256 << 20
#: Linux's ``SO_RXQ_OVFL`` and ``SO_RCVBUFFORCE`` (asm-generic/socket.h); Python's socket
#: module does not name them.
_SO_RXQ_OVFL = getattr(socket, "SO_RXQ_OVFL", 40)
_SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
#: How often the receiving thread looks whether it should stop.
_POLL_S = 0.2
#: Datagrams decoded between two yields to the event loop (timers, other services).
_BATCH = 256


@dataclass
class UdpCounters:
    """Where every datagram that reached the socket went."""

    #: Taken from the socket by the receiving thread.
    received: int = 0
    #: Handed to the decoder.
    delivered: int = 0
    #: Dropped by the kernel: the receive buffer was full when they arrived.
    dropped_by_kernel: int = 0
    #: Dropped by the receiver: the backlog waiting for the decoder was at its bound.
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
        """Received and not yet handed to the decoder."""
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
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, _SO_RXQ_OVFL, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock, sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)


class UdpReceiver:
    """Binds HOST:PORT, empties it in a thread and yields the datagrams in the event loop.

    ``async with UdpReceiver(...) as receiver: async for received_s, datagram in
    receiver.timed_datagrams()``;
    leaving the block stops the thread and accounts for what was still waiting
    (`UdpCounters`).
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
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        # Each datagram with when the thread took it from the socket (POSIX s).
        self._backlog: deque[tuple[float, bytes]] = deque()
        # Bytes in and out of the backlog, each written by one thread only.
        self._bytes_in = 0
        self._bytes_out = 0
        self._waiting = False
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def bound_port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the receiver is not started")
        return int(self._socket.getsockname()[1])

    async def __aenter__(self) -> UdpReceiver:
        self._socket, self.counters.receive_buffer_granted = bind_udp(
            self.host, self.port, self.counters.receive_buffer_asked
        )
        self._socket.settimeout(_POLL_S)
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(
            target=self._receive, args=(self._socket,), name="udp-receiver", daemon=True
        )
        self._thread.start()
        return self

    def waiting(self) -> int:
        """Datagrams received and not yet taken by `timed_datagrams`."""
        return len(self._backlog)

    async def timed_datagrams(self) -> AsyncIterator[tuple[float, bytes]]:
        """Each datagram in arrival order with when it was received (POSIX s, taken by the
        receiving thread: how long it then waited for the decoder does not move it), until
        the receiver stops."""
        backlog = self._backlog
        while not self._stop.is_set():
            for _ in range(min(len(backlog), _BATCH)):
                received_s, datagram = backlog.popleft()
                self._bytes_out += len(datagram)
                self.counters.delivered += 1
                yield received_s, datagram
            if backlog:
                await asyncio.sleep(0)  # a long backlog does not starve the loop
                continue
            if self._thread is not None and not self._thread.is_alive():
                return  # the socket failed: nothing more will come
            # Ask the thread for a wake-up, then look once more: a datagram appended
            # before the request was made is seen here, one after it wakes us.
            self._waiting = True
            self._wake.clear()
            if backlog:
                self._waiting = False
                continue
            await self._wake.wait()

    def kernel_drops_now(self) -> int:
        """The kernel's drops as of now (``SO_RXQ_OVFL`` only tells with the next datagram)."""
        sock = self._socket
        now = None
        if sock is not None:
            with contextlib.suppress(OSError):  # closed meanwhile (a scrape at the stop)
                now = kernel_drops(sock)
        if now is not None:
            self.counters.dropped_by_kernel = max(self.counters.dropped_by_kernel, now)
        return self.counters.dropped_by_kernel

    async def __aexit__(self, *exc_info: object) -> None:
        sock, thread = self._socket, self._thread
        if sock is None or thread is None:
            return
        self._stop.set()
        try:
            await asyncio.to_thread(thread.join)
            # What reached the socket before the stop is received and counted, not lost.
            sock.setblocking(False)
            while self._take(sock):
                pass
            self.counters.left_at_stop = len(self._backlog)
            self._backlog.clear()
            self.kernel_drops_now()
        finally:
            sock.close()
            self._socket = None

    def _receive(self, sock: socket.socket) -> None:
        """The thread: take datagrams until told to stop (or the socket fails)."""
        while not self._stop.is_set():
            try:
                self._take(sock)
            except TimeoutError:
                continue
            except OSError:
                break
            if self._waiting:
                self._waiting = False
                with contextlib.suppress(RuntimeError):  # the loop closed under us
                    assert self._loop is not None
                    self._loop.call_soon_threadsafe(self._wake.set)
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._wake.set)

    def _take(self, sock: socket.socket) -> bool:
        """Receive one datagram into the backlog (or count it dropped); False if none."""
        try:
            data, ancillary, _, _ = sock.recvmsg(65536, socket.CMSG_SPACE(4))
        except BlockingIOError:
            return False
        self.counters.received += 1
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == _SO_RXQ_OVFL and len(value) >= 4:
                # The socket's drops since it was made, as of this datagram.
                (since_made,) = struct.unpack("=I", value[:4])
                self.counters.dropped_by_kernel = max(self.counters.dropped_by_kernel, since_made)
        if self._bytes_in - self._bytes_out + len(data) > self.max_backlog_bytes:
            self.counters.dropped_backlog_full += 1
        else:
            self._bytes_in += len(data)
            self._backlog.append((time.time(), data))
        return True
