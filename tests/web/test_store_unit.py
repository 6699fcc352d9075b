"""The page's store (web/static/store.js) under node's own test runner: `make test` runs the
JavaScript unit tests of tests/web/unit/ through this test, which fails if any of them does."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]


def test_store_unit_tests_pass_under_node() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (the Makefile installs it with npm)")
    # The command docs/cop.md gives, verbatim, from the repository's root.
    result = subprocess.run(
        [node, "--test", "tests/web/unit/"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    print(result.stdout[-4000:], result.stderr[-2000:])
    assert result.returncode == 0, f"node --test failed:\n{result.stdout}\n{result.stderr}"
    passed = re.search(r"^# pass (\d+)$", result.stdout, re.MULTILINE)
    failed = re.search(r"^# fail (\d+)$", result.stdout, re.MULTILINE)
    assert passed and int(passed.group(1)) >= 10, result.stdout
    assert failed and int(failed.group(1)) == 0, result.stdout
