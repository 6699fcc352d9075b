"""What merging an ally's copies costs a node, against its own tracker (issue 13, item 4).

PL and LT both run suwalki-drones (noise seeds 1 and 2); LT's node then merges PL's
tracks with its own each second (`AlliedTrackFusion`, as `alliance_stage` composes it),
once with the closed-form CI weight (the node's default) and once with the optimal one.
Printed: processor time per step of each, as a ratio of LT's own tracking stage on the
same run, and how many of the objects both nations track at a step are one alliance track
(national tracks within 300 m of each other counted as one object).

    python bench/alliance.py                  # 300 simulated s
    python bench/alliance.py --duration 1200  # the whole scenario
"""

from __future__ import annotations

import argparse
import math
import sys
import time as wallclock
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hotzone.fusion.allied import AlliedTrackFusion
from hotzone.fusion.track_to_track import WeightRule, fast_weight, optimal_weight
from hotzone.geo import LocalFrame
from hotzone.runtime.pipeline import delivery_time
from hotzone.runtime.stages import tracking_stage
from hotzone.sim.scenario import load_scenario
from hotzone.sim.simulator import simulate
from hotzone.types import Track, TrackStatus
from hotzone.types.allied import contribution

SCENARIO = "suwalki-drones"


def tracker_outputs(seed: int, duration_s: float) -> tuple[dict[float, list[Track]], float]:
    """Each step's tracks of one nation, and the tracking stage's processor seconds."""
    scenario = load_scenario(SCENARIO)
    stage = tracking_stage(scenario)
    outputs: dict[float, list[Track]] = {}
    window: list[object] = []
    next_step: float | None = None
    spent = 0.0
    for message in simulate(scenario, seed=seed, duration_s=duration_s):
        at = delivery_time(message)
        next_step = next_step or math.floor(at) + 1.0
        while at >= next_step:
            started = wallclock.process_time()
            step = stage.step(datetime.fromtimestamp(next_step, UTC), window)
            spent += wallclock.process_time() - started
            outputs[next_step] = [t for t in step if isinstance(t, Track)]
            window, next_step = [], next_step + 1.0
        if stage.accepts(message):
            window.append(message)
    return outputs, spent


def near(first: Track, second: Track, within_m: float = 300.0) -> bool:
    frame = LocalFrame(first.position.lat_deg, first.position.lon_deg, 0.0)
    east, north, _ = frame.geodetic_to_enu(
        second.position.lat_deg, second.position.lon_deg, first.position.height_m
    )
    return math.hypot(float(east), float(north)) < within_m


def merge(
    own: dict[float, list[Track]], allied: dict[float, list[Track]], rule: WeightRule
) -> tuple[float, int, int, int]:
    """Processor seconds, and over all steps: objects both track, of them merged into one
    alliance track, national tracks left uncovered though the other nation tracks them."""
    scenario = load_scenario(SCENARIO)
    fusion = AlliedTrackFusion(
        nation="LT",
        common_frame=scenario.frame,
        sector_frames=scenario.sector_frames(),
        releasability=scenario.releasability,
        weight_rule=rule,
    )
    spent, shared, merged = 0.0, 0, 0
    for at in sorted(own):
        copies = [
            msgspec.structs.replace(t, track_id=contribution("PL", t.track_id))
            for t in allied.get(at, [])
        ]
        started = wallclock.process_time()
        outputs = fusion.step(datetime.fromtimestamp(at + 1.0, UTC), [*own[at], *copies])
        spent += wallclock.process_time() - started
        covered = {
            name for t in outputs if t.status != TrackStatus.DELETED for name in t.contributions
        }
        for mine in own[at]:
            partners = [c for c in allied.get(at, []) if near(mine, c)]
            if len(partners) != 1:
                continue  # no partner, or ambiguous: not counted
            shared += 1
            pair = {f"LT:{mine.track_id}", f"PL:{partners[0].track_id}"}
            merged += pair <= covered
    return spent, shared, merged, len(fusion.rejected)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=300.0, help="simulated seconds")
    args = parser.parse_args(argv)
    own, tracking_s = tracker_outputs(2, args.duration)
    allied, _ = tracker_outputs(1, args.duration)
    steps = len(own)
    tracks = sum(len(tracks) for tracks in own.values())
    print(
        f"{SCENARIO}, {args.duration:.0f} simulated s: {steps} steps, LT {tracks:,} track "
        f"updates, PL {sum(len(t) for t in allied.values()):,}"
    )
    print(f"LT tracking stage (reference): {1000 * tracking_s / steps:7.2f} ms/step")
    for name, rule in (("fast (closed form, default)", fast_weight), ("optimal", optimal_weight)):
        spent, shared, merged, rejected = merge(own, allied, rule)
        print(
            f"alliance merge, {name:28}: {1000 * spent / steps:7.2f} ms/step "
            f"= {spent / tracking_s:.2f}x tracking; objects both track merged: "
            f"{merged:,} of {shared:,} ({100 * merged / max(shared, 1):.1f} %), "
            f"label conflicts {rejected}"
        )


if __name__ == "__main__":
    main()
