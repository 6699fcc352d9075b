"""Deciding in the API is a client of c2 on the bus (docs/c2.md): the API prepares the
exact decision, the operator's own authenticator signs its challenge, the API publishes it
as signed, and answers with c2's word. c2 refuses and audits every attack, including the
ones a browser (or anyone who talks to the port directly) can make."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from fastapi.testclient import TestClient

from hotzone.api.app import ApiConfig, create_app
from hotzone.bus import InProcessBus
from hotzone.c2.keys import RegistryFile
from hotzone.c2.trust import operators_path
from hotzone.store import SQLiteStore
from hotzone.types import OperatorRole
from tests.api.conftest import login
from tests.c2.attack_rig import C2OnBus
from tests.c2.factories import make_assessment, make_track, seconds
from tests.c2.software_authenticator import SoftwareAuthenticator
from tests.c2.test_attacks_on_the_bus import START

ORIGIN = "http://localhost:8080"


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Authenticators:
    """One software authenticator per user, enrolled in the nation's registry file."""

    def __init__(self, home: Path) -> None:
        self.by_user = {
            name: SoftwareAuthenticator("localhost")
            for name in ("operator1", "operator2", "commander", "observer", "lt-operator")
        }
        registry = RegistryFile(operators_path(home))
        roles = {
            "operator1": (OperatorRole.OPERATOR, "PL"),
            "operator2": (OperatorRole.OPERATOR, "PL"),
            "commander": (OperatorRole.COMMANDER, "PL"),
            "observer": (OperatorRole.OBSERVER, "PL"),
            "lt-operator": (OperatorRole.OPERATOR, "LT"),
        }
        for name, authenticator in self.by_user.items():
            role, nation = roles[name]
            registry.enroll(authenticator.enrolled(name, role, nation))
        # operator2 lost the authenticator: its credential is revoked.
        registry.revoke(self.by_user["operator2"].credential_id)


@pytest.fixture
def live(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, Authenticators]]:
    home = tmp_path / "home"
    monkeypatch.setenv("HOTZONE_HOME", str(home))
    authenticators = Authenticators(home)
    bus = InProcessBus()
    store = tmp_path / "hotzone.sqlite"
    SQLiteStore(store).close()

    async def feed() -> None:
        rig = C2OnBus(bus, home)
        await rig.start()
        try:
            second = 0
            while True:
                track = msgspec.structs.replace(
                    make_track(position=START, time=seconds(second)),
                    enu_velocity_mps=(-5.0, 0.0, 0.0),
                )
                await rig.publish(track, make_assessment(time=seconds(second)))
                await rig.tick(seconds(second))
                second += 1
                await asyncio.sleep(0.25)
        finally:
            await rig.stop()

    config = ApiConfig(store_path=store, scenario="suwalki-drones", home=home)
    with TestClient(create_app(config, bus=bus, background=feed)) as client:
        yield client, authenticators


def _pending_kinetic(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for proposal in client.get("/api/proposals", headers=headers).json():
            if proposal["effect_class"] == "kinetic" and proposal["state"] == "pending":
                return proposal
        time.sleep(0.2)
    raise AssertionError("c2 proposed no kinetic engagement")


def _sign(
    client: TestClient,
    headers: dict[str, str],
    authenticator: SoftwareAuthenticator,
    target: str,
    origin: str = ORIGIN,
    challenge: bytes | None = None,
) -> tuple[int, dict[str, Any]]:
    prepared = client.post(
        "/api/decisions/challenge",
        json={"target": target, "verdict": "approve", "credential_id": authenticator.credential_id},
        headers=headers,
    )
    assert prepared.status_code == 200, prepared.text
    body = prepared.json()
    signed = authenticator.get_assertion(challenge or _b64url_decode(body["challenge"]), origin)
    answer = client.post(
        "/api/decisions",
        json={
            "decision_id": body["decision"]["decision_id"],
            "assertion": msgspec.to_builtins(signed),
        },
        headers=headers,
    )
    return answer.status_code, answer.json()


def test_browser_style_decisions_go_through_c2_which_refuses_and_audits_every_attack(
    live: tuple[TestClient, Authenticators],
) -> None:
    client, keys = live
    operator, commander = login(client, "operator1"), login(client, "commander")
    lost = login(client, "operator2")
    observer, ally = login(client, "observer"), login(client, "lt-operator")
    proposal = _pending_kinetic(client, operator)
    target = proposal["proposal_id"]
    assert proposal["missing"] == "awaiting 2 more approvals (one a commander)"

    attacks = {
        "observer": (observer, keys.by_user["observer"], {}),
        "national authority": (ally, keys.by_user["lt-operator"], {}),
        "origin": (operator, keys.by_user["operator1"], {"origin": "http://evil.example"}),
        "challenge": (operator, keys.by_user["operator1"], {"challenge": b"\x00" * 32}),
        "revoked": (lost, keys.by_user["operator2"], {}),
    }
    for reason, (headers, authenticator, twist) in attacks.items():
        status, body = _sign(client, headers, authenticator, target, **twist)
        assert status == 403, (reason, body)
        assert reason in body["detail"], (reason, body)

    # Another operator's credential: the commander's decision signed by operator1's key.
    prepared = client.post(
        "/api/decisions/challenge",
        json={"target": target, "credential_id": keys.by_user["commander"].credential_id},
        headers=commander,
    ).json()
    stolen = keys.by_user["operator1"].get_assertion(_b64url_decode(prepared["challenge"]), ORIGIN)
    answer = client.post(
        "/api/decisions",
        json={
            "decision_id": prepared["decision"]["decision_id"],
            "assertion": msgspec.to_builtins(stolen),
        },
        headers=commander,
    )
    assert answer.status_code == 403

    # No assertion at all: refused by c2 too, and audited.
    unsigned = client.post(
        "/api/decisions/challenge", json={"target": target}, headers=operator
    ).json()
    answer = client.post(
        "/api/decisions",
        json={"decision_id": unsigned["decision"]["decision_id"]},
        headers=operator,
    )
    assert answer.status_code == 403

    prepared = client.post(
        "/api/decisions/challenge",
        json={"target": target, "credential_id": keys.by_user["operator1"].credential_id},
        headers=operator,
    ).json()
    accepted = keys.by_user["operator1"].get_assertion(
        _b64url_decode(prepared["challenge"]), ORIGIN
    )
    answer = client.post(
        "/api/decisions",
        json={
            "decision_id": prepared["decision"]["decision_id"],
            "assertion": msgspec.to_builtins(accepted),
        },
        headers=operator,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["proposal"]["missing"] == "awaiting commander"
    # The captured assertion replayed for another decision: its challenge is not this one.
    replay = client.post(
        "/api/decisions/challenge",
        json={"target": target, "credential_id": keys.by_user["operator1"].credential_id},
        headers=operator,
    ).json()
    answer = client.post(
        "/api/decisions",
        json={
            "decision_id": replay["decision"]["decision_id"],
            "assertion": msgspec.to_builtins(accepted),
        },
        headers=operator,
    )
    assert answer.status_code == 403 and "challenge" in answer.json()["detail"]
    assert not client.get("/api/orders", headers=operator).json()
    # One vote per person, however often it is asked.
    status, body = _sign(client, operator, keys.by_user["operator1"], target)
    assert status == 409, body

    status, body = _sign(client, commander, keys.by_user["commander"], target)
    assert status == 200, body
    orders = client.get("/api/orders", headers=operator).json()
    assert len(orders) == 1 and orders[0]["signature"]
    audit = client.get("/api/audit", headers=operator).json()
    refused = [record["payload"] for record in audit if record["kind"] == "refusal"]
    assert len(refused) >= len(attacks) + 4
    assert any(record["kind"] == "order" for record in audit)
