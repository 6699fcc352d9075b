"""The page's modules that say `// @ts-check` are type-checked against their JSDoc types by
TypeScript's checker (npm `typescript`, pinned in package-lock.json; no build step: nothing
is emitted). `make test` runs the command docs/cop.md gives through this test."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
STATIC = REPOSITORY / "src" / "hotzone" / "web" / "static"
COMMAND = "node_modules/.bin/tsc -p tests/web/tsconfig.json"
# The modules the page's state, network and drawing live in: each must be checked.
CHECKED_MODULES = {"api.js", "stream.js", "store.js", "overlay.js", "panels.js", "timeline.js"}


def _checked_files() -> set[str]:
    return {
        path.name
        for path in STATIC.glob("*.js")
        if path.read_text().lstrip().startswith("// @ts-check")
    }


def test_the_command_is_the_one_docs_give() -> None:
    assert f"\n{COMMAND}\n" in (REPOSITORY / "docs" / "cop.md").read_text()


def test_the_page_modules_type_check() -> None:
    assert _checked_files() >= CHECKED_MODULES, CHECKED_MODULES - _checked_files()
    if not (REPOSITORY / "node_modules" / ".bin" / "tsc").is_file():
        pytest.fail("node_modules/.bin/tsc is missing: `npm ci` installs it (make test does)")
    result = subprocess.run(
        shlex.split(COMMAND),
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    print(result.stdout[-6000:], result.stderr[-2000:])
    assert result.returncode == 0, f"tsc found errors:\n{result.stdout}\n{result.stderr}"


def test_the_checker_finds_a_type_error(tmp_path: Path) -> None:
    """The same configuration over a copy of the modules with one wrong JSDoc cast fails:
    the check above could fail."""
    copy = tmp_path / "static"
    copy.mkdir()
    for path in STATIC.glob("*.js"):
        (copy / path.name).write_text(path.read_text())
    with (copy / "store.js").open("a") as store:
        store.write('\nexport const wrong = /** @type {number} */ ("text");\n')
    config = tmp_path / "tsconfig.json"
    config.write_text(
        (REPOSITORY / "tests" / "web" / "tsconfig.json")
        .read_text()
        .replace("../../src/hotzone/web/static/*.js", f"{copy}/*.js")
    )
    result = subprocess.run(
        [str(REPOSITORY / "node_modules" / ".bin" / "tsc"), "-p", str(config)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode != 0 and "store.js" in result.stdout, result.stdout
