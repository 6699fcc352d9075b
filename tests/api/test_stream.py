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
        assert any(u["kind"] == "audit" for u in batch["updates"])
