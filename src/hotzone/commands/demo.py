"""``hotzone demo``: simulate the Suwałki gap scenario and run every stage on it."""

from __future__ import annotations

import argparse
from pathlib import Path

from hotzone.commands.common import (
    DURATION_S,
    SEED,
    Number,
    OutputDirectory,
    SubParsers,
    positive_float_or_max,
)
from hotzone.commands.serve import (
    add_effect_model_argument,
    add_server_arguments,
    serve_run_folder,
)

#: What one demo run folder needs on disk, with room to spare (a run of the shipped demo is 47 MB).
RUN_FOLDER_BYTES = 200_000_000
KEEP = Number(1, 1_000_000, integer=True)


def add_parser(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run a shipped scenario end to end in one process and write a run folder",
        description="Simulate a shipped scenario (default suwalki-drones), replay it through "
        "the in-process bus into every pipeline stage, show a live summary and write a run "
        "folder with inputs, outputs, the SQLite store and a summary. Needs no other service.",
    )
    parser.add_argument("--scenario", default="suwalki-drones", help="scenario name or YAML")
    parser.add_argument(
        "--out",
        type=OutputDirectory(RUN_FOLDER_BYTES),
        default=Path("runs"),
        help="parent of run folders",
    )
    parser.add_argument("--seed", type=SEED, default=1)
    parser.add_argument("--duration", type=DURATION_S, default=None, help="seconds to simulate")
    parser.add_argument(
        "--keep",
        type=KEEP,
        default=None,
        help="then remove all but the N newest run folders under --out (see 'hotzone runs')",
    )
    parser.add_argument(
        "--speed",
        type=positive_float_or_max,
        default=float("inf"),
        help="replay speed factor over real time, or 'max' (default)",
    )
    parser.add_argument("--quiet", action="store_true", help="no live terminal summary")
    add_effect_model_argument(parser)
    parser.add_argument(
        "--serve", action="store_true", help="then serve the run's picture (web page and API)"
    )
    add_server_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hotzone.c2.config import C2ConfigError
    from hotzone.commands.common import CommandError, prepare_output_directory
    from hotzone.runtime.demo import run_demo
    from hotzone.runtime.run_folders import prune_run_folders
    from hotzone.sim.scenario import ScenarioError

    prepare_output_directory(args.out, RUN_FOLDER_BYTES)
    try:
        run_directory = run_demo(
            scenario=args.scenario,
            parent=args.out,
            seed=args.seed,
            duration_s=args.duration,
            speed=args.speed,
            live=not args.quiet,
            effect_model=args.effect_model,
        )
    except (ScenarioError, C2ConfigError) as error:
        raise CommandError(str(error)) from None
    print(f"run folder: {run_directory}")
    if args.keep is not None:
        removed = prune_run_folders(args.out, args.keep)
        if removed:
            freed = sum(folder.size_bytes for folder in removed) / 1e6
            print(f"removed {len(removed)} older run folders ({freed:.0f} MB), kept {args.keep}")
    if args.serve:
        serve_run_folder(args, run_directory)  # prints the URL; runs until interrupted
    return 0
