"""``hotzone demo``: simulate a shipped scenario and run the whole pipeline on it.

The run folder holds everything needed to inspect or replay the run:

    inputs/    scenario.yaml, detections.jsonl, truth.jsonl
    outputs/   one JSONL file per output message type (tracks.jsonl, ...)
    hotzone.sqlite   every message on the bus, in order
    summary.json, summary.md
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from hotzone.bus import InProcessBus
from hotzone.runtime.pipeline import Pipeline, PipelineProgress
from hotzone.runtime.stages import build_stages
from hotzone.sim.scenario import Scenario, load_scenario
from hotzone.sim.simulator import simulate_to_directory
from hotzone.store import SQLiteStore
from hotzone.types import read_jsonl, write_jsonl

OUTPUT_FILES = {
    "track": "tracks.jsonl",
    "assessment": "assessments.jsonl",
    "alert": "alerts.jsonl",
    "proposal": "proposals.jsonl",
    "decision": "decisions.jsonl",
    "task_order": "orders.jsonl",
    "audit": "audit.jsonl",
    "dead_letter": "dead_letters.jsonl",
}


def _run_directory(parent: Path, scenario: Scenario, seed: int) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    directory = parent / f"{scenario.name}-seed{seed}-{stamp}"
    suffix = 1
    while directory.exists():
        suffix += 1
        directory = parent / f"{scenario.name}-seed{seed}-{stamp}-{suffix}"
    return directory


def summary_table(progress: PipelineProgress, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("simulated time", f"{progress.elapsed_simulated_s:,.0f} s")
    for kind, count in sorted(progress.published.items()):
        table.add_row(f"input {kind}", f"{count:,}")
    for stage, outputs in sorted(progress.stage_outputs.items()):
        for kind, count in sorted(outputs.items()):
            table.add_row(f"{stage} → {kind}", f"{count:,}")
    table.add_row("dead letters", f"{progress.dead_letters:,}")
    table.add_row("messages recorded", f"{progress.recorded:,}")
    return table


def _write_outputs(store: SQLiteStore, outputs: Path) -> dict[str, int]:
    outputs.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for type_tag, file_name in OUTPUT_FILES.items():
        messages = (stored.message for stored in store.replay(types=[type_tag]))
        with open(outputs / file_name, "wb") as stream:
            counts[file_name] = write_jsonl(messages, stream)
    return counts


def run_demo(
    scenario: str | Path,
    parent: Path,
    seed: int = 1,
    duration_s: float | None = None,
    speed: float = float("inf"),
    live: bool = True,
    console: Console | None = None,
) -> Path:
    """Run ``scenario`` end to end; returns the run folder."""
    console = console or Console(stderr=True)
    loaded = load_scenario(scenario)
    run_directory = _run_directory(parent, loaded, seed)
    inputs = run_directory / "inputs"
    inputs.mkdir(parents=True)
    if loaded.source_path is not None:
        shutil.copyfile(loaded.source_path, inputs / "scenario.yaml")

    console.print(f"simulating [bold]{loaded.name}[/bold] (seed {seed}) …")
    simulation_summary = simulate_to_directory(
        loaded, inputs, seed=seed, duration_s=duration_s, progress=live
    )
    stages = build_stages(loaded)
    title = f"hotzone demo: {loaded.name}"
    store = SQLiteStore(run_directory / "hotzone.sqlite")
    try:
        progress = _run_pipeline(
            store, stages, read_jsonl(inputs / "detections.jsonl"), live, console, title
        )
        output_counts = _write_outputs(store, run_directory / "outputs")
        message_counts = Counter(
            {tag: store.count(tag) for tag in ("detection", "report", "event", *OUTPUT_FILES)}
        )
    finally:
        store.close()

    summary: dict[str, Any] = {
        "scenario": loaded.name,
        "seed": seed,
        "simulation": simulation_summary,
        "simulated_seconds": progress.elapsed_simulated_s,
        "inputs": dict(progress.published),
        "stage_outputs": {name: dict(counts) for name, counts in progress.stage_outputs.items()},
        "dead_letters": progress.dead_letters,
        "recorded_messages": progress.recorded,
        "stored_by_type": {tag: count for tag, count in message_counts.items() if count},
        "output_files": output_counts,
    }
    (run_directory / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (run_directory / "summary.md").write_text(_summary_markdown(summary))
    if not live:
        console.print(summary_table(progress, title))
    return run_directory


def _run_pipeline(
    store: SQLiteStore,
    stages: list[Any],
    messages: Any,
    live: bool,
    console: Console,
    title: str,
) -> PipelineProgress:
    async def main() -> PipelineProgress:
        bus = InProcessBus()
        if not live:
            pipeline = Pipeline(bus, store, stages)
            result = await pipeline.run(messages)
        else:
            with Live(console=console, refresh_per_second=4) as display:

                def show(progress: PipelineProgress) -> None:
                    display.update(summary_table(progress, title))

                pipeline = Pipeline(bus, store, stages, on_progress=show)
                result = await pipeline.run(messages)
        await bus.close()
        return result

    return asyncio.run(main())


def _summary_markdown(summary: dict[str, Any]) -> str:
    lines = [
        f"# hotzone run: {summary['scenario']} (seed {summary['seed']})",
        "",
        f"- simulated: {summary['simulated_seconds']:.0f} s",
        f"- dead letters: {summary['dead_letters']}",
        f"- messages recorded: {summary['recorded_messages']}",
        "",
        "| message type | stored |",
        "| --- | ---: |",
    ]
    lines += [f"| {tag} | {count} |" for tag, count in summary["stored_by_type"].items()]
    lines += ["", "| output file | records |", "| --- | ---: |"]
    lines += [f"| {name} | {count} |" for name, count in summary["output_files"].items()]
    return "\n".join(lines) + "\n"
