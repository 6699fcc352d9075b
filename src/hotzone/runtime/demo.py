"""``hotzone demo``: simulate a shipped scenario and run the whole pipeline on it.

The simulator streams straight into the pipeline, so the response closes the loop: a
target stopped by an approved effect disappears from the sensors. The run folder holds
everything needed to inspect or replay the run:

    inputs/    scenario.yaml, detections.jsonl.gz (all sensor output), truth.jsonl.gz
    outputs/   one JSONL file per output type (tracks.jsonl.gz, alerts.jsonl, ...), eval.json
    hotzone.sqlite   every message on the bus, in order (audit chain included)
    summary.json, summary.md
    report.html      the after-action report (`hotzone report`)

The high-volume files (detections, truth, tracks, assessments) are gzip-compressed JSON
Lines (``zcat``, or `hotzone.types.read_jsonl`, read them) and the store compresses those
types' payloads too (`hotzone.store.compression`): a run of the shipped scenario takes
47 MB instead of 166 MB. `hotzone.runtime.run_folders.run_file` finds either form, so
runs written before stay readable.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from hotzone.bus import Bus, InProcessBus
from hotzone.c2.config import c2_config_path, load_c2_spec
from hotzone.runtime import event_loop
from hotzone.runtime.effectors.base import Clock
from hotzone.runtime.effectors.config import EffectorLink
from hotzone.runtime.effectors.exercise import (
    ExerciseEffectors,
    exercise_links,
    start_exercise_effectors,
)
from hotzone.runtime.pipeline import Pipeline, PipelineProgress
from hotzone.runtime.report import write_report
from hotzone.runtime.run_report import (
    assessment_report,
    identity_lines,
    response_report,
    tracking_report,
)
from hotzone.runtime.stages import RunStages, build_stages
from hotzone.sim.scenario import Scenario, load_scenario
from hotzone.sim.simulator import run_duration, simulate
from hotzone.store import SQLiteStore
from hotzone.types import AnyMessage, RunMode, TruthState, open_jsonl, write_jsonl

OUTPUT_FILES = {
    "track": "tracks.jsonl.gz",
    "assessment": "assessments.jsonl.gz",
    "alert": "alerts.jsonl",
    "proposal": "proposals.jsonl",
    "decision": "decisions.jsonl",
    "task_order": "orders.jsonl",
    "audit": "audit.jsonl",
    "dead_letter": "dead_letters.jsonl",
}

DETECTIONS_FILE = "detections.jsonl.gz"
TRUTH_FILE = "truth.jsonl.gz"

# The simulator computes ahead in windows; short ones let an effect show promptly.
SIMULATION_WINDOW_S = 5.0


def _run_directory(parent: Path, scenario: Scenario, seed: int) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    directory = parent / f"{scenario.name}-seed{seed}-{stamp}"
    suffix = 1
    while directory.exists():
        suffix += 1
        directory = parent / f"{scenario.name}-seed{seed}-{stamp}-{suffix}"
    return directory


def summary_table(progress: PipelineProgress, title: str, run: RunStages | None = None) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("simulated time", f"{progress.elapsed_simulated_s:,.0f} s")
    if run is not None and run.stages:
        table.add_row("confirmed tracks now", f"{run.stages[0].last_outputs['Track']:,}")
    for kind, count in sorted(progress.published.items()):
        table.add_row(f"input {kind}", f"{count:,}")
    for stage, outputs in sorted(progress.stage_outputs.items()):
        for kind, count in sorted(outputs.items()):
            table.add_row(f"{stage} → {kind}", f"{count:,}")
    if run is not None and run.effects is not None:
        stopped = sum(1 for e in run.effects.outcomes if e.attributes["outcome"] == "stopped")
        table.add_row("threats stopped", f"{stopped:,}")
    table.add_row("dead letters", f"{progress.dead_letters:,}")
    table.add_row("messages recorded", f"{progress.recorded:,}")
    return table


def _write_outputs(store: SQLiteStore, outputs: Path) -> dict[str, int]:
    outputs.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for type_tag, file_name in OUTPUT_FILES.items():
        messages = (stored.message for stored in store.replay(types=[type_tag]))
        with open_jsonl(outputs / file_name, "wb") as stream:
            counts[file_name] = write_jsonl(messages, stream)
    return counts


def _tee_inputs(
    messages: Iterable[AnyMessage], detections: IO[bytes], truth: IO[bytes]
) -> Iterator[AnyMessage]:
    """Pass messages on while writing them to the run's input files."""
    for message in messages:
        write_jsonl((message,), truth if isinstance(message, TruthState) else detections)
        yield message


def simulated_effector_links(scenario: Scenario, effect_model: bool) -> dict[str, EffectorLink]:
    """The effectors a simulated run plays behind their real gateways (none with
    ``effect_model``: the in-process effect model alone decides every order). Only those
    of the run's c2 file: a scenario naming another c2 file keeps its own effectors."""
    c2_path = c2_config_path(scenario)
    if effect_model or c2_path is None:
        return {}
    known = {effector.id for effector in load_c2_spec(c2_path).effectors}
    return {k: link for k, link in exercise_links(scenario.name).items() if k in known}


def simulation_clock(pipeline: Pipeline, scenario: Scenario) -> Clock:
    """The run's simulated time (its latest message's), which the effectors keep."""

    def now() -> datetime:
        return datetime.fromtimestamp(pipeline.progress.simulated_time or scenario.start_posix, UTC)

    return now


async def start_simulated_effectors(
    bus: Bus,
    nation: str,
    scenario: Scenario,
    run: RunStages,
    links: dict[str, EffectorLink],
    pipeline: Pipeline,
    lockstep: bool = False,
) -> ExerciseEffectors | None:
    """The gateways and simulated effectors of ``links`` on ``bus``, acting on the
    pipeline's simulated time (`hotzone.runtime.effectors.exercise`). ``lockstep``: they
    act only at the pipeline's clock ticks (`Pipeline.settle`), so the run comes out the
    same each time."""
    if not links:
        return None
    started = await start_exercise_effectors(
        bus,
        nation,
        links,
        load_c2_spec(c2_config_path(scenario) or scenario.name),
        run.trusted_issuers,
        clock=simulation_clock(pipeline, scenario),
        act_on_clock=True,
        releasability=scenario.releasability,
        lockstep=lockstep,
    )
    if lockstep:

        async def settle(posix_time: float) -> None:
            await started.settle(datetime.fromtimestamp(posix_time, UTC))

        pipeline.settle = settle
    return started


def run_demo(
    scenario: str | Path,
    parent: Path,
    seed: int = 1,
    duration_s: float | None = None,
    speed: float = float("inf"),
    live: bool = True,
    console: Console | None = None,
    report: bool = True,
    effect_model: bool = False,
    tracking_hold_s: float = 0.0,
) -> Path:
    """Run ``scenario`` end to end; returns the run folder (with ``report``, holding the
    after-action report ``report.html`` too).

    The scenario's effectors that its gateway file names are simulated behind the real
    gateways (SAPIENT nodes, MAVLink vehicles: docs/effectors.md); ``effect_model`` leaves
    every order to the in-process effect model instead. ``tracking_hold_s``: the tracking
    stage's hold (`hotzone.runtime.stages.tracking_stage`)."""
    console = console or Console(stderr=True)
    loaded = load_scenario(scenario)
    duration = run_duration(loaded, duration_s)
    run_directory = _run_directory(parent, loaded, seed)
    inputs = run_directory / "inputs"
    outputs = run_directory / "outputs"
    inputs.mkdir(parents=True)
    if loaded.source_path is not None:
        shutil.copyfile(loaded.source_path, inputs / "scenario.yaml")

    links = simulated_effector_links(loaded, effect_model)
    run = build_stages(
        loaded,
        seed=seed,
        mode=RunMode.SIMULATION,
        gateway_effectors=tuple(links),
        tracking_hold_s=tracking_hold_s,
    )
    title = f"hotzone demo: {loaded.name}"
    console.print(f"running [bold]{loaded.name}[/bold] for {duration:,.0f} simulated seconds …")
    store = SQLiteStore(run_directory / "hotzone.sqlite")
    try:
        with (
            open_jsonl(inputs / DETECTIONS_FILE, "wb") as detections,
            open_jsonl(inputs / TRUTH_FILE, "wb") as truth,
        ):
            messages = simulate(
                loaded,
                seed=seed,
                duration_s=duration,
                include_truth=True,
                window_s=SIMULATION_WINDOW_S,
                removals=run.removals,
            )
            progress = _run_pipeline(
                store,
                run,
                _tee_inputs(messages, detections, truth),
                live,
                speed,
                console,
                title,
                effectors=(loaded, links),
            )
        output_counts = _write_outputs(store, outputs)
        stored_by_type = {
            tag: count
            for tag in ("detection", "report", "event", "truth", *OUTPUT_FILES)
            if (count := store.count(tag))
        }
    finally:
        store.close()

    tracking = tracking_report(
        inputs / TRUTH_FILE, outputs / OUTPUT_FILES["track"], own_effectors=frozenset(links)
    )
    (outputs / "eval.json").write_text(json.dumps(tracking, indent=1, sort_keys=True) + "\n")
    response = response_report(loaded, run_directory)
    summary: dict[str, Any] = {
        "scenario": loaded.name,
        "seed": seed,
        "mode": str(run.mode),
        "response_stage": run.response_note or "c2 with simulated operators",
        "simulated_seconds": progress.elapsed_simulated_s,
        "inputs": dict(progress.published),
        "stage_outputs": {name: dict(counts) for name, counts in progress.stage_outputs.items()},
        "stage_processor_seconds": {
            name: round(seconds, 2) for name, seconds in progress.stage_seconds.items()
        },
        "dead_letters": progress.dead_letters,
        "tracking_windows": _tracking_windows(run),
        "recorded_messages": progress.recorded,
        "stored_by_type": stored_by_type,
        "output_files": output_counts,
        "tracking": tracking,
        "assessment": assessment_report(run_directory),
        "response": response,
    }
    (run_directory / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (run_directory / "summary.md").write_text(_summary_markdown(summary))
    if live:
        console.print()  # the live table leaves the cursor at its last line
    else:
        console.print(summary_table(progress, title, run))
    console.print(_headline(summary))
    if report:
        console.print(f"after-action report: {write_report(run_directory)}")
    return run_directory


def _run_pipeline(
    store: SQLiteStore,
    run: RunStages,
    messages: Iterable[AnyMessage],
    live: bool,
    speed: float,
    console: Console,
    title: str,
    effectors: tuple[Scenario, dict[str, EffectorLink]] | None = None,
) -> PipelineProgress:
    async def play(bus: InProcessBus, pipeline: Pipeline) -> PipelineProgress:
        started = None
        if effectors is not None:
            scenario, links = effectors
            started = await start_simulated_effectors(
                bus, "PL", scenario, run, links, pipeline, lockstep=True
            )
        try:
            return await pipeline.run(messages)
        finally:
            if started is not None:
                await started.close()
                if started.unsettled_ticks:
                    console.print(
                        f"[yellow]the effectors' links did not settle at "
                        f"{started.unsettled_ticks} clock ticks: this run may differ from "
                        "another of the same seed[/yellow]"
                    )

    async def main() -> PipelineProgress:
        bus = InProcessBus()
        if not live:
            pipeline = Pipeline(bus, store, run.stages, speed=speed)
            result = await play(bus, pipeline)
        else:
            with Live(console=console, refresh_per_second=4) as display:

                def show(progress: PipelineProgress) -> None:
                    display.update(summary_table(progress, title, run))

                pipeline = Pipeline(bus, store, run.stages, speed=speed, on_progress=show)
                result = await play(bus, pipeline)
        await bus.close()
        return result

    # asyncio's own loop: the exercise's effectors speak SAPIENT (see `hotzone ingest`).
    return event_loop.run(main(), use_uvloop=False)


def _tracking_windows(run: RunStages) -> dict[str, float]:
    """The tracking stage's windows: its hold, how many, and the reports in them measured
    before the window stepped before (each makes the tracker rewind and replay)."""
    windows = run.stages[0].windows
    if windows is None:
        return {}
    return {
        "hold_s": run.tracking_hold_s,
        "windows": windows.windows,
        "out_of_sequence": windows.out_of_sequence,
    }


def _headline(summary: dict[str, Any]) -> str:
    tracking = summary["tracking"]
    response = summary["response"]
    parts = [
        f"hostile objects tracked {tracking['hostile_tracked']}/{tracking['hostile_objects']}",
        f"OSPA {tracking['ospa_mean_m']:.0f} m",
        f"alerts {summary['output_files'].get('alerts.jsonl', 0)}",
    ]
    if response:
        parts += [
            f"proposals {len(response['proposals'])}",
            f"orders {response['orders']}",
            f"threats stopped {response['stopped']}",
            f"reached an asset {response['leakers']}",
        ]
    return "; ".join(parts)


def _summary_markdown(summary: dict[str, Any]) -> str:
    tracking = summary["tracking"]
    lines = [
        f"# hotzone run: {summary['scenario']} (seed {summary['seed']})",
        "",
        f"- simulated: {summary['simulated_seconds']:.0f} s",
        f"- dead letters: {summary['dead_letters']}",
        f"- messages recorded: {summary['recorded_messages']}",
        "",
        "## Tracking",
        "",
        f"- OSPA mean {tracking['ospa_mean_m']:.1f} m, GOSPA mean {tracking['gospa_mean']:.1f}",
        f"- ID switches {tracking['id_switches']}, fragmentations {tracking['fragmentations']}",
        f"- hostile objects with a confirmed track: {tracking['hostile_tracked']}"
        f"/{tracking['hostile_objects']}",
        "",
        "| object | class | time to first confirmed track |",
        "| --- | --- | ---: |",
    ]
    for row in tracking["objects"]:
        delay = (
            "not tracked" if row["time_to_track_s"] is None else f"{row['time_to_track_s']:.0f} s"
        )
        lines.append(f"| {row['target_id']} | {row['class']} | {delay} |")
    understood = summary["assessment"]
    lines += [
        "",
        "## Assessment",
        "",
        f"- tracks assessed: {understood['tracks_assessed']}",
        "- classes (latest per track): "
        + (", ".join(f"{k} {v}" for k, v in understood["classes"].items()) or "none"),
        "- identities (latest per track): "
        + (", ".join(f"{k} {v}" for k, v in understood["identities"].items()) or "none"),
        "- alerts: "
        + (", ".join(f"{k} {v}" for k, v in understood["alerts_by_kind"].items()) or "none"),
    ]
    if understood["jamming_area"] is not None:
        area = understood["jamming_area"]
        lines.append(
            f"- GNSS jamming area: centre {area['lat_deg']:.3f}, {area['lon_deg']:.3f} "
            f"(confidence {area['confidence']:.0%}, {area['time']})"
        )
    lines += identity_lines(understood.get("identity_conflicts", []))
    response = summary["response"]
    if not response:
        lines += ["", "## Response", "", f"- {summary['response_stage']}"]
    if response:
        lines += [
            "",
            "## Response",
            "",
            f"- orders {response['orders']}, threats stopped {response['stopped']}, "
            f"hostile air objects that reached a defended asset: {response['leakers']}",
            "",
            "- orders per effector: "
            + (", ".join(f"{k} {v}" for k, v in response["effector_use"].items()) or "none"),
            "",
            "| proposal | track | effector | effect | decisions | time to decision | outcome |",
            "| --- | --- | --- | --- | --- | ---: | --- |",
        ]
        for row in response["proposals"]:
            delay = row["time_to_decision_s"]
            lines.append(
                f"| {row['proposal_id']} | {row['track_id']} | {row['effector_id']} | "
                f"{row['effect_class']} | {row['decisions']} | "
                f"{'-' if delay is None else f'{delay:.0f} s'} | {row['outcome']} |"
            )
    lines += ["", "| message type | stored |", "| --- | ---: |"]
    lines += [f"| {tag} | {count} |" for tag, count in summary["stored_by_type"].items()]
    return "\n".join(lines) + "\n"
