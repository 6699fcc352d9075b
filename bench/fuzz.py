"""Fuzz every registered decoder offline: many more inputs than ``make test`` feeds.

Not run by ``make test`` (which feeds 10,000 inputs per format through the same harness,
``tests/ingest/fuzzing.py``). Prints, per format: inputs, inputs per second, megabytes per
second, messages decoded and refusals, the slowest single input, the largest input, and
every failure (an exception out of ``feed``/``flush``, a refusal without a reason, a
message that does not survive JSON) with the input that caused it. Exit status 1 if any.

    .venv/bin/python bench/fuzz.py --inputs 1000000              # every format
    .venv/bin/python bench/fuzz.py --inputs 100000 --formats stix cot --seed 7
    .venv/bin/python bench/fuzz.py --inputs 1000000 --jobs 4 --json fuzz.json
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.ingest.fuzzing import FuzzStats, fuzz, fuzz_targets

from hotzone.ingest.registry import known_formats


def _run(format_name: str, inputs: int, seed: int) -> tuple[FuzzStats, int]:
    with tempfile.TemporaryDirectory() as workdir:
        target = fuzz_targets(Path(workdir))[format_name]
        fuzz(target, 200, seed + 1)  # warm-up: lazy imports are not the first input's cost
        stats = fuzz(target, inputs, seed)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return stats, peak_kib


def _row(stats: FuzzStats, peak_kib: int) -> str:
    rate = stats.inputs / stats.seconds if stats.seconds else 0.0
    megabytes = stats.input_bytes / 1e6 / stats.seconds if stats.seconds else 0.0
    return (
        f"| {stats.format} | {stats.inputs:,} | {rate:,.0f} | {megabytes:.1f} | "
        f"{stats.messages:,} | {stats.rejections:,} | {len(stats.failures)} | "
        f"{stats.slowest_input_s * 1e3:.1f} | {stats.largest_input:,} | {peak_kib // 1024} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=100_000, help="inputs per format")
    parser.add_argument("--formats", nargs="*", default=known_formats(), choices=known_formats())
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1, help="formats fuzzed in parallel")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    if args.inputs < 1 or args.jobs < 1:
        parser.error("--inputs and --jobs must be at least 1")

    print(f"fuzzing {len(args.formats)} formats, {args.inputs:,} inputs each, seed {args.seed}")
    print(
        "| format | inputs | inputs/s | MB/s | messages | refusals | failures | "
        "slowest input (CPU ms) | largest input (bytes) | peak RSS (MiB) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    results: list[tuple[FuzzStats, int]] = []
    # One process per format, so that its peak RSS is its own.
    with ProcessPoolExecutor(max_workers=args.jobs, max_tasks_per_child=1) as pool:
        futures = [pool.submit(_run, name, args.inputs, args.seed) for name in args.formats]
        for future in futures:
            stats, peak_kib = future.result()
            results.append((stats, peak_kib))
            print(_row(stats, peak_kib), flush=True)
    print("\nslowest input of each format (length, first bytes):")
    for stats, _ in results:
        print(f"  {stats.format}: {len(stats.slowest_input):,} bytes {stats.slowest_input[:60]!r}")
    failures = [failure for stats, _ in results for failure in stats.failures]
    for failure in failures:
        print(f"\nFAILURE {failure.describe()}", file=sys.stderr)
    if args.json is not None:
        rows = [
            {
                **asdict(stats),
                "slowest_input": stats.slowest_input[:200].hex(),
                "peak_rss_kib": peak,
                "failures": len(stats.failures),
            }
            for stats, peak in results
        ]
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
