"""``hotzone federation config``: server configs a real nats-server accepts and runs, with
an account per nation, credentials, and TLS material from one alliance CA."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from hotzone.bus.nkeys import Credentials, decode_jwt
from hotzone.cli import main
from hotzone.runtime.federation_servers import free_port
from tests.federation.servers import nats_server_binary


def _check(binary: Path, config: Path) -> None:
    checked = subprocess.run(
        [str(binary), "-t", "-c", str(config)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, f"{config}: {checked.stdout}{checked.stderr}"


def test_the_written_configs_pass_nats_servers_own_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = nats_server_binary()
    out = tmp_path / "federation"
    base = free_port()
    args = ["federation", "config", "--nations", "PL,LT", "--out", str(out)]
    assert main([*args, "--base-port", str(base), "--store", str(tmp_path / "js")]) == 0
    printed = capsys.readouterr().out
    assert sorted(path.name for path in out.iterdir()) == [
        "hub.conf",
        "hub.creds",
        "keys",
        "lt-leaf.creds",
        "lt.conf",
        "lt.creds",
        "pl-leaf.creds",
        "pl.conf",
        "pl.creds",
        "tls",
    ]
    assert sorted(path.name for path in (out / "tls").iterdir()) == [
        "ca-key.pem",
        "ca.pem",
        "server-hub-key.pem",
        "server-hub.pem",
        "server-lt-key.pem",
        "server-lt.pem",
        "server-pl-key.pem",
        "server-pl.pem",
    ]
    for name, domain in (("hub", "hub"), ("pl", "pl"), ("lt", "lt")):
        assert f"domain {domain}" in printed
        assert "tls://127.0.0.1:" in printed
        _check(binary, out / f"{name}.conf")
    # Every nation joins the hub as a leaf node, through the hub's leaf port, over TLS.
    hub_text = (out / "hub.conf").read_text()
    assert "leafnodes" in hub_text and "tls {" in hub_text
    for nation in ("pl", "lt"):
        text = (out / f"{nation}.conf").read_text()
        assert "remotes" in text and f"{out.resolve()}/{nation}-leaf.creds" in text
    # Secrets are for their owner's eyes only.
    secrets = [*out.glob("*.creds"), *(out / "keys").glob("*.nk"), *(out / "tls").glob("*key*")]
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in secrets)
    # A nation's credentials: a user of its account, allowed its own subjects.
    claims = decode_jwt(Credentials.read(out / "pl.creds").jwt)
    assert claims["nats"]["type"] == "user"
    assert "hz.PL.>" in claims["nats"]["pub"]["allow"]
    assert not any("LT" in subject for subject in claims["nats"]["pub"]["allow"])
    # The servers' certificates: signed by the alliance CA, for 127.0.0.1.
    ca = x509.load_pem_x509_certificate((out / "tls" / "ca.pem").read_bytes())
    server = x509.load_pem_x509_certificate((out / "tls" / "server-pl.pem").read_bytes())
    server.verify_directly_issued_by(ca)
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "127.0.0.1" in {str(ip) for ip in names.get_values_for_type(x509.IPAddress)}


def test_a_second_run_keeps_the_keys_so_issued_credentials_stay_valid(tmp_path: Path) -> None:
    binary = nats_server_binary()
    out = tmp_path / "federation"
    args = ["federation", "config", "--nations", "PL,LT", "--out", str(out)]
    assert main([*args, "--base-port", str(free_port())]) == 0
    first = decode_jwt(Credentials.read(out / "pl.creds").jwt)["iss"]
    ca = (out / "tls" / "ca.pem").read_bytes()
    assert main([*args, "--nations", "PL,LT,RO", "--base-port", str(free_port())]) == 0
    assert decode_jwt(Credentials.read(out / "pl.creds").jwt)["iss"] == first
    assert (out / "tls" / "ca.pem").read_bytes() == ca
    _check(binary, out / "ro.conf")


def test_insecure_configs_have_no_accounts_or_tls(tmp_path: Path) -> None:
    binary = nats_server_binary()
    out = tmp_path / "federation"
    args = ["federation", "config", "--nations", "PL,LT", "--out", str(out), "--insecure"]
    assert main([*args, "--base-port", str(free_port())]) == 0
    assert sorted(path.name for path in out.iterdir()) == ["hub.conf", "lt.conf", "pl.conf"]
    for name in ("hub", "pl", "lt"):
        assert "operator" not in (out / f"{name}.conf").read_text()
        _check(binary, out / f"{name}.conf")


def test_bad_arguments_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["federation", "config", "--nations", "pl!", "--out", str(tmp_path)]) == 2
    assert "nation" in capsys.readouterr().err
    assert main(["federation", "config", "--base-port", "65535", "--out", str(tmp_path)]) == 2
    assert "--base-port" in capsys.readouterr().err
