"""``hotzone demo`` runs made for tests that only read a run folder."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def run_home(run_folder: Path) -> Path:
    """The nation configuration (``HOTZONE_HOME``: the c2 node key the run's audit chain is
    signed with) a shared run of `tests.conftest` was made with."""
    return run_folder.parent / "hotzone-home"


def suwalki_run(parent: Path, duration_s: float, seed: int = 3) -> Path:
    """The run folder of ``hotzone demo`` of suwalki-drones (not live, with its report),
    made under ``parent``.

    Made in a thread of its own: a module that also drives Playwright's sync API holds an
    event loop in the main thread, and the demo runs one of its own."""
    from rich.console import Console

    from hotzone.runtime.demo import run_demo

    quiet = Console(file=io.StringIO())
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(
            run_demo,
            "suwalki-drones",
            parent,
            seed=seed,
            duration_s=duration_s,
            live=False,
            console=quiet,
        ).result()
