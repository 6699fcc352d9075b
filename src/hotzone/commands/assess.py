"""``hotzone assess tracks.jsonl --out assessments.jsonl``: classify, identify, alert."""

from __future__ import annotations

import argparse

from hotzone.commands.common import SECONDS, CommandError, InputFile, OutputFile, SubParsers


def add_parser(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "assess",
        help="classify tracks, decide identities, evaluate threats and raise alerts",
        description=(
            "Read Track (and Report) messages from a JSONL file, step the assessment stage "
            "once per WINDOW seconds and write Assessment, Alert and layer Event messages."
        ),
    )
    parser.add_argument(
        "input", type=InputFile("tracks file", "jsonl"), help="JSONL file of tracks (and reports)"
    )
    parser.add_argument("--out", type=OutputFile(), required=True, help="JSONL file to write")
    parser.add_argument("--scenario", default=None, help="scenario for assets, borders, cables")
    parser.add_argument(
        "--model", type=InputFile("model", "text"), default=None, help="classifier model (JSON)"
    )
    parser.add_argument("--window", type=SECONDS, default=2.0, help="seconds per step (default 2)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from hotzone.assess.classifier import ModelError, TreeEnsembleClassifier
    from hotzone.assess.context import AssessmentContext
    from hotzone.assess.stage import AssessmentStage
    from hotzone.commands.track import read_messages
    from hotzone.types import Report, Track, write_jsonl

    try:
        model = TreeEnsembleClassifier.load(args.model) if args.model else None
    except ModelError as error:
        raise CommandError(str(error)) from None
    context = AssessmentContext()
    if args.scenario is not None:
        from hotzone.runtime.stages import assessment_context
        from hotzone.sim.scenario import ScenarioError, load_scenario

        try:
            context = assessment_context(load_scenario(args.scenario))
        except ScenarioError as error:
            raise CommandError(str(error)) from None
    messages, unreadable = read_messages(args.input)
    timed = sorted(
        (m for m in messages if isinstance(m, Track | Report)), key=lambda m: m.time.timestamp()
    )
    if not timed:
        # Nothing to assess is the user's mistake (a wrong file), not a success.
        raise CommandError(
            f"{args.input}: no tracks or reports ({len(messages)} other messages, "
            f"{len(unreadable)} unreadable lines)"
        )
    stage = AssessmentStage(context=context, classifier=model)
    written = 0
    with open(args.out, "wb") as stream:
        batch: list[object] = []
        window_end: float | None = None
        for message in timed:
            moment = message.time.timestamp()
            if window_end is None:
                window_end = moment + args.window
            while moment > window_end:
                written += write_jsonl(
                    stage.step(datetime.fromtimestamp(window_end, tz=UTC), batch), stream
                )
                batch = []
                window_end += args.window
            batch.append(message)
        if window_end is not None:
            written += write_jsonl(
                stage.step(datetime.fromtimestamp(window_end, tz=UTC), batch), stream
            )
    print(
        f"{written} messages in {args.out} from {len(timed)} tracks/reports "
        f"({len(unreadable)} unreadable lines)"
    )
    return 0
