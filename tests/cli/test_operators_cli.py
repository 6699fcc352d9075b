"""``hotzone operators enroll|keygen|list|revoke`` and docs/operators.md, run verbatim."""

from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hotzone.c2.keys import OperatorRegistry, RegistryFile, SigningKey
from hotzone.c2.webauthn import signature_fault
from hotzone.cli import main
from hotzone.types import OperatorRole, Verdict
from tests.c2.software_authenticator import SoftwareAuthenticator

DOC = Path(__file__).parents[2] / "docs" / "operators.md"
T = datetime(2025, 3, 14, 2, tzinfo=UTC)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh nation configuration directory ($HOTZONE_HOME), the working directory in
    ``tmp_path``."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOTZONE_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    yield home


def run(*argv: str) -> int:
    return main(["operators", *argv])


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("hotzone operators: error: ")
    return err


def test_enroll_with_a_new_key_file(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("enroll", "--operator", "cdr-1", "--role", "commander", "--key-out", "c.key") == 0
    assert stat.S_IMODE(os.stat("c.key").st_mode) == 0o600
    key = SigningKey.load("c.key")
    enrolled = RegistryFile(home / "operators.yaml").current().get(key.key_id)
    assert enrolled is not None
    assert (enrolled.operator_id, enrolled.role, enrolled.nation, enrolled.kind) == (
        "cdr-1",
        OperatorRole.COMMANDER,
        "PL",
        "ed25519",
    )
    assert enrolled.enrolled_at is not None and enrolled.enrolled_at.tzinfo is not None
    assert "private_key" not in (home / "operators.yaml").read_text()
    assert "private_key" not in Path("c.key.pub").read_text()
    decision = key.decide("a" * 64, Verdict.APPROVE, T)
    assert signature_fault(decision, enrolled, None).ok
    assert f"with key {key.key_id}" in capsys.readouterr().out


def test_enroll_a_public_key_from_the_operators_console(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    console = tmp_path / "console"
    console.mkdir()
    assert run("keygen", "--operator", "op-1", "--role", "operator", "--out", "console/o.key") == 0
    assert not (home / "operators.yaml").exists()  # keygen enrolls nothing
    lt_home = str(tmp_path / "lt")
    enroll = ["enroll", "--operator", "op-1", "--role", "operator", "--nation", "LT"]
    assert run(*enroll, "--public-key", "console/o.key.pub", "--home", lt_home) == 0
    key = SigningKey.load(console / "o.key")
    enrolled = OperatorRegistry.load(tmp_path / "lt" / "operators.yaml").get(key.key_id)
    assert enrolled is not None and enrolled.nation == "LT"
    # A key file made by `hotzone decide keygen` gives its public half as well.
    keygen = ["decide", "keygen", "--operator", "op-2", "--role", "operator"]
    assert main([*keygen, "--out", "d.key"]) == 0
    assert run("enroll", "--operator", "op-2", "--role", "operator", "--public-key", "d.key") == 0
    assert RegistryFile(home / "operators.yaml").current().get(SigningKey.load("d.key").key_id)


def test_list_shows_operator_role_nation_kind_key_and_revocation(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run("enroll", "--operator", "cdr-1", "--role", "commander", "--key-out", "c.key")
    run(
        "enroll",
        "--operator",
        "obs-1",
        "--role",
        "observer",
        "--nation",
        "LT",
        "--key-out",
        "o.key",
    )
    assert run("revoke", "obs-1") == 0
    capsys.readouterr()
    assert run("list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "OPERATOR",
        "ROLE",
        "NATION",
        "KIND",
        "KEY",
        "ID",
        "REVOKED",
        "ENROLLED",
    ]
    commander, observer = SigningKey.load("c.key"), SigningKey.load("o.key")
    assert lines[1].split()[:6] == ["cdr-1", "commander", "PL", "ed25519", commander.key_id, "no"]
    assert lines[2].split()[:6] == [
        "obs-1",
        "observer",
        "LT",
        "ed25519",
        observer.key_id,
        "revoked",
    ]
    assert lines[3] == f"2 keys, 1 active, in {home / 'operators.yaml'}"


def test_revoke_by_operator_or_key_id(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run("enroll", "--operator", "op-1", "--role", "operator", "--key-out", "a.key")
    run("enroll", "--operator", "op-1", "--role", "operator", "--key-out", "b.key")
    first = SigningKey.load("a.key")
    assert run("revoke", first.key_id) == 0
    registry = RegistryFile(home / "operators.yaml").current()
    assert [key.revoked for key in registry] == [True, False]
    assert run("revoke", "op-1") == 0
    assert "revoked 1 key of op-1" in capsys.readouterr().out
    assert run("revoke", "op-1") == 2
    assert "op-1: already revoked" in error_line(capsys)
    assert run("revoke", "nobody") == 2
    assert "no enrolled operator or key 'nobody'" in error_line(capsys)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--nation", "poland"], "nation must be a 2- or 3-letter code like PL"),
        (["--public-key", "missing.pub"], "missing.pub: No such file or directory"),
        (["--public-key", "other.key"], "other.key is the key of cdr-9 (commander), not op-1"),
        (["--public-key", "junk.txt"], "junk.txt: neither a key file nor a public key file"),
        (["--key-out", "exists.key"], "exists.key exists: refusing to overwrite a key"),
    ],
)
def test_bad_enrollments_are_one_line_and_exit_2(
    home: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    SigningKey.generate("cdr-9", OperatorRole.COMMANDER).save("other.key")
    Path("junk.txt").write_text("hello: world\n")
    Path("exists.key").write_text("")
    base = ["enroll", "--operator", "op-1", "--role", "operator"]
    if not any(a in argv for a in ("--public-key", "--key-out")):
        argv = [*argv, "--key-out", "new.key"]
    assert run(*base, *argv) == 2
    assert message in error_line(capsys)
    assert not (home / "operators.yaml").exists()
    assert not Path("new.key").exists()


def test_a_refused_enrollment_leaves_no_key_file(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("enroll", "--operator", "op-1", "--role", "operator", "--key-out", "a.key") == 0
    capsys.readouterr()
    assert run("enroll", "--operator", "op-1", "--role", "commander", "--key-out", "b.key") == 2
    assert "op-1 is enrolled as operator of PL" in error_line(capsys)
    assert not Path("b.key").exists() and not Path("b.key.pub").exists()
    assert run("enroll", "--operator", "op-1", "--role", "operator", "--public-key", "a.key") == 2
    assert f"key {SigningKey.load('a.key').key_id} is already enrolled" in error_line(capsys)


def test_a_broken_registry_is_one_line(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home.mkdir()
    (home / "operators.yaml").write_text("operators:\n- operator_id: x\n")
    assert run("list") == 2
    assert "operators.yaml" in error_line(capsys)
    assert run("revoke", "x") == 2
    error_line(capsys)


def test_the_installed_command_exits_2_with_one_line(home: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hotzone.cli", "operators", "revoke", "nobody"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "no enrolled operator or key" in result.stderr


def doc_commands() -> list[str]:
    blocks = re.findall(r"```console\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    return [line[2:] for block in blocks for line in block.splitlines() if line.startswith("$ ")]


def test_every_command_in_docs_operators_runs_as_written(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commands = doc_commands()
    assert len(commands) == 5
    for command in commands:
        argv = shlex.split(command)
        assert argv[0] == "hotzone"
        assert main(argv[1:]) == 0, (command, capsys.readouterr().err)
    # What the page says happened: the commander enrolled and able to sign; op-nowak's key
    # made on "the console", enrolled from its .pub, then revoked.
    registry = RegistryFile(home / "operators.yaml").current()
    commander, operator = SigningKey.load("cdr-kowalski.key"), SigningKey.load("op-nowak.key")
    for path in ("cdr-kowalski.key", "op-nowak.key"):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    enrolled = registry.get(commander.key_id)
    assert enrolled is not None and not enrolled.revoked
    assert signature_fault(commander.decide("a" * 64, Verdict.APPROVE, T), enrolled, None).ok
    revoked = registry.get(operator.key_id)
    assert revoked is not None
    refusal = signature_fault(operator.decide("a" * 64, Verdict.APPROVE, T), revoked, None)
    assert refusal.fault == f"revoked key {operator.key_id} of op-nowak"


def test_list_and_revoke_a_credential_enrolled_from_the_browser(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    authenticator = SoftwareAuthenticator("c2.hotzone.test")
    RegistryFile(home / "operators.yaml").enroll(
        authenticator.enrolled("cdr-1", OperatorRole.COMMANDER)
    )
    assert run("list") == 0
    row = capsys.readouterr().out.splitlines()[1].split()
    assert row[:6] == ["cdr-1", "commander", "PL", "webauthn", authenticator.credential_id, "no"]
    # A credential id is base64url and may begin with "-": after "--", as the help says.
    assert run("revoke", "--", authenticator.credential_id) == 0
    key = RegistryFile(home / "operators.yaml").current().get(authenticator.credential_id)
    assert key is not None and key.revoked
