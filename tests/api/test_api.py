"""The REST API over a recorded picture: login, roles, releasability, alerts, decisions."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient

from hotzone.api.app import ApiConfig, create_app
from hotzone.store import SQLiteStore
from hotzone.types import Decision, GeoPoint, Track
from hotzone.types.signing import decision_signing_bytes
from tests.api.conftest import login
from tests.api.picture_fixture import (
    CONFIRMED_VISIBLE_TO_DE,
    CONFIRMED_VISIBLE_TO_PL,
    picture_messages,
    write_picture_store,
)


def test_every_endpoint_needs_a_login(client: TestClient) -> None:
    for path in ("/api/tracks", "/api/alerts", "/api/proposals", "/api/audit", "/api/me"):
        assert client.get(path).status_code == 401
    assert client.post("/api/alerts/A1/acknowledge").status_code == 401
    assert (
        client.post("/api/proposals/P-JAM/decision", json={"verdict": "approve"}).status_code == 401
    )


def test_wrong_password_is_refused(client: TestClient) -> None:
    response = client.post("/api/login", json={"username": "operator1", "password": "nope"})
    assert response.status_code == 401
    assert client.post("/api/login", json={"username": "ghost", "password": "x"}).status_code == 401


def test_tracks_are_filtered_by_the_users_nation(client: TestClient) -> None:
    polish = client.get("/api/tracks?status=confirmed", headers=login(client, "operator1")).json()
    german = client.get("/api/tracks?status=confirmed", headers=login(client, "de-observer")).json()
    assert len(polish) == CONFIRMED_VISIBLE_TO_PL
    assert len(german) == CONFIRMED_VISIBLE_TO_DE
    assert {t["track_id"] for t in german} == {"T2"}
    # The nation selector narrows what a Polish user sees to what Germany may see.
    as_germany = client.get(
        "/api/tracks?status=confirmed&view_as=DE", headers=login(client, "operator1")
    ).json()
    assert {t["track_id"] for t in as_germany} == {"T2"}
    lithuanian = client.get("/api/tracks", headers=login(client, "lt-operator")).json()
    assert "T3" not in {t["track_id"] for t in lithuanian}  # NATIONAL PL
    assert client.get("/api/tracks/T3", headers=login(client, "lt-operator")).status_code == 404


def test_track_view_carries_symbol_and_label_fields(client: TestClient) -> None:
    headers = login(client, "observer")
    drone = client.get("/api/tracks/T1", headers=headers).json()
    assert drone["standard_identity"] == "hostile"
    assert drone["sidc"][3] == "6"  # APP-6 standard identity digit: hostile
    assert drone["speed_mps"] > 40.0
    history = client.get("/api/tracks/T1/history", headers=headers).json()["points"]
    assert len(history) == 5
    assert history[0]["time"] < history[-1]["time"]


def test_acknowledging_an_alert_is_recorded_and_audited(client: TestClient) -> None:
    observer = login(client, "observer")
    assert client.post("/api/alerts/A1/acknowledge", headers=observer).status_code == 403
    operator = login(client, "operator1")
    response = client.post("/api/alerts/A1/acknowledge", headers=operator)
    assert response.status_code == 200
    alerts = {a["alert_id"]: a for a in client.get("/api/alerts", headers=observer).json()}
    assert alerts["A1"]["state"] == "acknowledged"
    assert alerts["A1"]["acknowledged_by"] == "operator1"
    assert client.post("/api/alerts/A1/acknowledge", headers=operator).status_code == 409
    audit = client.get("/api/audit", headers=observer).json()
    assert [r["kind"] for r in audit] == ["alert.acknowledge"]


def test_kinetic_needs_two_people_and_yields_a_signed_order(client: TestClient) -> None:
    first, second = login(client, "operator1"), login(client, "commander")
    url = "/api/proposals/P-KINETIC/decision"
    assert (
        client.post(url, json={"verdict": "approve"}, headers=login(client, "observer")).status_code
        == 403
    )
    after_one = client.post(url, json={"verdict": "approve"}, headers=first).json()
    assert after_one["state"] == "partially_approved"
    assert client.get("/api/orders", headers=first).json() == []
    # The same person approving twice is still one person.
    assert client.post(url, json={"verdict": "approve"}, headers=first).status_code == 409
    after_two = client.post(url, json={"verdict": "approve"}, headers=second).json()
    assert after_two["state"] == "approved"
    orders = client.get("/api/orders", headers=first).json()
    assert len(orders) == 1 and orders[0]["effector_id"] == "sam-suwalki"
    decisions = client.get("/api/decisions", headers=first).json()
    assert {d["operator_id"] for d in decisions} == {"operator1", "commander"}
    assert all(d["signature_valid"] for d in decisions)
    assert set(orders[0]["decision_ids"]) == {d["decision_id"] for d in decisions}
    # The signature verifies with the published public key, outside the server.
    keys = {k["key_id"]: k for k in client.get("/api/operators/keys", headers=first).json()}
    decision = Decision(
        **{k: v for k, v in decisions[0].items() if k not in ("type", "signature_valid")}
    )
    public = Ed25519PublicKey.from_public_bytes(
        base64.b64decode(keys[decision.key_id]["public_key"])
    )
    public.verify(base64.b64decode(decision.signature), decision_signing_bytes(decision))
    kinds = [r["kind"] for r in client.get("/api/audit", headers=first).json()]
    assert kinds == ["decision.approve", "decision.approve", "order"]
    verified = client.get("/api/audit/verify", headers=first).json()
    assert verified["intact"] is True
    exported = client.get("/api/audit/export", headers=first).text.splitlines()
    assert len(exported) == 3


def test_non_kinetic_needs_one_approval_and_rejection_stops_it(client: TestClient) -> None:
    operator = login(client, "operator2")
    approved = client.post(
        "/api/proposals/P-JAM/decision", json={"verdict": "approve"}, headers=operator
    ).json()
    assert approved["state"] == "approved"
    rejected = client.post(
        "/api/proposals/P-KINETIC/decision", json={"verdict": "reject"}, headers=operator
    ).json()
    assert rejected["state"] == "rejected"
    late = client.post(
        "/api/proposals/P-KINETIC/decision",
        json={"verdict": "approve"},
        headers=login(client, "commander"),
    )
    assert late.status_code == 409


def test_abort_stops_new_orders(client: TestClient) -> None:
    commander = login(client, "commander")
    assert client.post("/api/abort", json={"reason": "drill"}, headers=commander).status_code == 200
    refused = client.post(
        "/api/proposals/P-JAM/decision", json={"verdict": "approve"}, headers=commander
    )
    assert refused.status_code == 409
    assert client.get("/api/status", headers=commander).json()["aborted"] is True


def test_layers_runs_scenarios_and_bad_input(client: TestClient) -> None:
    headers = login(client, "observer")
    layers = client.get("/api/layers", headers=headers).json()
    assert len(layers["sensors"]["features"]) > 5
    assert len(layers["coverage"]["features"]) >= 3
    assert layers["jamming"]["features"]
    assert layers["effectors"]["features"] and layers["corridors"]["features"]
    # The page opens on the scenario's region: its bounding box, as a closed ring.
    (ring,) = layers["area"]["features"][0]["geometry"]["coordinates"]
    assert ring[0] == ring[-1] and len(ring) == 5
    lons, lats = {lon for lon, _ in ring}, {lat for _, lat in ring}
    assert min(lons) < 23.0 < max(lons) and min(lats) < 54.1 < max(lats)  # Suwałki
    assert "suwalki-drones" in {
        s["name"] for s in client.get("/api/scenarios", headers=headers).json()
    }
    assert client.get("/api/runs", headers=headers).json() == []
    assert client.get("/api/borders", headers=headers).json()["type"] == "FeatureCollection"
    assert client.get("/api/tracks?view_as=pl!", headers=headers).status_code == 422
    assert client.post("/api/login", content=b"{not json").status_code == 422
    assert (
        client.post(
            "/api/proposals/P-JAM/decision",
            json={"verdict": "maybe"},
            headers=login(client, "operator1"),
        ).status_code
        == 422
    )


def test_an_allies_copy_of_a_track_is_named_after_its_origin_not_merged(tmp_path: Path) -> None:
    """LT runs the same scenario and names its track T1 too: in PL's picture, replayed from
    PL's store, LT's copy is LT:T1 beside PL's own T1, with its own position."""
    store_path = write_picture_store(tmp_path / "hotzone.sqlite")
    with SQLiteStore(store_path) as store:
        own = next(m for m in picture_messages() if isinstance(m, Track) and m.track_id == "T1")
        lithuanian = msgspec.structs.replace(
            own,
            position=GeoPoint(lat_deg=54.3, lon_deg=23.9, height_m=300.0),
            time=own.time + timedelta(seconds=60),
        )
        store.append("hz.PL.ally.LT.trk.suwalki", lithuanian)
    config = ApiConfig(store_path=store_path, scenario="suwalki-drones", runs_directory=tmp_path)
    with TestClient(create_app(config)) as client:
        listed = client.get("/api/tracks", headers=login(client, "observer")).json()
    tracks = {t["track_id"]: t for t in listed}
    assert {"T1", "LT:T1"} <= set(tracks)
    assert tracks["LT:T1"]["lat_deg"] == pytest.approx(54.3)
    assert tracks["T1"]["lat_deg"] != pytest.approx(54.3)  # PL's own track is untouched
