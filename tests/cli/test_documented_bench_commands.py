"""Every bench command line the docs show is one its script accepts.

The benches run for minutes on real servers (and Stone Soup for longer), so `make test`
does not run them; what it can check cheaply is that a documented command has not drifted
from its script: each line that names ``bench/NAME.py`` in README.md, bench/README.md or
docs/ (fenced blocks and inline code) is handed, as written, to that script's own
`argparse` parser, which is stopped right after it accepted the line (nothing measured).
A renamed or removed option, a misspelt value of a typed option or a removed script fails
here. Synopses with placeholders (``[--rates ...]``, ``...``) are not command lines and
are left out, as are scripts outside this repository (``../shared/bench``).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
DOCUMENTS = [
    REPOSITORY / "README.md",
    REPOSITORY / "bench" / "README.md",
    *sorted((REPOSITORY / "docs").rglob("*.md")),
]
SCRIPT = re.compile(r"(?<![\w/.])bench/(\w+)\.py$")
FENCED = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"`([^`\n]*(?:\n[^`\n]*)?)`")
#: Runs the script as ``__main__`` with `argparse` stopped after parsing: the parsed
#: options are printed after a marker and the process exits 0; a refused line exits 2.
#: A script that starts itself again (``os.execve``, to set thread counts before numpy
#: loads) goes on in this process instead, so the stop still holds.
PARSE_ONLY = """
import argparse, os, runpy, sys
os.execve = lambda *args, **kwargs: None
accepted = argparse.ArgumentParser.parse_args
def parse_and_stop(self, args=None, namespace=None):
    options = accepted(self, args, namespace)
    print("PARSED", sorted(vars(options)))
    raise SystemExit(0)
argparse.ArgumentParser.parse_args = parse_and_stop
script, *arguments = sys.argv[1:]
sys.argv = [script, *arguments]
sys.path.insert(0, str(__import__("pathlib").Path(script).parent))
runpy.run_path(script, run_name="__main__")
print("NEVER PARSED")
"""


def _command_lines(text: str) -> list[str]:
    lines = [line for block in FENCED.findall(text) for line in block.splitlines()]
    outside = FENCED.sub("", text)
    lines += [" ".join(span.split()) for span in INLINE.findall(outside)]
    return lines


def _bench_command(line: str) -> tuple[str, list[str]] | None:
    """The script and arguments of a documented line, or None where it is no command."""
    line = line.split(" #", 1)[0].strip()
    if "bench/" not in line or "..." in line or "[" in line or "<" in line:
        return None
    try:
        words = shlex.split(line)
    except ValueError:
        return None
    for index, word in enumerate(words):
        matched = SCRIPT.search(word)
        if matched and "shared/" not in word:
            return matched.group(1), words[index + 1 :]
    return None


def documented_commands() -> list[tuple[str, str, tuple[str, ...]]]:
    found: dict[tuple[str, tuple[str, ...]], str] = {}
    for document in DOCUMENTS:
        for line in _command_lines(document.read_text(encoding="utf-8")):
            command = _bench_command(line)
            if command is not None:
                script, arguments = command
                found.setdefault((script, tuple(arguments)), str(document.relative_to(REPOSITORY)))
    return [(where, script, arguments) for (script, arguments), where in sorted(found.items())]


COMMANDS = documented_commands()


def test_the_docs_show_bench_commands_with_options() -> None:
    """The extraction finds the documented lines (an empty list would pass vacuously)."""
    with_options = [c for c in COMMANDS if c[2]]
    assert len(with_options) >= 10, COMMANDS
    scripts = {script for _, script, _ in COMMANDS}
    assert {"tracking", "pipeline", "federation", "ingest_udp"} <= scripts, scripts


@pytest.mark.parametrize(
    ("document", "script", "arguments"),
    COMMANDS,
    ids=[f"{script}:{' '.join(arguments) or '(no options)'}" for _, script, arguments in COMMANDS],
)
def test_a_documented_bench_command_is_accepted_by_its_script(
    document: str, script: str, arguments: tuple[str, ...]
) -> None:
    path = REPOSITORY / "bench" / f"{script}.py"
    assert path.is_file(), f"{document} shows bench/{script}.py, which does not exist"
    if not arguments and "argparse" not in path.read_text(encoding="utf-8"):
        return  # a script without options: running it would run the bench
    result = subprocess.run(
        [sys.executable, "-c", PARSE_ONLY, str(path), *arguments],
        cwd=REPOSITORY,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and "PARSED" in result.stdout, (
        f"{document}: `bench/{script}.py {' '.join(arguments)}` is refused by its script:\n"
        f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    )


def test_the_pipeline_bench_refuses_sizes_that_everything_would_replace() -> None:
    """`bench/pipeline.py --everything` sizes its capture itself; a --targets given with it
    used to be replaced without a word."""
    script = str(REPOSITORY / "bench" / "pipeline.py")
    result = subprocess.run(
        [sys.executable, script, "--everything", "--targets", "10"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "--everything sizes its capture itself" in result.stderr
    assert "leave out --targets/--rotations" in result.stderr


def test_everything_s_live_part_gives_the_live_bench_every_option_it_reads() -> None:
    """`bench/pipeline.py --everything` runs bench/ingest_udp.py's live tracking with a
    command line of its own, parsed by that script's parser: every option the script reads
    is there (a hand-made list of options once missed two that came later, and
    ``--everything`` stopped in its live part with an AttributeError)."""
    from bench import ingest_udp, pipeline

    for sizes in (pipeline.QUICK, pipeline.FULL):
        options = ingest_udp.argument_parser().parse_args(pipeline.live_udp_arguments(sizes))
        read = set(re.findall(r"\bargs\.(\w+)", Path(ingest_udp.__file__).read_text()))
        assert read and read <= set(vars(options)), read - set(vars(options))
        assert options.track and options.on_arrival and not options.replay
        assert (options.rates, options.seconds) == (sizes.udp_rates, sizes.udp_seconds)
