"""Real-world feed shapes through the default tracker (issue 15), before and after.

Prints, for the default configuration and for the window-counted one it replaced
(3-of-5 windows, deletion after 3/6 empty windows, 10/30 s coasting):

* a sparse multi-aircraft SBS feed (positions and velocities in separate lines about
  every 10 s, gaps of up to a minute; airliners, light aircraft and helicopters made as
  `tests/fusion/sbs_capture.py` says, as the one recorded feed a registry package ships
  is FLARM at a glider field, below): share of aircraft with exactly one confirmed
  track for >= 90 % of their reported time, confirmed tracks per aircraft, tracks
  merging two addresses;
* a single rotating radar (4, 10, 12 s), 200 targets, Pd 0.9, 20 clutter plots a turn,
  window 1 s: share of targets confirmed within 3 rotations of their first plot;
* a real recording: one day of 17 aircraft at a glider field (FLARM, rs1090's data,
  `tests/golden/flarm_lfmy`) as an SBS feed with a position every >= 10 s, scored per
  visit (`tests/ingest/real_flarm.py`), default configuration only;
* the shipped `suwalki-drones` demo (seed 1, 20 minutes, 1 s windows): OSPA (c = 1 km),
  false and missed objects per step, ID switches, hostile objects tracked.

    python bench/feeds.py                 # 216 aircraft for an hour, the radars, the demo
    python bench/feeds.py --aircraft 60 --duration 1800
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fusion.rotating_radar import START_S, rotating_radar
from tests.fusion.sbs_capture import make_capture, score, track_capture
from tests.fusion.test_revisit import first_confirmation

from hotzone.fusion.deletion import MissesDeleter
from hotzone.fusion.initiation import MOfNInitiator
from hotzone.fusion.stage import TrackingStage, default_tracker
from hotzone.fusion.tracker import MultiTargetTracker
from hotzone.geo import LocalFrame
from hotzone.runtime.windows import ReplaySummary, track_stream


def window_counted() -> MultiTargetTracker:
    """The default tracker as it was before issue 15 (management in windows)."""
    tracker = default_tracker()
    tracker.initiator = MOfNInitiator(confirm_hits=3, window=5, velocity_sigma_mps=150.0)
    tracker.deleter = MissesDeleter(
        tentative_max_misses=3,
        confirmed_max_misses=6,
        max_coast_s=30.0,
        tentative_max_coast_s=10.0,
        max_position_sigma_m=5_000.0,
    )
    return tracker


CONFIGURATIONS = {"default (in time)": default_tracker, "window-counted (before)": window_counted}


def radar(period_s: float, make: object) -> float:
    from tests.fusion.rotating_radar import SITE

    run = rotating_radar(200, period_s, rotations=8, rng=np.random.default_rng(int(period_s)))
    frame = LocalFrame(SITE.lat_deg, SITE.lon_deg, SITE.height_m)
    stage = TrackingStage(frame=frame, tracker=make(), confirmed_only=True)  # type: ignore[operator]
    windows = []
    for tracks in track_stream(list(run.plots), stage, 1.0, ReplaySummary()):
        if tracks:
            windows.append((tracks[0].time.timestamp(), tracks))
    confirmed = first_confirmation(run, windows)
    seen = np.isfinite(run.first_plot_s) & (run.first_plot_s < START_S + 4 * period_s)
    return float(np.mean(confirmed[seen] - run.first_plot_s[seen] < 3.5 * period_s))


def suwalki(make: object) -> str:
    from hotzone.fusion.metrics import evaluate
    from hotzone.sim.scenario import load_scenario
    from hotzone.sim.simulator import simulate
    from hotzone.types import TruthState

    messages = list(simulate(load_scenario("suwalki-drones"), seed=1, include_truth=True))
    truth = [m for m in messages if isinstance(m, TruthState)]
    sensed = [m for m in messages if not isinstance(m, TruthState)]
    frame = LocalFrame(54.05, 23.10, 180.0)
    stage = TrackingStage(frame=frame, tracker=make(), confirmed_only=True)  # type: ignore[operator]
    tracks = [t for batch in track_stream(sensed, stage, 1.0, ReplaySummary()) for t in batch]
    result = evaluate(truth, tracks, cutoff_m=1000.0)
    return (
        f"OSPA {result.ospa_mean:.1f} m, false {result.gospa_false_mean:.2f}/step, missed "
        f"{result.gospa_missed_mean:.2f}/step, ID switches {result.id_switches}, hostile "
        f"tracked {result.per_affiliation['hostile'].tracked}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aircraft", type=int, default=216)
    parser.add_argument("--duration", type=float, default=3600.0, help="seconds")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--no-real", action="store_true", help="skip the real FLARM day")
    args = parser.parse_args(argv)
    capture = make_capture(args.aircraft, args.duration, args.seed)
    print(f"SBS capture: {len(capture.lines)} lines, {len(capture.reported)} aircraft")
    for name, make in CONFIGURATIONS.items():
        windows, refused = track_capture(capture, tracker=make())
        print(f"  {name:<24} {score(capture, windows).summary()}; {refused} refused")
    if not args.no_real:
        from tests.ingest import real_flarm

        feed, windows = real_flarm.tracked_day(10.0)
        for minimum in (300.0, 60.0):
            result = real_flarm.score(feed.reported, windows, min_visit_s=minimum)
            print(f"real FLARM day, 10 s feed, visits >= {minimum:.0f} s: {result.summary()}")
    print("single rotating radar, 200 targets, window 1 s: confirmed within 3 rotations")
    for period_s in (4.0, 10.0, 12.0):
        shares = ", ".join(
            f"{name} {radar(period_s, make):.1%}" for name, make in CONFIGURATIONS.items()
        )
        print(f"  {period_s:>4.0f} s rotation: {shares}")
    print("suwalki-drones, seed 1, 1 s windows, c = 1 km")
    for name, make in CONFIGURATIONS.items():
        print(f"  {name:<24} {suwalki(make)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
