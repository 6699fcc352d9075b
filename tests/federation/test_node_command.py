"""``hotzone node`` as an operator starts it, against a real nats-server with JetStream."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotzone.cli import main
from hotzone.store import SQLiteStore
from hotzone.types import C2State, Track
from tests.federation.servers import running_standalone


def test_a_node_runs_its_scenario_on_nats_and_records_the_picture(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "pl.sqlite"
    with running_standalone(tmp_path) as server:
        args = ["node", "--nation", "PL", "--nats", server.plan.url, "--domain", "pl"]
        assert main([*args, "--duration", "60", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("PL: ") and "messages recorded" in out
    with SQLiteStore(store) as recorded:
        tracks = [m.message for m in recorded.replay(types=["track"])]
        states = [m.message for m in recorded.replay(types=["c2_state"])]
        orders = recorded.count("task_order")
    assert tracks and all(isinstance(t, Track) for t in tracks)
    # A node is never a simulation: its c2 says so, and no one in it can order anything.
    assert states and {s.mode for s in states if isinstance(s, C2State)} == {"live"}
    assert orders == 0


def test_a_node_without_a_server_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hotzone.runtime.federation_servers import free_port

    url = f"nats://127.0.0.1:{free_port()}"
    args = ["node", "--nation", "PL", "--nats", url, "--store", str(tmp_path / "x.sqlite")]
    assert main([*args, "--duration", "5", "--connect-timeout", "2"]) == 2
    error = capsys.readouterr().err
    assert url in error and len(error.strip().splitlines()) == 1


def test_a_restarted_node_continues_its_audit_chain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "pl.sqlite"
    with running_standalone(tmp_path) as server:
        args = ["node", "--nation", "PL", "--nats", server.plan.url, "--domain", "pl"]
        for _ in range(2):  # stopped, then started again with the same command
            assert main([*args, "--duration", "30", "--store", str(store)]) == 0
    with SQLiteStore(store) as recorded:
        opened = [m.message for m in recorded.replay(types=["audit"]) if m.message.kind == "open"]
    assert len(opened) == 2  # one chain, opened again after the restart
    assert main(["audit", "verify", str(store)]) == 0, capsys.readouterr()


def test_a_node_without_credentials_or_with_a_bad_file_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.federation.servers import running_federation

    with running_federation(["PL"], tmp_path, secure=True) as federation:
        assert federation.secrets is not None
        url = federation.url("PL")
        ca = str(federation.secrets.ca)
        args = ["node", "--nation", "PL", "--nats", url, "--store", str(tmp_path / "x.sqlite")]
        # TLS but no credentials: the server refuses, and the node says why.
        assert main([*args, "--tls-ca", ca, "--duration", "5", "--connect-timeout", "2"]) == 2
        error = capsys.readouterr().err
        assert url in error and "authorization" in error.lower()
        assert len(error.strip().splitlines()) == 1
        # A file that is not a credentials file.
        bogus = tmp_path / "pl.creds"
        bogus.write_text("not credentials")
        assert main([*args, "--creds", str(bogus), "--tls-ca", ca, "--duration", "5"]) == 2
        error = capsys.readouterr().err
        assert "not a NATS credentials file" in error and len(error.strip().splitlines()) == 1


def test_a_node_records_into_postgresql_given_by_url(
    tmp_path: Path, postgres_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from hotzone.store import PostgresStore

    with running_standalone(tmp_path) as server:
        args = ["node", "--nation", "PL", "--nats", server.plan.url, "--domain", "pl"]
        assert main([*args, "--duration", "20", "--store", postgres_dsn]) == 0, capsys.readouterr()
    with PostgresStore(postgres_dsn) as recorded:
        assert recorded.count("track") > 0 and recorded.count("c2_state") >= 1
