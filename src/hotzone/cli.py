"""The ``hotzone`` command: one subcommand per job, each defined in `hotzone.commands`.

Subcommand modules import only argparse at module level; the work and its heavy imports
happen when the subcommand runs, so ``hotzone --help`` stays instant.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from collections.abc import Sequence

from hotzone import __version__
from hotzone.commands import (
    assess,
    audit,
    decide,
    decode,
    demo,
    effectors,
    evaluate,
    export,
    federation,
    ingest,
    node,
    operators,
    report,
    runs,
    schema,
    serve,
    simulate,
    space,
    track,
    train,
)
from hotzone.commands.common import ArgumentParser, CommandError, describe_os_error

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
    effectors,
    serve,
    node,
    federation,
    report,
    runs,
)
#: Exit status when the reader of our standard output went away (``| head``): what a
#: shell reports for a process ended by SIGPIPE.
BROKEN_PIPE_EXIT = 128 + 13


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="hotzone",
        description="Sensor fusion and decision support for a border defence zone.",
    )
    parser.add_argument("--version", action="version", version=f"hotzone {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in SUBCOMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand. Bad input of any kind ends in one line on standard error and
    exit code 2: usage errors (`ArgumentParser.error`), `CommandError`, what the system
    says about a file (a full disk, a read-only folder) and a store that is no database."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        if exit_.code == 2:  # a usage error, already said in one line by the parser
            return 2
        raise  # --help and --version end the program as argparse means them to
    try:
        result: int = args.run(args)
        sys.stdout.flush()  # a full disk or a closed pipe is reported here, not at exit
    except CommandError as error:
        return _refuse(args, str(error))
    except BrokenPipeError:
        _discard_stdout()
        return BROKEN_PIPE_EXIT
    except OSError as error:
        _discard_stdout()  # if standard output is what failed, the flush at exit would too
        return _refuse(args, describe_os_error(error))
    except sqlite3.DatabaseError as error:
        return _refuse(args, f"not a hotzone store: {error}")
    except UnicodeDecodeError as error:
        # A file that should be text is not; the readers that know which file say so
        # themselves, this is the last line of defence against a traceback.
        return _refuse(args, f"not UTF-8 text: {error}")
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return result


def _refuse(args: argparse.Namespace, reason: str) -> int:
    # Bad input is the user's to fix: one clear line and exit code 2, no traceback.
    print(f"hotzone {args.command}: error: {reason}", file=sys.stderr)
    return 2


def _discard_stdout() -> None:
    """Point standard output at /dev/null when writing to it failed (its reader has gone,
    as in ``hotzone decide show … | head``, or its disk is full): what is still buffered
    is dropped, and the flush at exit cannot fail with a second message."""
    try:
        sys.stdout.flush()
        return  # standard output is fine: the error was elsewhere
    except OSError:
        pass
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # standard output is not a file descriptor (a test's capture): nothing to do
    finally:
        os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
