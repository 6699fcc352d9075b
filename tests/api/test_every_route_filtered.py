"""Every record the API serves is filtered for every viewer (releasability): each route of
``/openapi.json`` and the live stream, asked by a viewer of each nation, answers nothing
not releasable to that nation, and says which nations it filtered for."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from fastapi.testclient import TestClient

from hotzone.api.app import FILTERED_HEADER, ApiConfig, create_app
from hotzone.runtime.routing import subject_for
from hotzone.store import SQLiteStore
from hotzone.types import (
    Alert,
    AuditRecord,
    C2State,
    Decision,
    Event,
    EventKind,
    OperatorRole,
    ProposalStatus,
    Verdict,
)
from hotzone.types.labels import Label
from tests.api.conftest import login
from tests.api.picture_fixture import START, _proposal, picture_messages

# Everything Poland keeps to itself carries SECRET in its ids or text.
SECRET = "SECRET"
VIEWERS = {"observer": "PL", "lt-operator": "LT", "ro-observer": "RO", "de-observer": "DE"}


def _national_messages() -> list[Any]:
    at = START + timedelta(seconds=30)
    national = "NATIONAL PL"
    proposal = msgspec.structs.replace(
        _proposal("P-SECRET", "kinetic", "sam-SECRET", at), releasability=national
    )
    return [
        proposal,
        ProposalStatus(
            time=at,
            proposal_id="P-SECRET",
            proposal_hash=proposal.content_hash,
            state="pending",
            missing="awaiting commander",
            releasability=national,
        ),
        Decision(
            decision_id="dec-SECRET",
            time=at,
            proposal_hash=proposal.content_hash,
            verdict=Verdict.APPROVE,
            operator_id="pl.op.SECRET",
            role=OperatorRole.OPERATOR,
            key_id="k",
            signature="",
            releasability=national,
        ),
        Alert(
            alert_id="A-SECRET",
            time=at,
            kind="hostile_inbound",
            summary="SECRET inbound",
            priority=1,
            releasability=national,
        ),
        Event(
            event_id="ev-SECRET",
            time=at,
            source_id="radar-SECRET",
            kind=EventKind.SENSOR_STATUS,
            severity=3,
            summary="SECRET radar degraded",
            releasability=national,
        ),
        Event(
            event_id="jam-SECRET",
            time=at,
            source_id="assess",
            kind=EventKind.JAMMING,
            severity=5,
            summary="SECRET GNSS jamming",
            releasability=national,
        ),
        C2State(
            time=at,
            nation="PL",
            mode="live",
            abort_active=True,
            changed_by="pl.cdr.SECRET",
            releasability=national,
        ),
        AuditRecord(
            sequence=1,
            time=at,
            kind="decision",
            actor="pl.op.SECRET",
            payload="SECRET",
            previous_hash="0" * 64,
            record_hash="1" * 64,
            releasability=national,
        ),
    ]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    path = tmp_path / "hotzone.sqlite"
    with SQLiteStore(path) as store:
        messages = [*picture_messages(), *_national_messages()]
        store.append_many((subject_for(m, "PL"), m) for m in messages)
    config = ApiConfig(store_path=path, scenario="suwalki-drones", runs_directory=tmp_path)
    with TestClient(create_app(config)) as test_client:
        yield test_client


def _labels(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "releasability" and isinstance(inner, str):
                yield inner
            else:
                yield from _labels(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _labels(inner)


def _paths(client: TestClient) -> list[str]:
    """Every GET route, with each path parameter filled by every id the picture holds."""
    schema = client.get("/openapi.json").json()
    ids = ["T1", "T2", "T3", "P-KINETIC", "P-SECRET", "A-SECRET"]
    paths = []
    for path, operations in schema["paths"].items():
        if "get" not in operations:
            continue
        if "{" in path:
            paths += [re.sub(r"\{[^}]+\}", ident, path) for ident in ids]
        else:
            paths.append(path)
    return paths


@pytest.mark.parametrize(("username", "nation"), list(VIEWERS.items()))
def test_no_route_answers_a_viewer_anything_not_releasable_to_it(
    client: TestClient, username: str, nation: str
) -> None:
    headers = login(client, username)
    paths = _paths(client)
    assert len(paths) > 20
    answered = 0
    for path in paths:
        for query in ("", "?view_as=DE"):
            response = client.get(path + query, headers=headers)
            assert response.status_code in (200, 403, 404, 422), (path, response.text)
            if response.status_code != 200:
                continue
            answered += 1
            if path.startswith("/api/"):
                filtered_for = response.headers[FILTERED_HEADER].split()
                assert filtered_for[0] == nation, path
            content = response.headers.get("content-type", "")
            viewers = [nation, "DE"] if query else [nation]
            if content.startswith("application/json") and path != "/openapi.json":
                body = response.json()
                for label in _labels(body):
                    assert all(Label.parse(label).releasable_to(v) for v in viewers), (
                        path,
                        label,
                    )
            if nation != "PL" or query:
                assert SECRET not in response.text, (path, query)
    assert answered > 10


def test_poland_sees_its_own_national_records(client: TestClient) -> None:
    """The filter is not simply empty: PL's viewers get what is PL's."""
    headers = login(client, "observer")
    assert "P-SECRET" in {
        p["proposal_id"] for p in client.get("/api/proposals", headers=headers).json()
    }
    assert client.get("/api/status", headers=headers).json()["aborted_by"] == "pl.cdr.SECRET"
    timeline = {e["id"] for e in client.get("/api/events", headers=headers).json()}
    assert {"A-SECRET", "P-SECRET", "dec-SECRET", "jam-SECRET"} <= timeline
    layers = client.get("/api/layers", headers=headers).json()
    assert layers["sensors"]["features"]
    lithuania = client.get("/api/layers", headers=login(client, "lt-operator")).json()
    germany = client.get("/api/layers", headers=login(client, "de-observer")).json()
    assert lithuania["sensors"]["features"]  # the scenario is REL PL LT
    assert not germany["sensors"]["features"]


def test_the_stream_filters_for_its_viewer(client: TestClient) -> None:
    for username, nation in VIEWERS.items():
        token = login(client, username)["authorization"].removeprefix("Bearer ")
        with client.websocket_connect(f"/api/stream?token={token}") as socket:
            hello = socket.receive_json()
            assert hello["filtered_for"] == [nation]
            if nation == "PL":
                operator = login(client, "operator1")
                assert (
                    client.post("/api/alerts/A-SECRET/acknowledge", headers=operator).status_code
                    == 200
                )
                batch = socket.receive_json()
                assert any(u["key"] == "alert:A-SECRET" for u in batch["updates"])
