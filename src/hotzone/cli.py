"""The ``hotzone`` command: one subcommand per job, each defined in `hotzone.commands`.

Subcommand modules import only argparse at module level; the work and its heavy imports
happen when the subcommand runs, so ``hotzone --help`` stays instant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from hotzone import __version__
from hotzone.commands import (
    assess,
    audit,
    decide,
    decode,
    demo,
    evaluate,
    export,
    federation,
    ingest,
    node,
    operators,
    report,
    schema,
    serve,
    simulate,
    space,
    track,
    train,
)
from hotzone.commands.common import CommandError

SUBCOMMANDS = (
    demo,
    simulate,
    track,
    assess,
    train,
    evaluate,
    decode,
    schema,
    ingest,
    export,
    space,
    audit,
    decide,
    operators,
    serve,
    node,
    federation,
    report,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hotzone",
        description="Sensor fusion and decision support for a border defence zone.",
    )
    parser.add_argument("--version", action="version", version=f"hotzone {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in SUBCOMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.run(args)
    except CommandError as error:
        # Bad input is the user's to fix: one clear line and exit code 2, no traceback.
        print(f"hotzone {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
