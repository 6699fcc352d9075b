"""Every subcommand, every bad input: one line on standard error, exit code 2, no traceback.

The matrix is generated from the parser itself (`hotzone.cli.build_parser`): each leaf
subcommand gets valid values for its required arguments, then one argument at a time is
given a bad value chosen by the argument's type (`hotzone.commands.common`): NaN,
infinities and out-of-range numbers; a missing file, a folder instead of a file, binary
garbage, an empty file. A new subcommand or argument is covered without editing this file,
and one with an unchecked type (a bare ``float``, ``int`` or ``Path``) fails
`test_every_argument_is_checked` until it gets a checking type or a reason below.

The commands run in-process (`hotzone.cli.main`); only a closed pipe, a full disk and a
read-only folder need a real process (``test_cli_os_errors.py``).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hotzone.cli import build_parser, main
from hotzone.commands.common import (
    InputFile,
    Number,
    OutputDirectory,
    OutputFile,
    RunSource,
    positive_float_or_max,
)
from hotzone.store import SQLiteStore
from tests.c2.factories import make_proposal

GARBAGE = bytes(range(256)) * 8 + b"\x00\xff\xfe"

#: Arguments whose type stays a bare Path or str, and why that is right.
UNCHECKED: dict[tuple[str, str], str] = {
    ("audit verify", "source"): "run folder, store or JSONL: audit reads and judges it itself",
    ("audit export", "source"): "as for verify",
    ("audit verify", "--witness"): "an ally's store: judged by audit like the source",
    ("audit verify", "--home"): "a configuration folder, which may not exist yet",
    ("decide list", "--home"): "a configuration folder, which may not exist yet",
    ("decide show", "--home"): "a configuration folder, which may not exist yet",
    ("decide approve", "--home"): "a configuration folder, which may not exist yet",
    ("decide reject", "--home"): "a configuration folder, which may not exist yet",
    ("abort", "--home"): "a configuration folder, which may not exist yet",
    ("resume", "--home"): "a configuration folder, which may not exist yet",
    ("operators enroll", "--home"): "a configuration folder, which may not exist yet",
    ("operators list", "--home"): "a configuration folder, which may not exist yet",
    ("operators revoke", "--home"): "a configuration folder, which may not exist yet",
    ("decide keygen", "--out"): "decide.py is c2's; the key writer refuses an existing file",
    ("decide keygen", "--registry"): "a registry to create or extend",
    ("operators enroll", "--public-key"): "a key file or its .pub: enroll reads and judges it",
    ("ingest", "--file"): "with --follow the file may appear later (tail -F)",
    ("ingest", "--unix-dgram"): "a socket to create",
    ("ingest", "--unix-stream"): "a socket to create",
    ("node", "--store"): "a SQLite store to create or continue",
    ("federation config", "--store"): "a JetStream store folder nats-server creates",
    ("runs list", "--out"): "a parent of run folders; one that is missing holds none",
    ("runs prune", "--out"): "a parent of run folders; one that is missing holds none",
}
#: Values for required arguments that are plain strings.
STRINGS = {
    "format": "sbs",
    "scenario": "suwalki-drones",
    "--zone": "54.1,23.2,100",
    "--nation": "PL",
    "--operator": "op-1",
    "id": "P1",
    "target": "op-1",
    "--to": "cot",
}


@dataclass(frozen=True)
class Leaf:
    name: str  # "decide show"
    parser: argparse.ArgumentParser


def _leaves(parser: argparse.ArgumentParser, prefix: str = "") -> Iterator[Leaf]:
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subparsers:
        yield Leaf(prefix.strip(), parser)
        return
    for name, child in subparsers[0].choices.items():
        yield from _leaves(child, f"{prefix} {name}")


LEAVES = {leaf.name: leaf for leaf in _leaves(build_parser())}


def _arguments(leaf: Leaf) -> list[argparse.Action]:
    return [
        action
        for action in leaf.parser._actions
        if not isinstance(action, argparse._HelpAction) and action.nargs != 0  # flags
    ]


def _key(action: argparse.Action) -> str:
    return action.option_strings[-1] if action.option_strings else action.dest


@dataclass(frozen=True)
class Fixtures:
    folder: Path
    text: Path  # a valid hotzone JSONL line: also a YAML document
    run: Path  # a run folder with a store holding one proposal

    def value(self, leaf: str, action: argparse.Action) -> str:
        kind = action.type
        if isinstance(kind, InputFile):
            return str(self.text)
        if isinstance(kind, RunSource):
            return str(self.run)
        if isinstance(kind, OutputFile):
            return str(self.folder / "out" / f"{action.dest}.out")
        if isinstance(kind, OutputDirectory):
            return str(self.folder / "out" / action.dest)
        if isinstance(kind, Number):
            low = kind.minimum if kind.minimum is not None else 0
            return str(int(low) + 1 if kind.integer else low + 1.0)
        if action.choices:
            return str(next(iter(action.choices)))
        if kind is Path or (kind is None and action.dest in ("source",)):
            return str(self.run)
        return STRINGS.get(_key(action), "x")


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> Fixtures:
    folder = tmp_path_factory.mktemp("bad-input")
    text = folder / "valid.jsonl"
    text.write_text('{"type": "c2_state", "time": "2025-03-14T02:00:00Z"}\n')
    run = folder / "run"
    (run / "inputs").mkdir(parents=True)
    with SQLiteStore(run / "hotzone.sqlite") as store:
        store.append("hz.PL.c2.proposal", make_proposal())
    return Fixtures(folder, text, run)


def _argv(leaf: Leaf, fixtures: Fixtures, tested: argparse.Action, value: str) -> list[str]:
    """The leaf's command with a valid value for every required argument, and ``value``
    for ``tested``."""
    options: list[str] = []
    positionals: list[str] = []
    for action in _arguments(leaf):
        given = value if action is tested else None
        if action.option_strings:
            if given is not None:  # "--duration=-5": a value may start with "-"
                options.append(f"{action.option_strings[-1]}={given}")
            elif action.required:
                options += [action.option_strings[-1], fixtures.value(leaf.name, action)]
        elif given is not None or action.nargs not in ("?", "*"):
            positionals.append(given or fixtures.value(leaf.name, action))
    # A mutually exclusive group that is required (operators enroll) needs one member.
    for group in leaf.parser._mutually_exclusive_groups:
        if group.required and tested not in group._group_actions:
            member = group._group_actions[-1]
            options += [member.option_strings[-1], fixtures.value(leaf.name, member)]
    return [*leaf.name.split(), *options, *positionals]


def _bad_values(action: argparse.Action, folder: Path) -> list[tuple[str, str]]:
    """(what, value) pairs that must each be refused."""
    kind = action.type
    if isinstance(kind, Number):
        values = [("NaN", "nan"), ("infinity", "inf"), ("-infinity", "-inf"), ("word", "ten")]
        if kind.minimum is not None:
            values.append(("below the minimum", str(kind.minimum - 1)))
            # (values starting with "-" go as --option=value, or argparse takes an option)
        if kind.maximum is not None:
            above = kind.maximum * 10 + 10
            values.append(("above the maximum", str(int(above) if kind.integer else above)))
        return values
    if kind is positive_float_or_max:
        return [("NaN", "nan"), ("infinity", "inf"), ("negative", "-5"), ("zero", "0")]
    missing = folder / "missing" / "nothing.dat"
    if isinstance(kind, InputFile):
        values = [("missing file", str(missing)), ("a folder", str(folder / "a-folder"))]
        if kind.content != "any":
            values.append(("binary garbage", str(folder / "garbage.bin")))
        if not kind.allow_empty:
            values.append(("empty file", str(folder / "empty.dat")))
        return values
    if isinstance(kind, RunSource):
        return [
            ("missing", str(missing)),
            ("binary garbage", str(folder / "garbage.bin")),
            ("empty file", str(folder / "empty.dat")),
            ("a folder that is no run", str(folder / "a-folder")),
        ]
    if isinstance(kind, OutputFile):
        return [("a folder", str(folder / "a-folder"))]
    if isinstance(kind, OutputDirectory):
        return [("a file", str(folder / "garbage.bin"))]
    return []


def _cases() -> list[tuple[str, str, str]]:
    cases = []
    for leaf in LEAVES.values():
        for action in _arguments(leaf):
            for what, _ in _bad_values(action, Path("/")):
                cases.append((leaf.name, _key(action), what))
    return cases


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse: usage errors
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.err


def _assert_one_clean_line(code: int, err: str, argv: list[str]) -> None:
    assert "Traceback" not in err, f"{argv}: {err}"
    assert code == 2, f"{argv}: exit {code}, stderr {err!r}"
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and ": error: " in lines[-1], f"{argv}: {err!r}"
    # Progress lines may come first, but the refusal is one line.
    assert len([line for line in lines if ": error: " in line]) == 1, err


def test_the_matrix_covers_every_subcommand() -> None:
    assert {name.split()[0] for name in LEAVES} >= {
        "demo", "sim", "track", "assess", "train", "eval", "decode", "ingest", "export",
        "space", "audit", "decide", "abort", "resume", "operators", "serve", "node",
        "federation", "federation-demo", "report", "runs",
    }  # fmt: skip
    assert len(_cases()) > 150


@pytest.mark.parametrize("leaf_name", sorted(LEAVES))
def test_every_argument_is_checked(leaf_name: str) -> None:
    for action in _arguments(LEAVES[leaf_name]):
        if action.type in (float, int):
            pytest.fail(f"{leaf_name} {_key(action)}: a bare {action.type.__name__}")
        if action.type is Path and (leaf_name, _key(action)) not in UNCHECKED:
            pytest.fail(f"{leaf_name} {_key(action)}: a bare Path (see UNCHECKED)")


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("leaf_name", "argument", "what"), _cases())
def test_bad_argument_is_one_line_and_exit_2(
    leaf_name: str,
    argument: str,
    what: str,
    fixtures: Fixtures,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = fixtures.folder
    (folder / "a-folder").mkdir(exist_ok=True)
    (folder / "garbage.bin").write_bytes(GARBAGE)
    (folder / "empty.dat").write_bytes(b"")
    leaf = LEAVES[leaf_name]
    action = next(a for a in _arguments(leaf) if _key(a) == argument)
    value = dict(_bad_values(action, folder))[what]
    argv = _argv(leaf, fixtures, action, value)
    code, err = _run(argv, capsys)
    _assert_one_clean_line(code, err, argv)
    # The line names what is wrong: the option, or the file.
    assert argument in err or value in err or action.dest in err, err


# The findings of issue 16, one by one (each printed a traceback or exited 0 before).
GARBAGE_FILE, RUN = "{folder}/garbage.bin", "{run}"
ISSUE_CASES = {
    "demo --duration -5": ["demo", "--duration", "-5"],
    "demo --duration nan": ["demo", "--duration", "nan"],
    "demo --seed -1": ["demo", "--seed", "-1"],
    "demo --speed nan": ["demo", "--speed", "nan"],
    "sim --duration 1e300": ["sim", "suwalki-drones", "--out", "{folder}/s", "--duration", "1e300"],
    "sim --out /proc/nope": ["sim", "suwalki-drones", "--out", "/proc/nope", "--duration", "1"],
    "serve --users binary": ["serve", "--users", GARBAGE_FILE],
    "decide list binary run": ["decide", "list", GARBAGE_FILE],
    "decide approve binary key": ["decide", "approve", RUN, "P1", "--key", GARBAGE_FILE],
    "abort binary key": ["abort", RUN, "--key", GARBAGE_FILE],
    "node --sectors unknown": ["node", "--nation", "PL", "--sectors", "nowhere"],
    "federation config --nations empty": ["federation", "config", "--nations", ""],
    "assess garbage": ["assess", "{folder}/garbage.jsonl", "--out", "{folder}/assessed.jsonl"],
    "decode garbage": ["decode", "stix", GARBAGE_FILE],
    # Not an issue 16 finding: a window stepped before its start would go back in time.
    "ingest --hold not shorter than --window": [
        *("ingest", "asterix", "--udp", "127.0.0.1:9", "--track"),
        *("--window", "1", "--hold", "1"),
    ],
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", sorted(ISSUE_CASES))
def test_issue_16_findings(
    case: str, fixtures: Fixtures, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = fixtures.folder
    (folder / "garbage.bin").write_bytes(GARBAGE)
    (folder / "garbage.jsonl").write_text('this is not JSON\n{"neither": 1}\n')
    argv = [part.format(folder=folder, run=fixtures.run) for part in ISSUE_CASES[case]]
    code, err = _run(argv, capsys)
    _assert_one_clean_line(code, err, argv)


def test_numbers_in_range_still_pass() -> None:
    duration = LEAVES["sim"].parser
    args = duration.parse_args(["suwalki-drones", "--out", "x", "--duration", "60", "--seed", "0"])
    assert args.duration == 60.0 and args.seed == 0
