"""``hotzone schema [TYPE]``: print the JSON Schema of the messages."""

from __future__ import annotations

import argparse
import json

from hotzone.commands.common import CommandError, SubParsers


def add_parser(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "schema",
        help="print the JSON Schema of one message type or of all of them",
        description="Print the JSON Schema of a message type (detection, report, event, "
        "track, assessment, alert, proposal, decision, task_order, audit, truth, "
        "dead_letter), or of the tagged union of all types when TYPE is left out.",
    )
    parser.add_argument("type", nargs="?", metavar="TYPE", help="message type tag")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hotzone.types import json_schema

    try:
        schema = json_schema(args.type)
    except KeyError as error:
        raise CommandError(str(error.args[0])) from None
    print(json.dumps(schema, indent=2, sort_keys=True))
    return 0
