"""docs/audit.md: the commands an auditor runs are run here, verbatim, on a real run.

The test builds what the page describes in a scratch directory: ``runs/suwalki`` (a c2
log of 1,000 events signed by the node key of ``$HOTZONE_HOME``), the ally's store
``ally-lt/hotzone.sqlite`` holding the checkpoints it received, ``runs/suwalki-cut`` (the
same run cut and re-closed by someone holding the node key) and ``auditor/``, whose
trusted keys hold only the node's public key. Then every ``$ hotzone …`` line of the
page's console block runs, and its output must be the lines the page shows under it.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from hotzone.c2.trust import node_key_for, trust_node
from hotzone.cli import main
from hotzone.commands.audit import read_source
from tests.c2.audit_chains import NATION, Chain, cut_and_reclose, make_run, witness_store

DOC = Path(__file__).resolve().parents[2] / "docs" / "audit.md"


def console_steps(text: str) -> list[tuple[list[str], int, list[str]]]:
    """(argv, exit code, expected output lines) of every ``$`` line of console blocks."""
    steps: list[tuple[list[str], int, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.DOTALL):
        for line in block.splitlines():
            if line.startswith("$ "):
                command, _, comment = line[2:].partition("  # ")
                code = int(comment.removeprefix("exits ")) if comment else 0
                steps.append((shlex.split(command), code, []))
            else:
                steps[-1][2].append(line)
    return steps


def test_the_page_cites_the_model_and_shows_its_commands() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert "RFC 9162" in text
    steps = console_steps(text)
    assert steps and all(argv[0] == "hotzone" for argv, _, _ in steps)
    assert any("--witness" in argv for argv, _, _ in steps)


def test_the_auditors_commands_run_verbatim(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    node_home = tmp_path / "node-home"
    monkeypatch.setenv("HOTZONE_HOME", str(node_home))
    monkeypatch.chdir(tmp_path)
    key = node_key_for(NATION)
    make_run(Path("runs/suwalki"), node_home)
    published = read_source(Path("runs/suwalki")).checkpoints
    witness_store(Path("ally-lt/hotzone.sqlite"), Chain([], published))
    shutil.copytree("runs/suwalki", "runs/suwalki-cut")
    cut_and_reclose(Path("runs/suwalki-cut/hotzone.sqlite"), key, 30)
    trust_node(key.public_raw, NATION, Path("auditor"))

    steps = console_steps(DOC.read_text(encoding="utf-8"))
    assert len(steps) == 6
    for argv, code, expected in steps:
        assert main(argv[1:]) == code, argv
        captured = capsys.readouterr()
        assert (captured.out + captured.err).splitlines() == expected, argv
