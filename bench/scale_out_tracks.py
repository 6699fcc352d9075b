"""The scale-out bench's tracks as a file for bench/assess.py (not in make test).

    .venv/bin/python bench/scale_out_tracks.py OUT [--targets-per-sector N] [--scans N]

Steps one tracking stage over the backlog of bench/federation.py's scale-out (its
bench scenario, 8 sectors of straight-flying targets, one scan per second) and writes
the confirmed Track messages it emits, as JSONL.gz: the load the owner's assessment
carries in ``federation.py --full-stages`` (one tracker over all sectors here, so the
track ids differ from the bench's per-sector trackers; the states are those of one
tracker for the whole scenario).
"""

from __future__ import annotations

import argparse
import gzip
from datetime import UTC, datetime
from pathlib import Path

from federation import SECTORS, bench_scenario, synthetic_backlog
from hotzone.runtime.stages import tracking_stage
from hotzone.types import Track, to_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="JSONL.gz file to write")
    parser.add_argument("--targets-per-sector", type=int, default=16)
    parser.add_argument("--scans", type=int, default=240)
    args = parser.parse_args()
    backlog = synthetic_backlog(SECTORS, args.targets_per_sector, args.scans)
    stage = tracking_stage(bench_scenario())
    written = 0
    with gzip.open(args.out, "wb") as out:
        for posix_time, window in backlog:
            for message in stage.step(datetime.fromtimestamp(posix_time, UTC), window):
                if isinstance(message, Track):
                    out.write(to_json(message) + b"\n")
                    written += 1
    print(f"{written} track messages in {args.out}")


if __name__ == "__main__":
    main()
