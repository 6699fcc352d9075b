"""The REST API over a recorded picture: login, roles, releasability, alerts, decisions."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import msgspec
import pytest
from fastapi.testclient import TestClient

from hotzone.api.app import ApiConfig, create_app
from hotzone.store import SQLiteStore
from hotzone.types import GeoPoint, Track
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
    assert client.post("/api/decisions/challenge", json={"target": "P-JAM"}).status_code == 401
    assert client.post("/api/decisions", json={"decision_id": "d1"}).status_code == 401


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


def test_acknowledging_an_alert_on_a_recorded_run_is_kept(client: TestClient) -> None:
    observer = login(client, "observer")
    assert client.post("/api/alerts/A1/acknowledge", headers=observer).status_code == 403
    operator = login(client, "operator1")
    response = client.post("/api/alerts/A1/acknowledge", headers=operator)
    assert response.status_code == 200
    alerts = {a["alert_id"]: a for a in client.get("/api/alerts", headers=observer).json()}
    assert alerts["A1"]["state"] == "acknowledged"
    assert alerts["A1"]["acknowledged_by"] == "operator1"
    assert client.post("/api/alerts/A1/acknowledge", headers=operator).status_code == 409
    # The API writes no audit record: only c2 does (a live run's c2 audits acknowledgements).
    assert client.get("/api/audit", headers=observer).json() == []


def test_a_recorded_run_has_no_c2_to_decide_and_the_api_never_decides(client: TestClient) -> None:
    """Serving a finished run, the API has no bus and no c2: a decision is prepared, but
    submitting it is refused with the reason; nothing is signed, ordered or audited."""
    operator = login(client, "operator1")
    prepared = client.post(
        "/api/decisions/challenge", json={"target": "P-KINETIC"}, headers=operator
    )
    assert prepared.status_code == 200
    body = prepared.json()
    assert body["rp_id"] == "localhost" and len(body["challenge"]) == 43  # 32 bytes, base64url
    assert body["decision"]["operator_id"] == "operator1" and body["decision"]["signature"] == ""
    decision_id = body["decision"]["decision_id"]
    answer = client.post("/api/decisions", json={"decision_id": decision_id}, headers=operator)
    assert answer.status_code == 409 and "no c2" in answer.json()["detail"]
    # A prepared decision is its preparer's alone, and used once.
    again = client.post("/api/decisions", json={"decision_id": decision_id}, headers=operator)
    assert again.status_code == 404
    assert client.get("/api/orders", headers=operator).json() == []
    assert client.get("/api/audit", headers=operator).json() == []
    unknown = client.post("/api/decisions/challenge", json={"target": "nope"}, headers=operator)
    assert unknown.status_code == 404
    # Without c2's word, a proposal is pending: the picture never works it out itself.
    views = {p["proposal_id"]: p for p in client.get("/api/proposals", headers=operator).json()}
    assert views["P-KINETIC"]["missing"] == "awaiting c2"


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
            "/api/decisions/challenge",
            json={"target": "P-JAM", "verdict": "maybe"},
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
