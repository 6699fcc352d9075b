"""What a restarted ``hotzone effectors run`` knows it acted on before (docs/effectors.md,
"Running the gateways"): only ``ordered`` steps its own gateway key signed on the nation's
log count (an attacker publishing fake ``ordered`` steps cannot suppress an order), and an
order redelivered after such a step is not engaged again, while any other is."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from hotzone.bus import InProcessBus, NatsBus
from hotzone.bus.nats import nation_streams
from hotzone.c2.trust import NodeKey
from hotzone.runtime.effectors.base import OrderGuard, signed_lifecycle
from hotzone.runtime.effectors.config import EffectorLink, Interface
from hotzone.runtime.effectors.cot import CotEffectorGateway
from hotzone.runtime.effectors.deployment import orders_acted_on
from hotzone.runtime.effectors.service import EffectorService, bus_publisher
from hotzone.types import DeadLetter, Event, EventKind
from tests.federation.servers import running_standalone
from tests.runtime.effectors.rig import (
    GATEWAY_KEY,
    TRUSTED,
    BusWatch,
    c2_state,
    order,
    proposal,
)


def step(order_id: str, lifecycle: str) -> Event:
    return Event(
        event_id=f"order:{order_id}:{lifecycle}:1",
        time=datetime.now(UTC),
        source_id="effectors-cot",
        kind=EventKind.OBSERVATION,
        severity=3,
        summary=f"qrf-sejny: {lifecycle}",
        subject_id="T1",
        attributes={
            "order_id": order_id,
            "effector_id": "qrf-sejny",
            "interface": "cot",
            "lifecycle": lifecycle,
        },
    )


def test_only_ordered_steps_signed_by_this_gateway_key_count_as_acted_on(
    tmp_path: Path,
) -> None:
    async def scenario(url: str) -> set[str]:
        bus = await NatsBus.connect(url, nation_streams("PL"), domain="pl", name="test")
        try:
            publish = bus_publisher(bus, "PL")
            intruder = NodeKey.generate("PL", "gateway")
            await publish(signed_lifecycle(step("order-00007", "ordered"), GATEWAY_KEY))
            await publish(signed_lifecycle(step("order-00008", "ordered"), intruder))
            await publish(step("order-00009", "ordered"))  # unsigned
            await publish(signed_lifecycle(step("order-00010", "delivered"), GATEWAY_KEY))
            return await orders_acted_on(bus, "PL", GATEWAY_KEY)
        finally:
            await bus.close()

    with running_standalone(tmp_path) as server:
        assert asyncio.run(scenario(server.plan.url)) == {"order-00007"}


def test_an_order_acted_on_before_the_restart_is_not_engaged_again() -> None:
    async def scenario() -> None:
        bus = InProcessBus()
        watch = BusWatch(bus)
        await watch.start()
        link = EffectorLink(
            interface=Interface.COT,
            endpoint="udp://127.0.0.1:9",  # discard: nobody answers, which is fine here
            listen="127.0.0.1:0",
            callsign="QRF-1",
        )
        gateway = CotEffectorGateway({"qrf-sejny": link}, bus_publisher(bus, "PL"))
        service = EffectorService(bus, "PL", [gateway], OrderGuard(TRUSTED), signer=GATEWAY_KEY)
        await service.start()
        try:
            before, after = proposal("qrf-sejny", 7), proposal("qrf-sejny", 8)
            o_before, o_after = order(before, 7), order(after, 8)
            service.acted_before = {o_before.order_id}
            for message in (c2_state(abort=False), before, after, o_before, o_after):
                await service.take(message)
            assert list(gateway.engagements) == [o_after.order_id]
            assert service.resumed_orders == [o_before.order_id]
            # Published again later, it is a replay like any other: refused, not sent.
            await service.take(o_before)
            await watch.until(lambda: bool(watch.of_type(DeadLetter)))
            assert "a replay" in watch.of_type(DeadLetter)[0].reason
            assert gateway.units["qrf-sejny"].counters.sent == 1
        finally:
            await service.close()
            await bus.close()
            await watch.close()

    asyncio.run(scenario())
