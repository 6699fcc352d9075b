"""``hotzone federation config``: server configs a real nats-server accepts and runs, with
an account per nation, credentials, and TLS material from one alliance CA."""

from __future__ import annotations

import re
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


def _quoted_paths(text: str) -> list[str]:
    """Every file or folder a config names (store, certificates, keys, credentials, CA)."""
    return re.findall(r'(?:store_dir|cert_file|key_file|credentials|ca_file):\s*"([^"]+)"', text)


def test_relative_out_and_store_give_absolute_paths_that_work_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    binary = nats_server_binary()
    monkeypatch.chdir(tmp_path)
    args = ["federation", "config", "--nations", "PL,LT", "--out", "federation"]
    assert main([*args, "--store", "js", "--base-port", str(free_port())]) == 0
    for name in ("hub", "pl", "lt"):
        text = (tmp_path / "federation" / f"{name}.conf").read_text()
        paths = _quoted_paths(text)
        # store, certificate and key; the hub's again for its leaf port, a nation's leaf
        # connection its credentials and the CA
        assert len(paths) == 5, text
        assert all(Path(path).is_absolute() for path in paths), paths
        assert f'store_dir: "{tmp_path}/js/{name}/jetstream"' in text
        # Checked from another folder: every file it names is found.
        checked = subprocess.run(
            [str(binary), "-t", "-c", str(tmp_path / "federation" / f"{name}.conf")],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
            cwd="/",
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr


def _certificate_addresses(path: Path) -> set[str]:
    certificate = x509.load_pem_x509_certificate(path.read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} | set(
        names.get_values_for_type(x509.DNSName)
    )


def test_each_server_on_its_own_host_with_a_certificate_for_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = nats_server_binary()
    out = tmp_path / "federation"
    hosts = ["--host", "hub=127.0.0.2", "--host", "pl=127.0.0.3", "--host", "LT=lt.example"]
    args = ["federation", "config", "--nations", "PL,LT,RO", "--out", str(out), *hosts]
    assert main([*args, "--base-port", "4222", "--host", "127.0.0.9"]) == 0
    printed = capsys.readouterr().out
    for url in ("tls://127.0.0.2:4222", "tls://127.0.0.3:4224", "tls://lt.example:4225"):
        assert url in printed
    assert "tls://127.0.0.9:4226" in printed  # RO: the default host
    assert "listen: 127.0.0.3:4224" in (out / "pl.conf").read_text()
    # The nations' servers reach the hub's leaf port at the hub's address.
    assert 'url: "nats-leaf://127.0.0.2:4223"' in (out / "ro.conf").read_text()
    loopback = {"127.0.0.1", "localhost"}
    assert _certificate_addresses(out / "tls" / "server-hub.pem") == loopback | {"127.0.0.2"}
    assert _certificate_addresses(out / "tls" / "server-pl.pem") == loopback | {"127.0.0.3"}
    assert _certificate_addresses(out / "tls" / "server-lt.pem") == loopback | {"lt.example"}
    assert _certificate_addresses(out / "tls" / "server-ro.pem") == loopback | {"127.0.0.9"}
    _check(binary, out / "hub.conf")

    # A hub reached at another name (a proxy, a public address): the leaves dial it, and
    # the hub's certificate carries it.
    hub_url = "nats-leaf://hub.alliance.example:7422"
    assert main([*args[:-6], "--hub-url", hub_url, "--base-port", str(free_port())]) == 0
    assert f'url: "{hub_url}"' in (out / "pl.conf").read_text()
    assert "hub.alliance.example" in _certificate_addresses(out / "tls" / "server-hub.pem")


@pytest.mark.parametrize(
    ("hosts", "says"),
    [
        (["--host", "XX=127.0.0.2"], "neither 'hub' nor one of the nations"),
        (["--host", "127.0.0.2", "--host", "127.0.0.3"], "one default host only"),
        (["--host", "PL=127.0.0.2", "--host", "pl=127.0.0.3"], "PL has a host already"),
        (["--host", 'PL=bad"host'], "neither an IP address nor a DNS name"),
        (["--hub-url", "http://hub:80/x"], "hub URL"),
    ],
)
def test_bad_hosts_are_one_line(
    hosts: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["federation", "config", "--nations", "PL,LT", "--out", str(tmp_path), *hosts]
    assert main(args) == 2
    error = capsys.readouterr().err
    assert says in error and error.count("\n") == 1, error
