"""``hotzone report RUN_DIR``: a self-contained HTML after-action report of a run."""

from __future__ import annotations

import argparse

from hotzone.commands.common import OutputFile, RunSource, SubParsers


def add_parser(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write a self-contained HTML after-action report of a run folder",
        description="Map snapshot, timeline, OSPA/GOSPA over time, classification "
        "confusion, time to decision and leakers of one run, as one HTML file with "
        "embedded plots (default RUN_DIR/report.html).",
    )
    parser.add_argument("run_directory", type=RunSource(), metavar="RUN_DIR")
    parser.add_argument("--out", type=OutputFile(), default=None, help="HTML file to write")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hotzone.commands.common import CommandError
    from hotzone.runtime.report import ReportError, write_report
    from hotzone.sim.scenario import ScenarioError

    try:
        written = write_report(args.run_directory, args.out)
    except (ReportError, ScenarioError) as error:
        raise CommandError(str(error)) from None
    print(f"report: {written}")
    return 0
