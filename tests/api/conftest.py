"""Fixtures: an app over a small recorded picture, and logged-in clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hotzone.api.app import ApiConfig, create_app
from tests.api.picture_fixture import write_picture_store


@pytest.fixture
def picture_store(tmp_path: Path) -> Path:
    return write_picture_store(tmp_path / "hotzone.sqlite")


@pytest.fixture
def client(picture_store: Path, tmp_path: Path) -> Iterator[TestClient]:
    config = ApiConfig(
        store_path=picture_store, scenario="suwalki-drones", runs_directory=tmp_path / "runs"
    )
    with TestClient(create_app(config)) as test_client:
        yield test_client


def login(client: TestClient, username: str) -> dict[str, str]:
    """Bearer header of a TEST user (password ``<username>-test``)."""
    response = client.post(
        "/api/login", json={"username": username, "password": f"{username}-test"}
    )
    assert response.status_code == 200, response.text
    client.cookies.clear()  # each caller states who it is with its own header
    return {"authorization": f"Bearer {response.json()['token']}"}
