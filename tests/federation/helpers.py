"""Messages and bus wiring shared by the federation tests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from hotzone.bus import NatsBus, Subscription
from hotzone.runtime.federation import federation_streams, hub_streams
from hotzone.types import Alert, AnyMessage, from_json
from tests.federation.servers import RunningFederation

EPOCH = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def alert(origin: str, index: int, label: str) -> Alert:
    return Alert(
        alert_id=f"{origin}-{index}",
        time=EPOCH + timedelta(milliseconds=index),
        kind="test",
        summary=f"alert {index} of {origin}",
        priority=3,
        releasability=label,
    )


async def connect_federation(
    federation: RunningFederation, nations: list[str]
) -> tuple[NatsBus, dict[str, NatsBus]]:
    """The hub's bus (alliance stream) and one bus per nation (its streams), all ensured."""
    buses = {
        nation: await NatsBus.connect(
            federation.url(nation),
            federation_streams(nation, archives=False),
            domain=nation.lower(),
            name=f"test-{nation}",
        )
        for nation in nations
    }
    hub = await NatsBus.connect(
        federation.url("hub"), hub_streams(nations), domain="hub", name="test-hub"
    )
    return hub, buses


async def collect(subscription: Subscription, into: list[AnyMessage], stop: asyncio.Event) -> None:
    while not stop.is_set():
        message = await subscription.next(timeout_s=0.25)
        if message is not None:
            into.append(from_json(message.payload))


async def wait_for(condition: object, timeout_s: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        await asyncio.sleep(0.1)
