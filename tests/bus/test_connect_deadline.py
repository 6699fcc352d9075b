"""A NATS connection that does not come up in time is refused in one line and leaves no
open stream behind (a node that fails to connect exits cleanly; one that retries does not
accumulate sockets)."""

from __future__ import annotations

import asyncio
import gc
import socket
import warnings

import pytest

from hotzone.bus.nats import NatsBus, NatsConnectError


async def _silent_server() -> tuple[asyncio.Server, str, list[asyncio.StreamWriter]]:
    """Accepts connections on 127.0.0.1 and never says a word (no NATS INFO): a client's
    attempt hangs with its stream open until it gives up."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0, family=socket.AF_INET)
    port = server.sockets[0].getsockname()[1]
    return server, f"nats://127.0.0.1:{port}", held


def test_a_connection_cut_off_by_its_deadline_is_closed() -> None:
    async def attempt() -> str:
        server, url, held = await _silent_server()
        try:
            with pytest.raises(NatsConnectError) as refused:
                await NatsBus.connect(url, [], ensure_streams=False, connect_deadline_s=1.0)
            # The attempt reached the server (so there was a stream to leave open).
            assert held, "the client never connected to the silent server"
            return str(refused.value)
        finally:
            for writer in held:
                writer.close()
            server.close()
            await server.wait_closed()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        reason = asyncio.run(attempt())
        gc.collect()
    assert "no NATS server answered" in reason and "within 1 s" in reason
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert not unclosed, unclosed
