"""The login and the sessions as an attacker tries them: guessing passwords, guessing
names, stealing a session, a foreign page, a server exposed with the TEST users."""

from __future__ import annotations

import ssl
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from hotzone.api.app import ApiConfig, create_app
from hotzone.cli import main
from tests.api.conftest import login
from tests.api.picture_fixture import write_picture_store
from tests.api.server import running_server


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return write_picture_store(tmp_path / "hotzone.sqlite")


def _client(store: Path, **options: object) -> TestClient:
    return TestClient(create_app(ApiConfig(store_path=store, **options)))  # type: ignore[arg-type]


@pytest.mark.slow(50)
def test_guessing_is_slowed_per_user_and_per_address_while_the_page_stays_responsive(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(ApiConfig(store_path=store))
    with running_server(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        token = client.post(
            "/api/login", json={"username": "observer", "password": "observer-test"}
        ).json()["token"]
        headers = {"authorization": f"Bearer {token}"}

        def status_latencies(count: int) -> list[float]:
            latencies = []
            for _ in range(count):
                started = time.perf_counter()
                assert client.get("/api/status", headers=headers).status_code == 200
                latencies.append(time.perf_counter() - started)
            return latencies

        idle = status_latencies(100)
        codes: list[int] = []

        def attack() -> None:
            with httpx.Client(base_url=url, timeout=30) as attacker:
                for attempt in range(1000):
                    answer = attacker.post(
                        "/api/login", json={"username": "commander", "password": f"guess{attempt}"}
                    )
                    codes.append(answer.status_code)

        attacker = threading.Thread(target=attack)
        attacker.start()
        under_attack = status_latencies(100)
        attacker.join()
        # Another name from the same address is slowed too: the address is counted.
        other = client.post("/api/login", json={"username": "operator1", "password": "x"})
    assert codes[:10] == [401] * 10
    # From the 11th on, refused without a look at the password; a try goes through again
    # only after each doubled wait (1 s, 2 s, 4 s ...): a handful in the whole attack.
    assert codes[10] == 429
    assert codes[10:].count(401) <= 10 and codes.count(429) >= 980
    assert other.status_code == 429 and int(other.headers["retry-after"]) >= 1
    ratio = statistics.quantiles(under_attack, n=100)[98] / statistics.quantiles(idle, n=100)[98]
    with capsys.disabled():
        print(f"\n/api/status p99 under 1,000 wrong logins / idle p99: {ratio:.2f}")
    assert app.state.hotzone.guard.refused >= 980


def test_an_unknown_name_is_checked_like_a_known_one(store: Path) -> None:
    with _client(store) as client:
        state = client.app.state.hotzone  # type: ignore[attr-defined]
        known = state.users["observer"].password_hash
        # The same scrypt cost, so an unknown name costs the server (and the clock) the same.
        assert state.unknown_user_hash.split("$")[:4] == known.split("$")[:4]
        unknown = client.post("/api/login", json={"username": "ghost", "password": "x"})
        wrong = client.post("/api/login", json={"username": "observer", "password": "x"})
        assert unknown.status_code == wrong.status_code == 401
        assert unknown.json() == wrong.json()


def test_sessions_expire_are_few_per_user_and_cookies_are_secure_over_tls(store: Path) -> None:
    with _client(store, session_idle_timeout_s=0.5, max_sessions_per_user=2) as client:
        first = login(client, "observer")
        second, third = login(client, "observer"), login(client, "observer")
        assert client.get("/api/me", headers=first).status_code == 401  # evicted: 2 per user
        assert client.get("/api/me", headers=third).status_code == 200
        time.sleep(0.7)
        assert client.get("/api/me", headers=second).status_code == 401  # idle too long
    with TestClient(create_app(ApiConfig(store_path=store)), base_url="https://testserver") as tls:
        answer = tls.post("/api/login", json={"username": "observer", "password": "observer-test"})
        cookie = answer.headers["set-cookie"].lower()
        assert "secure" in cookie and "httponly" in cookie and "max-age=43200" in cookie
        assert "samesite=strict" in cookie


def test_logout_ends_the_sessions_websockets(store: Path) -> None:
    with _client(store) as client:
        headers = login(client, "observer")
        token = headers["authorization"].removeprefix("Bearer ")
        with client.websocket_connect(f"/api/stream?token={token}") as socket:
            assert socket.receive_json()["type"] == "hello"
            assert client.post("/api/logout", headers=headers).status_code == 200
            with pytest.raises(WebSocketDisconnect) as closed:
                while True:
                    socket.receive_json()
            assert closed.value.code == 4401


def test_a_foreign_origin_may_not_act_nor_open_the_stream(store: Path) -> None:
    with _client(store) as client:
        headers = login(client, "operator1")
        foreign = {**headers, "origin": "http://evil.example"}
        assert client.post("/api/alerts/A1/acknowledge", headers=foreign).status_code == 403
        assert client.post("/api/logout", headers=foreign).status_code == 403
        same = {**headers, "origin": "http://testserver"}
        assert client.post("/api/alerts/A1/acknowledge", headers=same).status_code == 200
        token = headers["authorization"].removeprefix("Bearer ")
        with (
            pytest.raises(WebSocketDisconnect) as closed,
            client.websocket_connect(
                f"/api/stream?token={token}", headers={"origin": "http://evil.example"}
            ) as socket,
        ):
            socket.receive_json()
        assert closed.value.code == 4403


def test_serve_refuses_to_expose_the_test_users_and_takes_tls_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    write_picture_store(run / "hotzone.sqlite")
    assert main(["serve", "--run", str(run), "--host", "0.0.0.0"]) == 2
    error = capsys.readouterr().err
    assert "TEST users" in error and len(error.strip().splitlines()) == 1
    certificate = tmp_path / "c.pem"
    certificate.write_text("-----BEGIN CERTIFICATE-----\n")
    assert main(["serve", "--run", str(run), "--tls-cert", str(certificate)]) == 2
    assert "go together" in capsys.readouterr().err
    missing = tmp_path / "missing.pem"
    assert (
        main(["serve", "--run", str(run), "--tls-cert", str(missing), "--tls-key", str(missing)])
        == 2
    )
    assert "missing.pem" in capsys.readouterr().err


@pytest.fixture
def certificate(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    yield cert_path, key_path


def test_serve_speaks_https_with_the_given_certificate(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    from hotzone.runtime.federation_servers import free_port
    from tests.api.test_serve_commands import Served

    cert, key = certificate
    run = tmp_path / "run"
    run.mkdir()
    write_picture_store(run / "hotzone.sqlite")
    tls = ["--tls-cert", str(cert), "--tls-key", str(key)]
    served = Served(["serve", "--run", str(run), "--port", str(free_port()), *tls], tmp_path)
    try:
        url = served.url()
        assert url.startswith("https://")
        base = url.replace("127.0.0.1", "localhost")
        deadline = time.monotonic() + 60
        while True:
            try:
                trust = ssl.create_default_context(cafile=str(cert))
                with httpx.Client(base_url=base, verify=trust) as client:
                    answer = client.post(
                        "/api/login", json={"username": "observer", "password": "observer-test"}
                    )
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert answer.status_code == 200 and "secure" in answer.headers["set-cookie"].lower()
    finally:
        assert served.interrupt() == 0


def test_refusals_are_counted_on_metrics(store: Path) -> None:
    with _client(store) as client:
        for _ in range(3):
            client.post("/api/login", json={"username": "observer", "password": "wrong"})
        headers = login(client, "operator1")
        client.post("/api/logout", headers={**headers, "origin": "http://evil.example"})
        text = client.get("/metrics", headers=headers).text
    assert 'hotzone_login_refusals_total{reason="wrong_password"} 3' in text
    assert 'hotzone_http_refusals_total{reason="origin"} 1' in text
    assert 'hotzone_picture_messages_total{type="Track"}' in text
    assert "# TYPE hotzone_sessions gauge" in text
