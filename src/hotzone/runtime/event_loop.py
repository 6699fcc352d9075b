"""The event loop a long-running hotzone process runs on: uvloop where it is installed
(but for the processes that serve SAPIENT over TLS, see `hotzone.commands.ingest`),
asyncio's own otherwise; and what the process made before it (imports) kept out of the
garbage collector's way.

A node's sharing path spends much of its processor time in the NATS client, the event loop
and the kernel's socket work (docs/federation.md, "Throughput"); uvloop (libuv, MagicStack)
runs the same coroutines with a cheaper loop and transports: 5-7 % less processor time in
hotzone's processes there. ``HOTZONE_UVLOOP=0`` runs asyncio's loop instead: the code is
the same on both, so the switch changes speed only.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

__all__ = ["UVLOOP_ENV", "LoopKind", "chosen_loop", "run", "running_loop_kind"]

UVLOOP_ENV = "HOTZONE_UVLOOP"
"""``0`` (or ``false``, ``no``, ``off``): asyncio's own loop even where uvloop is installed."""
LoopKind = Literal["uvloop", "asyncio"]
_Result = TypeVar("_Result")
_OFF = frozenset({"0", "false", "no", "off"})
_log = logging.getLogger(__name__)


def uvloop_wanted(use_uvloop: bool | None = None) -> bool:
    """``use_uvloop`` when given (a caller's choice), else what `UVLOOP_ENV` says (on by
    default)."""
    if use_uvloop is not None:
        return use_uvloop
    return os.environ.get(UVLOOP_ENV, "1").strip().lower() not in _OFF


def chosen_loop(
    use_uvloop: bool | None = None,
) -> tuple[LoopKind, Callable[[], asyncio.AbstractEventLoop] | None, str]:
    """(the loop's kind, a factory for it (None: asyncio's default), why it was chosen)."""
    if use_uvloop is False:
        return "asyncio", None, "this process runs asyncio's own loop"
    if not uvloop_wanted(use_uvloop):
        return "asyncio", None, f"uvloop turned off by {UVLOOP_ENV}"
    try:
        import uvloop  # noqa: PLC0415 (optional: a process without it runs asyncio's loop)
    except ImportError as error:
        return "asyncio", None, f"uvloop is not installed ({error})"
    return "uvloop", uvloop.new_event_loop, f"uvloop {getattr(uvloop, '__version__', '')}".strip()


def run(
    main: Coroutine[Any, Any, _Result],
    use_uvloop: bool | None = None,
    on_start: Callable[[LoopKind], None] | None = None,
) -> _Result:
    """``asyncio.run(main)`` on the chosen loop (`chosen_loop`), saying which in the log (a
    warning when uvloop was wanted and is missing). ``on_start`` is told, from inside the
    loop, which loop runs (a process's metrics report it)."""
    kind, factory, why = chosen_loop(use_uvloop)
    if kind == "asyncio" and uvloop_wanted(use_uvloop):
        _log.warning("event loop: asyncio's own (%s)", why)
    else:
        _log.info("event loop: %s (%s)", kind, why)

    # What was made before the loop starts (modules, classes, constants: some 120,000
    # objects in a node) lives as long as the process: frozen, the collector stops
    # scanning it. Without that a full collection took 180-200 ms under sharing load
    # (bench/federation.py, HOTZONE_BENCH_DEBUG), a pause every message in flight waits.
    # Given back to the collector at the end (a command run inside another program).
    gc.freeze()

    async def reported() -> _Result:
        if on_start is not None:
            on_start(running_loop_kind())
        return await main

    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(reported())
    finally:
        gc.unfreeze()


def running_loop_kind() -> LoopKind:
    """Which loop the calling coroutine runs on (a process's status and metrics say it)."""
    loop = asyncio.get_running_loop()
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
