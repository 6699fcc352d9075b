"""What starting ``hotzone ingest ... --track`` made is kept out of the garbage collector
where the process keeps what it made before its loop out (`event_loop.run`).

Imported on first use, the decoders' modules (some 39,000 objects, a STIX pattern grammar
among them) were scanned again by every full collection of the live tracker's process:
10-15 ms about once a second at 8,000 reports/s (docs/ingest/limits.md).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from bench.ingest_udp import free_udp_port, sensors_yaml

from hotzone.ingest.base import DecoderOptions
from hotzone.runtime import event_loop
from hotzone.runtime.ingest_service import IngestSettings, IngestTransport, run_ingest
from hotzone.runtime.windows import TrackingSettings


def _ingest_noting_frozen(
    sensors: Path,
) -> tuple[Callable[[], Coroutine[Any, Any, None]], list[int]]:
    """A short live ingest, and where it notes how many objects were frozen when it
    started and when it said it received datagrams (after it had started)."""
    settings = IngestSettings(
        format="asterix",
        transport=IngestTransport(udp=f"127.0.0.1:{free_udp_port()}"),
        decoder_options=DecoderOptions(sensors_file=sensors),
        duration_s=0.3,
        tracking=TrackingSettings(window_s=0.05, arrivals=True),
    )
    frozen: list[int] = []

    async def main() -> None:
        frozen.append(gc.get_freeze_count())
        await run_ingest(settings, say=lambda _: frozen.append(gc.get_freeze_count()))

    return main, frozen


def test_the_started_ingest_joins_what_the_loop_froze(tmp_path: Path) -> None:
    sensors = tmp_path / "sites.yaml"
    sensors.write_text(sensors_yaml(2))
    main, frozen = _ingest_noting_frozen(sensors)
    event_loop.run(main(), use_uvloop=False)
    at_start, receiving = frozen
    assert at_start > 0  # the loop froze what was made before it
    # Starting made objects (the services, the bus, the receiver): frozen with them.
    assert receiving > at_start
    assert gc.get_freeze_count() == 0  # all given back when the loop ended


def test_a_process_that_freezes_nothing_is_left_alone(tmp_path: Path) -> None:
    sensors = tmp_path / "sites.yaml"
    sensors.write_text(sensors_yaml(2))
    gc.unfreeze()
    main, frozen = _ingest_noting_frozen(sensors)
    asyncio.run(main())
    assert frozen == [0, 0]
