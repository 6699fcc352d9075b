"""``hotzone eval --truth truth.jsonl --tracks tracks.jsonl``: tracking metrics."""

from __future__ import annotations

import argparse
import json

from hotzone.commands.common import CommandError, InputFile, Number, OutputFile, SubParsers

CUTOFF_M = Number(0.0, 1e7, above_minimum=True, unit="metres")
ORDER = Number(1.0, 100.0)


def add_parser(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="score tracks against ground truth (OSPA, GOSPA, ID switches, time to track)",
        description="Compare TRACKS with TRUTH and print tracking metrics.",
    )
    truth, tracks = InputFile("truth file", "jsonl"), InputFile("tracks file", "jsonl")
    parser.add_argument("--truth", type=truth, required=True, help="truth JSONL from 'hotzone sim'")
    parser.add_argument("--tracks", type=tracks, required=True, help="tracks JSONL")
    parser.add_argument(
        "--json", type=OutputFile(), default=None, help="also write the metrics as JSON"
    )
    parser.add_argument("--cutoff", type=CUTOFF_M, default=1000.0, help="OSPA/GOSPA cut-off c (m)")
    parser.add_argument("--order", type=ORDER, default=1.0, help="OSPA/GOSPA order p")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hotzone.fusion.metrics import evaluate
    from hotzone.types import DecodeError, Track, TruthState, read_jsonl

    try:
        truth = [m for m in read_jsonl(args.truth) if isinstance(m, TruthState)]
        tracks = [m for m in read_jsonl(args.tracks) if isinstance(m, Track)]
    except DecodeError as error:
        raise CommandError(str(error)) from None
    if not truth:
        raise CommandError(f"{args.truth} holds no truth states")
    result = evaluate(truth, tracks, cutoff_m=args.cutoff, order=args.order)
    delays = [d for d in result.time_to_first_track_s.values() if d is not None]
    print(f"steps scored           {result.steps}")
    print(f"OSPA mean              {result.ospa_mean:.1f} m  (c={args.cutoff:g}, p={args.order:g})")
    print(
        f"GOSPA mean             {result.gospa_mean:.1f}  (localisation "
        f"{result.gospa_localisation_mean:.1f}, missed {result.gospa_missed_mean:.2f}/step, "
        f"false {result.gospa_false_mean:.2f}/step)"
    )
    print(f"ID switches            {result.id_switches}")
    print(f"fragmentations         {result.fragmentations}")
    tracked = f"{len(delays)}/{len(result.time_to_first_track_s)} objects tracked"
    if delays:
        tracked += f", time to first track median {sorted(delays)[len(delays) // 2]:.1f} s"
    print(f"time to track          {tracked}")
    for title, groups in (("class", result.per_class), ("affiliation", result.per_affiliation)):
        for name, summary in groups.items():
            delay = summary.mean_time_to_track_s
            mean_error = summary.mean_localisation_error_m
            delay_text = "-" if delay is None else f"{delay:.1f} s"
            error_text = "-" if mean_error is None else f"{mean_error:.0f} m"
            print(
                f"  {title} {name:<22} tracked {summary.tracked}/{summary.objects}, "
                f"time to track {delay_text}, mean error {error_text}"
            )
    if args.json is not None:
        args.json.write_text(json.dumps(result.as_dict(), indent=1, sort_keys=True))
    return 0
