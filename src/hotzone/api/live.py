"""Serving the picture: of a finished run (its store), or of a scenario played live.

`serve_run` serves a run folder written by ``hotzone demo``; `serve_scenario` simulates a
scenario into a new run folder and replays it through the pipeline at ``speed`` times real
time, while the page follows the bus. Both block until interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import socket
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from hotzone.api.app import ApiConfig, create_app
from hotzone.api.users import DEMO_USERS_FILE
from hotzone.bus import InProcessBus
from hotzone.c2.webauthn import RelyingParty
from hotzone.runtime.demo import (
    SIMULATION_WINDOW_S,
    simulated_effector_links,
    start_simulated_effectors,
)
from hotzone.runtime.metrics import PipelineMetrics
from hotzone.runtime.pipeline import Pipeline
from hotzone.runtime.stages import build_stages
from hotzone.sim.scenario import load_scenario
from hotzone.sim.simulator import simulate
from hotzone.store import SQLiteStore
from hotzone.types import AnyMessage, RunMode

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
#: What the web server holds for its clients: requests and WebSockets at once (beyond, 503),
#: seconds an idle keep-alive connection stays, the largest WebSocket message it takes
#: (the page sends only small acknowledgements), and the largest incomplete HTTP event.
LIMIT_CONCURRENCY = 512
TIMEOUT_KEEP_ALIVE_S = 5
WS_MAX_SIZE = 64 * 1024
H11_MAX_INCOMPLETE_EVENT_SIZE = 64 * 1024


class RunFolderError(ValueError):
    """A run folder that cannot be served, with the reason."""


@dataclass(frozen=True)
class Tls:
    """The certificate and key the picture is served with over HTTPS."""

    certificate: Path
    key: Path


def url_of(host: str, port: int, tls: Tls | None = None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{shown}:{port}/"


def _run_server(app: FastAPI, host: str, port: int, tls: Tls | None) -> None:
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        # asyncio's loop, as before uvloop was installed for the nodes: uvloop 0.21's
        # server-side TLS leaves a refused client connected (MagicStack/uvloop#707), and
        # this server's TLS refusals are tested on asyncio's loop.
        loop="asyncio",
        ws="websockets-sansio",
        ssl_certfile=str(tls.certificate) if tls else None,
        ssl_keyfile=str(tls.key) if tls else None,
        limit_concurrency=LIMIT_CONCURRENCY,
        timeout_keep_alive=TIMEOUT_KEEP_ALIVE_S,
        ws_max_size=WS_MAX_SIZE,
        h11_max_incomplete_event_size=H11_MAX_INCOMPLETE_EVENT_SIZE,
    )


class InLoopServer(uvicorn.Server):
    """A uvicorn server run as one task among others in an event loop (``await serve()``).

    It leaves Ctrl-C to whoever owns the loop: several of them in one loop would otherwise
    each replace the process's signal handlers and restore them out of order. Stop one by
    setting ``should_exit`` and awaiting its task."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def in_loop_server(app: FastAPI, host: str, port: int) -> InLoopServer:
    """The server for ``app`` as `serve_run` configures it, to run inside a running loop
    (on a socket bound beforehand: ``await server.serve(sockets=[listener])``)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        ws="websockets-sansio",
        lifespan="on",
        # Open WebSockets of the pages would otherwise hold a shutdown for ever.
        timeout_graceful_shutdown=2,
        limit_concurrency=LIMIT_CONCURRENCY,
        timeout_keep_alive=TIMEOUT_KEEP_ALIVE_S,
        ws_max_size=WS_MAX_SIZE,
        h11_max_incomplete_event_size=H11_MAX_INCOMPLETE_EVENT_SIZE,
    )
    return InLoopServer(config)


def bind_listener(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``; OSError when the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family)


def run_folder_config(run_directory: Path, users_file: Path, nation: str) -> ApiConfig:
    store = run_directory / "hotzone.sqlite"
    if not store.is_file():
        raise RunFolderError(f"{run_directory}: no hotzone.sqlite (is this a run folder?)")
    scenario_file = run_directory / "inputs" / "scenario.yaml"
    return ApiConfig(
        response_note=_recorded_response_note(run_directory),
        store_path=store,
        nation=nation,
        users_file=users_file,
        scenario=scenario_file if scenario_file.is_file() else None,
        runs_directory=run_directory.parent,
    )


def _recorded_response_note(run_directory: Path) -> str:
    """What the run's summary says about its response stage when it had none."""
    try:
        summary = json.loads((run_directory / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    note = summary.get("response_stage", "") if isinstance(summary, dict) else ""
    return note if isinstance(note, str) and note.startswith("no response stage") else ""


def serve_run(
    run_directory: Path,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    users_file: Path = DEMO_USERS_FILE,
    nation: str = "PL",
    announce: Callable[[str], None] = print,
    tls: Tls | None = None,
) -> None:
    app = create_app(run_folder_config(run_directory, users_file, nation))
    announce(f"hotzone COP: {url_of(host, port, tls)} (run {run_directory})")
    _run_server(app, host, port, tls)


def serve_scenario(
    scenario: str | Path,
    parent: Path,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    users_file: Path = DEMO_USERS_FILE,
    nation: str = "PL",
    seed: int = 1,
    speed: float = 1.0,
    duration_s: float | None = None,
    announce: Callable[[str], None] = print,
    tls: Tls | None = None,
    effect_model: bool = False,
) -> None:
    """The scenario's effectors that its gateway file names are simulated behind the real
    gateways (SAPIENT nodes, MAVLink vehicles: `hotzone.runtime.effectors.exercise`), so
    approved orders go through them; ``effect_model`` leaves every order to the in-process
    effect model instead."""
    loaded = load_scenario(scenario)
    links = simulated_effector_links(loaded, effect_model)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_directory = parent / f"{loaded.name}-seed{seed}-{stamp}-live"
    inputs = run_directory / "inputs"
    inputs.mkdir(parents=True)
    if loaded.source_path is not None:
        (inputs / "scenario.yaml").write_bytes(Path(loaded.source_path).read_bytes())
    store_path = run_directory / "hotzone.sqlite"
    SQLiteStore(store_path).close()  # the schema exists before the API opens the file
    bus = InProcessBus()
    # An exercise: the feed is simulated (and the effect model closes the loop into it),
    # the people deciding in the browser are real, so c2 accepts only enrolled operators.
    origin = f"{'https' if tls else 'http'}://localhost:{port}"
    relying = RelyingParty("localhost", frozenset({origin}))
    run = build_stages(
        loaded,
        seed=seed,
        mode=RunMode.EXERCISE,
        nation=nation,
        relying_party=relying,
        gateway_effectors=tuple(links),
    )

    metrics = PipelineMetrics()

    async def play() -> None:
        # The pipeline records into its own connection; the API reads the bus live.
        store = SQLiteStore(store_path)
        try:
            pipeline = Pipeline(bus, store, run.stages, nation=nation, speed=speed)
            metrics.watch_pipeline(pipeline)
            messages = simulate(
                loaded,
                seed=seed,
                duration_s=duration_s,
                include_truth=True,
                window_s=SIMULATION_WINDOW_S,
                removals=run.removals,
            )
            effectors = await start_simulated_effectors(bus, nation, loaded, run, links, pipeline)
            try:
                await _until_interrupted(pipeline, messages)
            finally:
                if effectors is not None:
                    await effectors.close()
        finally:
            store.close()

    config = ApiConfig(
        store_path=store_path,
        nation=nation,
        users_file=users_file,
        scenario=scenario,
        runs_directory=parent,
        rp_id="localhost",
        origins=(origin,),
        response_note=run.response_note,
    )
    app = create_app(config, bus=bus, background=play, pipeline_metrics=metrics.text)
    announce(f"hotzone COP: {url_of(host, port, tls)} (live, {_speed_text(speed)})")
    _run_server(app, host, port, tls)


async def _until_interrupted(pipeline: Pipeline, messages: Iterable[AnyMessage]) -> None:
    """Run ``pipeline`` over ``messages``; when cancelled (Ctrl-C stops the server), end the
    feed there and let the stages finish as at the end of a run (so c2 closes its audit log
    with its final signed checkpoint and the recorder stores it), then stop."""
    interrupted = False

    def feed() -> Iterator[AnyMessage]:
        for message in messages:
            if interrupted:
                return
            yield message

    running = asyncio.ensure_future(pipeline.run(feed()))
    try:
        await asyncio.shield(running)
    except asyncio.CancelledError:
        interrupted = True
        await running
        raise


def _speed_text(speed: float) -> str:
    return "as fast as possible" if math.isinf(speed) else f"{speed:g}x real time"
