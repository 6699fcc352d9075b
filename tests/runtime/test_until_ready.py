"""A node waits for each sharing service to be ready before it goes on
(`hotzone.runtime.node.until_ready`): a service that fails before that ends the wait with
its own error, instead of leaving the node waiting for ever (the share importer reads its
nation's log before it is ready: `ShareImporter._before_reading`)."""

from __future__ import annotations

import asyncio

import pytest

from hotzone.runtime.node import until_ready


class RefusedError(Exception):
    pass


async def _fails_before_ready(ready: asyncio.Event) -> None:
    await asyncio.sleep(0.01)
    raise RefusedError("consumer refused")


async def _ready_then_runs(ready: asyncio.Event, stop: asyncio.Event) -> None:
    await asyncio.sleep(0.01)
    ready.set()
    await stop.wait()


def test_a_service_failing_before_it_is_ready_raises_its_error() -> None:
    async def scenario() -> None:
        ready = asyncio.Event()
        service = asyncio.create_task(_fails_before_ready(ready))
        await asyncio.wait_for(until_ready(service, ready), timeout=10)

    with pytest.raises(RefusedError, match="consumer refused"):
        asyncio.run(scenario())


def test_a_service_ending_quietly_before_it_is_ready_is_an_error() -> None:
    async def scenario() -> None:
        ready = asyncio.Event()
        service = asyncio.create_task(asyncio.sleep(0.01))
        await asyncio.wait_for(until_ready(service, ready), timeout=10)

    with pytest.raises(RuntimeError, match="ended before it was ready"):
        asyncio.run(scenario())


def test_a_ready_service_goes_on_running() -> None:
    async def scenario() -> bool:
        ready, stop = asyncio.Event(), asyncio.Event()
        service = asyncio.create_task(_ready_then_runs(ready, stop))
        await asyncio.wait_for(until_ready(service, ready), timeout=10)
        still_running = not service.done()
        stop.set()
        await service
        return still_running

    assert asyncio.run(scenario())
