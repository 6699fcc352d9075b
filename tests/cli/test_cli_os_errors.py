"""What only a real process shows: a reader that goes away (``| head``), a full disk and a
read-only folder each end in one line, never a traceback.

The full and read-only file systems are real: a small tmpfs mounted in a user and mount
namespace of our own (``unshare -rm``), so no privilege is needed and nothing outside the
test sees them. Where the kernel refuses such namespaces, those tests are skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hotzone.store import SQLiteStore
from tests.c2.factories import make_proposal

GOLDEN_SBS = Path(__file__).parents[1] / "golden" / "adsb" / "sbs1_msgs.txt"
HOTZONE = [sys.executable, "-m", "hotzone.cli"]


def _no_traceback(stderr: str) -> None:
    for marker in ("Traceback", "Exception ignored", "BrokenPipeError"):
        assert marker not in stderr, stderr


def test_a_reader_that_goes_away_ends_quietly(tmp_path: Path) -> None:
    # `hotzone decide show RUN P1 | head -0`: the pipe is closed before anything is read.
    store = tmp_path / "hotzone.sqlite"
    with SQLiteStore(store) as opened:
        opened.append("hz.PL.c2.proposal", make_proposal())
    process = subprocess.Popen(
        [*HOTZONE, "decide", "show", str(store), "P1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.close()
    _, stderr = process.communicate(timeout=60)
    _no_traceback(stderr)
    assert process.returncode == 128 + 13  # as a shell reports a process ended by SIGPIPE


def _in_own_mount(tmp_path: Path, mount_options: str, command: str) -> subprocess.Popen[str]:
    """Run ``command`` (a shell line; $MNT is a fresh tmpfs) in namespaces of our own."""
    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1)")
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    script = f'mount -t tmpfs -o {mount_options} tmpfs "$MNT" || exit 77; {command}'
    return subprocess.Popen(
        ["unshare", "-rm", "sh", "-c", script],
        env={**os.environ, "MNT": str(mountpoint), "PYTHON": sys.executable},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    _, stderr = process.communicate(timeout=120)
    if (
        process.returncode == 77
        or "unshare failed" in stderr
        or "Operation not permitted" in (stderr.splitlines()[0] if stderr else "")
    ):
        pytest.skip(f"no user and mount namespaces here: {stderr.strip()[:200]}")
    return process.returncode, stderr


def _one_line(code: int, stderr: str, *expected: str) -> None:
    _no_traceback(stderr)
    assert code == 2, stderr
    (line,) = stderr.strip().splitlines()[-1:]
    assert ": error: " in line
    assert any(text in line for text in expected), line


def test_a_full_disk_is_one_line(tmp_path: Path) -> None:
    # Decoded JSONL (~45 KB) to standard output on a 16 KiB file system: ENOSPC.
    command = f'"$PYTHON" -m hotzone.cli decode sbs {GOLDEN_SBS} > "$MNT/out.jsonl"'
    code, stderr = _finish(_in_own_mount(tmp_path, "size=16k", command))
    _one_line(code, stderr, "No space left on device")


def test_too_little_free_space_is_refused_before_starting(tmp_path: Path) -> None:
    command = '"$PYTHON" -m hotzone.cli sim suwalki-drones --out "$MNT/sim" --duration 60'
    code, stderr = _finish(_in_own_mount(tmp_path, "size=1m", command))
    _one_line(code, stderr, "MB free")


@pytest.mark.parametrize(
    "command",
    [
        '"$PYTHON" -m hotzone.cli sim suwalki-drones --out "$MNT/sim" --duration 60',
        f'"$PYTHON" -m hotzone.cli decode sbs {GOLDEN_SBS} --dead-letters "$MNT/dead.jsonl"',
        '"$PYTHON" -m hotzone.cli demo --quiet --duration 10 --out "$MNT/runs"',
    ],
    ids=["sim --out", "decode --dead-letters", "demo --out"],
)
def test_a_read_only_folder_is_one_line(tmp_path: Path, command: str) -> None:
    code, stderr = _finish(_in_own_mount(tmp_path, "ro,size=1m", command))
    _one_line(code, stderr, "not writable", "Read-only file system")
