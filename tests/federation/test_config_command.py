"""``hotzone federation config``: server configs a real nats-server accepts and runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hotzone.cli import main
from hotzone.runtime.federation_servers import free_port
from tests.federation.servers import nats_server_binary


def test_the_written_configs_pass_nats_servers_own_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = nats_server_binary()
    out = tmp_path / "federation"
    base = free_port()
    args = ["federation", "config", "--nations", "PL,LT", "--out", str(out)]
    assert main([*args, "--base-port", str(base), "--store", str(tmp_path / "js")]) == 0
    printed = capsys.readouterr().out
    assert sorted(path.name for path in out.iterdir()) == ["hub.conf", "lt.conf", "pl.conf"]
    for name, domain in (("hub", "hub"), ("pl", "pl"), ("lt", "lt")):
        config = out / f"{name}.conf"
        assert f"domain {domain}" in printed
        checked = subprocess.run(
            [str(binary), "-t", "-c", str(config)],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert checked.returncode == 0, f"{config}: {checked.stdout}{checked.stderr}"
    # Every nation joins the hub as a leaf node, through the hub's leaf port.
    hub_text = (out / "hub.conf").read_text()
    assert "leafnodes" in hub_text
    assert all("remotes" in (out / f"{n}.conf").read_text() for n in ("pl", "lt"))


def test_bad_arguments_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["federation", "config", "--nations", "pl!", "--out", str(tmp_path)]) == 2
    assert "nation" in capsys.readouterr().err
    assert main(["federation", "config", "--base-port", "65535", "--out", str(tmp_path)]) == 2
    assert "--base-port" in capsys.readouterr().err
