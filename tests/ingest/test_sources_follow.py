"""Following a growing file (tail -F): appends, rotation and truncation, each line once."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from hotzone.runtime.sources import follow_file_chunks

POLL_S = 0.01
WAIT_S = 3.0  # an upper bound for something that normally takes a few polls


class Follower:
    """Runs `follow_file_chunks` in a task and keeps everything it yielded."""

    def __init__(self, path: Path, from_start: bool = False) -> None:
        self.received = bytearray()
        self.chunks = 0
        self._iterator = follow_file_chunks(path, poll_s=POLL_S, from_start=from_start)
        self._task = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        async for chunk in self._iterator:
            self.received += chunk
            self.chunks += 1

    def lines(self) -> list[bytes]:
        return bytes(self.received).splitlines()

    async def until(self, condition: Callable[[], bool]) -> None:
        """Wait (bounded) for a condition on what has arrived."""
        for _ in range(int(WAIT_S / POLL_S)):
            if condition():
                return
            assert not self._task.done(), "the follower stopped on its own"
            await asyncio.sleep(POLL_S)
        raise AssertionError(f"condition not met; received {bytes(self.received)!r}")

    async def settle(self) -> None:
        """Give the follower several polls to pick up anything (wrongly) left to yield."""
        await asyncio.sleep(POLL_S * 10)

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@contextlib.asynccontextmanager
async def following(path: Path, from_start: bool = False) -> AsyncIterator[Follower]:
    follower = Follower(path, from_start)
    try:
        yield follower
    finally:
        await follower.stop()


def _append(path: Path, data: bytes) -> None:
    with open(path, "ab") as stream:
        stream.write(data)


def _line(index: int) -> bytes:
    return b'{"n": %d, "event_type": "alert"}\n' % index


def test_appended_lines_split_across_writes_arrive_once_and_old_content_is_skipped(
    tmp_path: Path,
) -> None:
    path = tmp_path / "eve.json"
    path.write_bytes(_line(0))  # already there before following: not new

    async def scenario() -> Follower:
        async with following(path) as follower:
            await follower.settle()  # the follower has opened the file at its end
            for index in range(1, 6):
                line = _line(index)
                _append(path, line[:7])
                await follower.settle()
                _append(path, line[7:])
            await follower.until(lambda: len(follower.lines()) >= 5)
            await follower.settle()
            return follower

    follower = asyncio.run(scenario())
    assert follower.lines() == [_line(i).rstrip(b"\n") for i in range(1, 6)]
    assert follower.chunks > 5  # the halves did arrive in separate reads


def test_from_start_reads_what_the_file_already_holds(tmp_path: Path) -> None:
    path = tmp_path / "eve.json"
    path.write_bytes(_line(0) + _line(1))

    async def scenario() -> list[bytes]:
        async with following(path, from_start=True) as follower:
            await follower.until(lambda: len(follower.lines()) >= 2)
            _append(path, _line(2))
            await follower.until(lambda: len(follower.lines()) >= 3)
            await follower.settle()
            return follower.lines()

    assert asyncio.run(scenario()) == [_line(i).rstrip(b"\n") for i in range(3)]


def test_a_file_that_appears_later_is_read_from_its_start(tmp_path: Path) -> None:
    path = tmp_path / "later.json"

    async def scenario() -> list[bytes]:
        async with following(path) as follower:
            await follower.settle()
            path.write_bytes(_line(1) + _line(2))
            await follower.until(lambda: len(follower.lines()) >= 2)
            await follower.settle()
            return follower.lines()

    assert asyncio.run(scenario()) == [_line(1).rstrip(b"\n"), _line(2).rstrip(b"\n")]


def test_rotation_by_rename_reads_the_old_file_to_its_end_then_the_new_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "eve.json"
    path.write_bytes(b"")

    async def scenario() -> list[bytes]:
        async with following(path) as follower:
            await follower.settle()
            with open(path, "ab") as writer:  # the writer keeps its handle, like Suricata
                writer.write(_line(1) + _line(2))
                writer.flush()
                await follower.until(lambda: len(follower.lines()) >= 2)
                os.rename(path, tmp_path / "eve.json.1")
                # Written after the rename but before the writer reopens (its SIGHUP).
                writer.write(_line(3))
            await follower.settle()
            path.write_bytes(_line(4))  # the new file, with a new inode
            _append(path, _line(5))
            await follower.until(lambda: len(follower.lines()) >= 5)
            await follower.settle()
            return follower.lines()

    assert asyncio.run(scenario()) == [_line(i).rstrip(b"\n") for i in range(1, 6)]


def test_truncation_in_place_restarts_from_byte_zero(tmp_path: Path) -> None:
    path = tmp_path / "eve.json"
    path.write_bytes(b"")
    short = b'{"n": 9}\n'  # shorter than what was there, so the shrink shows

    async def scenario() -> list[bytes]:
        async with following(path) as follower:
            await follower.settle()
            _append(path, _line(1) + _line(2))
            await follower.until(lambda: len(follower.lines()) >= 2)
            inode = os.stat(path).st_ino
            with open(path, "r+b") as stream:  # copytruncate: same file, emptied
                stream.truncate(0)
            assert os.stat(path).st_ino == inode
            _append(path, short)
            await follower.until(lambda: len(follower.lines()) >= 3)
            _append(path, _line(3))
            await follower.until(lambda: len(follower.lines()) >= 4)
            await follower.settle()
            return follower.lines()

    lines = asyncio.run(scenario())
    assert lines == [
        _line(1).rstrip(b"\n"),
        _line(2).rstrip(b"\n"),
        short.rstrip(b"\n"),
        _line(3).rstrip(b"\n"),
    ]


def test_cancelling_stops_the_follower_and_closes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "eve.json"
    path.write_bytes(_line(1))

    async def scenario() -> tuple[bool, int]:
        follower = Follower(path, from_start=True)
        await follower.until(lambda: len(follower.lines()) == 1)
        open_before = _open_descriptors_to(path)
        await follower.stop()
        return follower._task.cancelled(), open_before - _open_descriptors_to(path)

    cancelled, closed = asyncio.run(scenario())
    assert cancelled
    assert closed == 1


def _open_descriptors_to(path: Path) -> int:
    """How many of this process's file descriptors point at ``path`` (Linux /proc)."""
    count = 0
    for entry in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            if os.readlink(entry) == str(path):
                count += 1
    return count
