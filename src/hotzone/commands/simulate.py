"""``hotzone sim SCENARIO --out DIR``: simulate a scenario into detections and truth."""

from __future__ import annotations

import argparse

from hotzone.commands.common import DURATION_S, SEED, OutputDirectory, SubParsers

#: What the detections and truth of a shipped scenario need on disk, with room to spare.
OUTPUT_BYTES = 100_000_000


def add_parser(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "sim",
        help="simulate a scenario into detections.jsonl and truth.jsonl",
        description="Simulate SCENARIO (a YAML file, or the name of a shipped scenario such "
        "as suwalki-drones) and write all sensor output, time-ordered, to DIR/detections.jsonl "
        "and the true states to DIR/truth.jsonl. Same seed, same bytes.",
    )
    parser.add_argument("scenario", help="scenario YAML file or shipped scenario name")
    parser.add_argument(
        "--out", type=OutputDirectory(OUTPUT_BYTES), required=True, help="output folder"
    )
    parser.add_argument("--seed", type=SEED, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--duration",
        type=DURATION_S,
        default=None,
        help="seconds to simulate (default: scenario's)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hotzone.commands.common import CommandError, prepare_output_directory
    from hotzone.sim.scenario import ScenarioError, load_scenario
    from hotzone.sim.simulator import SimulationError, simulate_to_directory

    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as error:
        raise CommandError(str(error)) from None
    prepare_output_directory(args.out, OUTPUT_BYTES)
    try:
        summary = simulate_to_directory(
            scenario, args.out, seed=args.seed, duration_s=args.duration, progress=not args.quiet
        )
    except SimulationError as error:
        raise CommandError(str(error)) from None
    print(summary)
    return 0
