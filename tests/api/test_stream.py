"""The live stream: coalescing per client, releasability, and updates after an action."""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from hotzone.api.stream import StreamHub
from tests.api.conftest import login


def _update(key: str, value: int, label: str = "NATO") -> dict[str, object]:
    return {"key": key, "kind": "track", "releasability": label, "data": {"value": value}}


def test_a_slow_client_gets_the_latest_state_of_each_object_not_every_update() -> None:
    hub = StreamHub()
    client = hub.connect(lambda update: True, max_pending=1000)
    for value in range(10_000):
        hub.publish(_update(f"track:T{value % 100}", value))
    assert len(client.pending) == 100
    assert client.coalesced == 9_900
    batch = asyncio.run(client.next_batch(0.0))
    latest = {u["key"]: u["data"]["value"] for u in batch}  # type: ignore[index]
    assert latest["track:T7"] == 9_907
    assert client.pending == {}


def test_a_client_holds_at_most_max_pending_objects() -> None:
    hub = StreamHub()
    client = hub.connect(lambda update: True, max_pending=10)
    for value in range(50):
        hub.publish(_update(f"track:T{value}", value))
    assert len(client.pending) == 10
    assert client.dropped == 40
    assert set(client.pending) == {f"track:T{value}" for value in range(40, 50)}


def test_each_client_gets_only_what_its_nation_may_see() -> None:
    hub = StreamHub()
    polish = hub.connect(lambda u: u["releasability"] in ("NATO", "NATIONAL PL"), 100)
    german = hub.connect(lambda u: u["releasability"] == "NATO", 100)
    hub.publish(_update("track:T1", 1, "NATIONAL PL"))
    hub.publish(_update("track:T2", 2))
    assert set(polish.pending) == {"track:T1", "track:T2"}
    assert set(german.pending) == {"track:T2"}


def test_stream_refuses_anonymous_clients(client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/api/stream") as socket:
        socket.receive_json()


def test_stream_carries_an_acknowledgement(client: TestClient) -> None:
    headers = login(client, "operator1")
    token = headers["authorization"].removeprefix("Bearer ")
    with client.websocket_connect(f"/api/stream?token={token}") as socket:
        assert socket.receive_json()["type"] == "hello"
        assert client.post("/api/alerts/A2/acknowledge", headers=headers).status_code == 200
        batch = socket.receive_json()
        alerts = [u["data"] for u in batch["updates"] if u["kind"] == "alert"]
        assert alerts and alerts[0]["state"] == "acknowledged"


def test_a_client_with_acknowledged_flow_is_never_more_than_two_batches_behind() -> None:
    async def scenario() -> None:
        hub = StreamHub()
        client = hub.connect(lambda update: True, max_pending=100, acknowledged_flow=True)
        for batch_number in range(2):
            hub.publish(_update("track:T1", batch_number))
            assert (await client.next_batch(0.0))[0]["data"] == {"value": batch_number}
        for value in range(2, 10):
            hub.publish(_update("track:T1", value))
        third = asyncio.create_task(client.next_batch(0.0))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not third.done()  # two unacknowledged: the updates wait, coalesced
        assert client.coalesced == 7
        client.acknowledge()
        batch = await asyncio.wait_for(third, timeout=10.0)
        assert [u["data"] for u in batch] == [{"value": 9}]
        assert client.unacknowledged == 2

    asyncio.run(scenario())


def test_the_first_batch_after_a_quiet_spell_is_not_held_back() -> None:
    async def scenario() -> None:
        hub = StreamHub()
        client = hub.connect(lambda update: True, max_pending=100)
        hub.publish(_update("alert:A1", 1))
        # An hour between batches: only a batch sent earlier could make this one wait.
        first = asyncio.create_task(client.next_batch(3600.0))
        for _ in range(20):
            await asyncio.sleep(0)
        assert first.done()
        hub.publish(_update("alert:A2", 2))
        second = asyncio.create_task(client.next_batch(3600.0))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not second.done()
        second.cancel()

    asyncio.run(scenario())


def test_stream_with_acknowledgements_sends_again_after_an_ack(client: TestClient) -> None:
    headers = login(client, "operator1")
    token = headers["authorization"].removeprefix("Bearer ")
    with client.websocket_connect(f"/api/stream?acks=true&token={token}") as socket:
        assert socket.receive_json()["type"] == "hello"
        for alert_id in ("A2", "A1"):
            assert client.post(f"/api/alerts/{alert_id}/acknowledge", headers=headers).is_success
            batch = socket.receive_json()
            alerts = [u["data"] for u in batch["updates"] if u["kind"] == "alert"]
            assert [a["alert_id"] for a in alerts] == [alert_id]
            socket.send_text('{"type": "ack"}')
