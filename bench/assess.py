"""Assessment-stage bench (not in make test): its CPU cost per track update.

    .venv/bin/python bench/assess.py TRACKS [--scenario NAME] [--repeat N] [--digest]

Reads a recorded run's Track messages (a ``hotzone demo`` run folder's
``outputs/tracks.jsonl.gz``), steps a fresh `AssessmentStage` (built as the runtime's
`assessment_stage` builds it) once per distinct track time, as the fusion stage emits
them, and prints the CPU seconds of the steps and per track update. ``--digest`` also
prints the SHA-256 of every output message as JSON, in order: two versions of the stage
that print the same digest over the same tracks gave the same outputs byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from itertools import groupby
from pathlib import Path

from hotzone.assess.stage import AssessmentStage
from hotzone.commands.track import read_messages
from hotzone.runtime.stages import assessment_context
from hotzone.sim.scenario import load_scenario
from hotzone.types import Track, to_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tracks", type=Path, help="JSONL(.gz) file of Track messages")
    parser.add_argument("--scenario", default="suwalki-drones", help="scenario of the run")
    parser.add_argument("--repeat", type=int, default=1, help="runs over the same tracks")
    parser.add_argument("--digest", action="store_true", help="print the outputs' SHA-256")
    args = parser.parse_args()
    messages, _ = read_messages(args.tracks)
    tracks = sorted((m for m in messages if isinstance(m, Track)), key=lambda m: m.time)
    windows = [(moment, list(group)) for moment, group in groupby(tracks, key=lambda m: m.time)]
    scenario = load_scenario(args.scenario)
    for _ in range(args.repeat):
        stage = AssessmentStage(
            context=assessment_context(scenario), releasability=scenario.releasability
        )
        stage._model()  # loaded outside the measurement
        digest = hashlib.sha256()
        outputs = 0
        cpu_s = 0.0
        for moment, window in windows:
            started = time.process_time()
            answer = stage.step(moment, window)
            cpu_s += time.process_time() - started
            outputs += len(answer)
            if args.digest:
                for message in answer:
                    digest.update(to_json(message))
        line = (
            f"{len(tracks)} track updates in {len(windows)} windows: {cpu_s:.2f} CPU s, "
            f"{cpu_s / len(tracks) * 1e3:.3f} ms per update, {outputs} outputs"
        )
        print(line + (f", sha256 {digest.hexdigest()}" if args.digest else ""))


if __name__ == "__main__":
    main()
