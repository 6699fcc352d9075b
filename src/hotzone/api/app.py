"""The FastAPI app of the common operational picture: REST, a WebSocket stream, the page.

``create_app(config)`` builds everything; nothing is built at import time. The store is
opened in the app's lifespan, on the event loop's thread, and every endpoint is async, so
the one SQLite connection is only ever used from that thread.

Every endpoint needs a logged-in user (bearer token or the ``hz_session`` cookie): what a
user sees is filtered by the releasability label of each message against the user's
nation (and, when the page's nation selector is used, against that nation as well).

The API decides nothing (docs/c2.md): it is a client of the bus. A decision is prepared
here (`/api/decisions/challenge` gives the exact decision and its WebAuthn challenge),
signed by the operator's own authenticator in the browser, published on
``hz.<nation>.c2.decision`` as it was signed, and answered with what c2 published for it
(`DecisionOutcome`: 200, or 403/409 with c2's reason, which c2 has audited). Proposal state,
abort state and orders are shown as c2 published them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import math
import secrets
import time as wallclock
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from fastapi import Depends, FastAPI, HTTPException, Query, WebSocket
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.requests import HTTPConnection, Request
from starlette.websockets import WebSocketDisconnect

from hotzone.api.allied import name_allied_copy
from hotzone.api.layers import scenario_layers
from hotzone.api.picture import PictureState, to_builtins
from hotzone.api.releasability import releasable_to_all
from hotzone.api.sessions import LoginGuard, Session, SessionTable, close_sockets
from hotzone.api.stream import StreamHub, Update
from hotzone.api.users import DEMO_USERS_FILE, User, hash_password, load_users, verify_password
from hotzone.api.webauthn_routes import webauthn_router
from hotzone.bus import Bus
from hotzone.c2.audit import verify_chain
from hotzone.c2.authority import ABORT_HASH, RESUME_HASH
from hotzone.c2.keys import RegistryFile
from hotzone.c2.trust import operators_path, trusted_gateway_keys, trusted_node_keys
from hotzone.c2.webauthn import RelyingParty
from hotzone.runtime.routing import subject_for
from hotzone.runtime.timeline import timeline_events
from hotzone.sim.scenario import Scenario, ScenarioError, load_scenario, shipped_scenarios
from hotzone.store import SQLiteStore, Store
from hotzone.types import (
    AlertState,
    AnyMessage,
    AuditRecord,
    DeadLetter,
    Decision,
    DecisionOutcome,
    Event,
    OperatorRole,
    TaskOrder,
    Verdict,
    WebAuthnAssertion,
    from_json,
    to_json,
)
from hotzone.types.signing import decision_challenge

STATIC_DIRECTORY = Path(__file__).resolve().parent.parent / "web" / "static"
BORDERS_FILE = Path(__file__).resolve().parent.parent / "geo" / "data" / "borders-europe.json"
SESSION_COOKIE = "hz_session"
FILTERED_HEADER = "Hz-Filtered-For"
"""On every answer to a logged-in user: the nations whose releasability it was filtered for."""
ID_PATTERN = r"^[A-Za-z0-9_.:\-]{1,128}$"
NATION_PATTERN = r"^[A-Z]{2,3}$"


@dataclass(frozen=True)
class ApiConfig:
    """What one API process serves."""

    store_path: Path | str = ":memory:"
    nation: str = "PL"
    users_file: Path = DEMO_USERS_FILE
    scenario: str | Path | None = None
    runs_directory: Path = Path("runs")
    #: At most 5 batches a second per client: the page draws at most 4 times a second.
    stream_batch_interval_s: float = 0.2
    stream_max_pending: int = 10_000
    #: The nation's configuration directory (trusted c2 node keys, enrolled operators);
    #: None: ``$HOTZONE_HOME`` or ``~/.config/hotzone``.
    home: Path | None = None
    #: WebAuthn relying party id: the page's host name (browsers refuse IP addresses).
    rp_id: str = "localhost"
    #: Origins the page is served from, for WebAuthn (default: the request's scheme and
    #: port on ``rp_id``, e.g. http://localhost:8080).
    origins: tuple[str, ...] = ()
    #: How long a decision waits for c2's answer before the API answers 504.
    decision_timeout_s: float = 10.0
    #: How long a prepared decision may wait for the operator's authenticator.
    challenge_lifetime_s: float = 300.0
    #: Failed logins (per user name and per address) before each attempt must wait.
    login_free_attempts: int = 10
    #: A session ends after this long without a request, and after ``session_lifetime_s``.
    session_idle_timeout_s: float = 1800.0
    session_lifetime_s: float = 12 * 3600.0
    max_sessions_per_user: int = 5
    #: Why the run has no response stage (no c2 config), shown on the page; "" when it has.
    response_note: str = ""


@dataclass
class ApiState:
    """Everything the endpoints share; built by `create_app`, filled in the lifespan."""

    config: ApiConfig
    users: dict[str, User]
    picture: PictureState = field(default_factory=PictureState)
    hub: StreamHub = field(default_factory=StreamHub)
    sessions: SessionTable = field(default_factory=SessionTable)
    guard: LoginGuard = field(default_factory=LoginGuard)
    #: Checked for unknown user names, so they take as long as known ones.
    unknown_user_hash: str = ""
    store: Store | None = None
    bus: Bus | None = None
    scenario: Scenario | None = None
    layers: dict[str, Any] = field(default_factory=dict)
    #: The label of the scenario's layers (features without their own label take it).
    layer_label: str = "NATO"
    #: Decisions prepared for signing, by decision id: (decision, who, prepared at).
    prepared: dict[str, tuple[Decision, str, float]] = field(default_factory=dict)
    #: Requests waiting for c2's answer to their decision, by decision id.
    waiting: dict[str, asyncio.Future[DecisionOutcome]] = field(default_factory=dict)
    #: What /metrics counts (Prometheus counters), by metric and label value.
    counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    #: The Prometheus text of a live pipeline in this process (`hotzone.runtime.metrics`).
    pipeline_metrics: Callable[[], bytes] | None = None

    def ingest(self, message: AnyMessage, subject: str | None = None) -> None:
        """Into the picture and the stream; ``subject``, where known, names allied copies
        after their origin (`name_allied_copy`)."""
        if subject is not None:
            message = name_allied_copy(subject, message)
        if (
            isinstance(message, TaskOrder)
            and message.issuer_key_id not in self.picture.trusted_issuers
        ):
            # A c2 node enrolled since the start (its key trusted in the configuration).
            self.picture.trusted_issuers = trusted_node_keys(self.config.home)
        if isinstance(message, Event) and self.picture.engagements.signer_unknown(message):
            # A gateway enrolled since the start (its key trusted in the configuration).
            self.picture.engagements.trusted_gateways = trusted_gateway_keys(self.config.home)
        update = self.picture.ingest(message)
        self.counts["hotzone_picture_messages_total"][type(message).__name__] += 1
        if isinstance(message, DeadLetter):
            self.counts["hotzone_dead_letters_total"][message.source] += 1
        if isinstance(message, DecisionOutcome):
            waiter = self.waiting.pop(message.decision_id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(message)
        if update is not None:
            self.hub.publish(update)
        for further in self.picture.pending_updates:
            self.hub.publish(further)
        self.picture.pending_updates.clear()

    def keep(self, message: AnyMessage) -> None:
        """Into the store, the picture and the stream (a recorded run has no bus)."""
        if self.store is None:
            raise RuntimeError("the API is not started")
        self.store.append(subject_for(message, self.config.nation), message)
        self.ingest(message)

    async def publish(self, message: AnyMessage) -> None:
        """Onto the nation's bus, for c2 (and the recorder) to take; the picture follows the
        bus, so it shows the message as everyone else receives it."""
        if self.bus is None:
            raise HTTPException(409, "this run is finished: no c2 is running to take it")
        await self.bus.publish(subject_for(message, self.config.nation), to_json(message))

    def config_label(self) -> str:
        """The label of what this nation's c2 publishes about itself (abort, resume)."""
        state = self.picture.c2_state
        return state.releasability if state is not None else f"NATIONAL {self.config.nation}"

    def prepare(self, decision: Decision, username: str) -> None:
        cutoff = wallclock.monotonic() - self.config.challenge_lifetime_s
        for stale in [k for k, (_, _, at) in self.prepared.items() if at < cutoff]:
            del self.prepared[stale]
        if len(self.prepared) >= 10_000:
            raise HTTPException(429, "too many decisions waiting for a signature")
        self.prepared[decision.decision_id] = (decision, username, wallclock.monotonic())

    def take_prepared(self, decision_id: str, username: str) -> Decision:
        """The decision prepared for ``username``: the browser cannot change what it signs."""
        entry = self.prepared.get(decision_id)
        if entry is None or entry[1] != username:
            raise HTTPException(404, f"no decision {decision_id} prepared for {username}")
        del self.prepared[decision_id]
        decision, _, at = entry
        if wallclock.monotonic() - at > self.config.challenge_lifetime_s:
            raise HTTPException(409, f"decision {decision_id} was prepared too long ago")
        return decision

    async def submit(self, decision: Decision) -> DecisionOutcome:
        """Publish ``decision`` for c2 and wait for c2's `DecisionOutcome`."""
        waiter: asyncio.Future[DecisionOutcome] = asyncio.get_running_loop().create_future()
        self.waiting[decision.decision_id] = waiter
        try:
            await self.publish(decision)
            return await asyncio.wait_for(waiter, self.config.decision_timeout_s)
        except TimeoutError:
            raise HTTPException(504, "c2 did not answer the decision in time") from None
        finally:
            self.waiting.pop(decision.decision_id, None)

    def now(self) -> datetime:
        """The picture's clock (simulated in a replayed run), else the wall clock."""
        return self.picture.clock or datetime.now(UTC)


# ---- request bodies ---------------------------------------------------------------------


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class ChallengeRequest(BaseModel):
    """What the operator wants to sign: a verdict on a proposal, or an abort/resume."""

    target: str = Field(pattern=ID_PATTERN, description="a proposal id, or 'abort' or 'resume'")
    verdict: Verdict = Verdict.APPROVE
    comment: str = Field(default="", max_length=500)
    credential_id: str = Field(
        default="", max_length=1024, description="the authenticator credential that will sign"
    )


class AssertionBody(BaseModel):
    """The authenticator's answer, base64url fields as the browser gives them."""

    credential_id: str = Field(max_length=1024)
    authenticator_data: str = Field(max_length=8192)
    client_data_json: str = Field(max_length=8192)
    signature: str = Field(max_length=1024)
    user_handle: str | None = Field(default=None, max_length=1024)


class SignedDecisionRequest(BaseModel):
    decision_id: str = Field(pattern=ID_PATTERN)
    assertion: AssertionBody | None = None


# ---- the app ----------------------------------------------------------------------------


def create_app(
    config: ApiConfig | None = None,
    bus: Bus | None = None,
    background: Callable[[], Coroutine[Any, Any, None]] | None = None,
    pipeline_metrics: Callable[[], bytes] | None = None,
) -> FastAPI:
    """The API and the page for ``config``; with ``bus``, the picture follows it live;
    ``background`` (e.g. the pipeline of a live run) runs while the app runs, and
    ``pipeline_metrics`` gives its Prometheus text, which ``/metrics`` appends."""
    config = config or ApiConfig()
    state = ApiState(
        config=config,
        users=load_users(config.users_file),
        bus=bus,
        sessions=SessionTable(
            idle_timeout_s=config.session_idle_timeout_s,
            lifetime_s=config.session_lifetime_s,
            max_per_user=config.max_sessions_per_user,
        ),
        guard=LoginGuard(free_attempts=config.login_free_attempts),
        unknown_user_hash=hash_password(secrets.token_urlsafe(16)),
        pipeline_metrics=pipeline_metrics,
    )
    state.picture.nation = config.nation  # alliance tracks name its tracks LT:suwalki-1
    if config.scenario is not None:
        state.scenario = load_scenario(config.scenario)
        state.layers = scenario_layers(state.scenario)
        state.layer_label = state.scenario.releasability

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state.store = SQLiteStore(config.store_path)
        state.picture.trusted_issuers = trusted_node_keys(config.home)
        # The engagements show only the lifecycle steps c2 would believe (docs/effectors.md).
        state.picture.engagements.trusted_gateways = trusted_gateway_keys(config.home)
        for stored in state.store.replay():
            state.ingest(stored.message, stored.subject)
        tasks = []
        if bus is not None:
            ready = asyncio.Event()
            tasks.append(asyncio.create_task(_follow_bus(state, ready)))
            await ready.wait()  # subscribed before the pipeline publishes anything
        if background is not None:
            tasks.append(asyncio.create_task(background()))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            state.store.close()

    app = FastAPI(
        title="hotzone common operational picture",
        version="0.1.0",
        description="The fused picture, alerts and human decisions of a hotzone run. Every "
        "endpoint needs a login; responses are filtered by the user's nation.",
        lifespan=lifespan,
    )
    app.state.hotzone = state

    @app.middleware("http")
    async def refuse_foreign_origins(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """A state-changing request from a page of another origin is refused (CSRF)."""
        if request.method not in ("GET", "HEAD", "OPTIONS") and not _origin_allowed(
            config, request
        ):
            state.counts["hotzone_http_refusals_total"]["origin"] += 1
            return JSONResponse({"detail": "origin not allowed"}, status_code=403)
        return await call_next(request)

    @app.middleware("http")
    async def say_what_was_filtered(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Every answer to a logged-in user says which nations it was filtered for."""
        response = await call_next(request)
        session = _session_of(state, request)
        if session is not None and request.url.path.startswith("/api/"):
            nations = [session.user.nation]
            view_as = request.query_params.get("view_as")
            if view_as:
                nations.append(view_as)
            response.headers[FILTERED_HEADER] = " ".join(nations)
        return response

    _add_routes(app, state)
    registry = RegistryFile(operators_path(config.home))
    app.include_router(
        webauthn_router(session_user, registry, lambda request: relying_party(config, request))
    )
    if STATIC_DIRECTORY.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIRECTORY), name="static")
    return app


async def _follow_bus(state: ApiState, ready: asyncio.Event) -> None:
    """Live mode: every message on the nation's subjects updates the picture."""
    assert state.bus is not None
    subscription = await state.bus.subscribe(f"hz.{state.config.nation}.>", 65536)
    ready.set()
    async for bus_message in subscription:
        try:
            message = from_json(bus_message.payload)
        except (msgspec.DecodeError, msgspec.ValidationError):
            continue  # clock ticks and undecodable payloads are the recorder's business
        state.ingest(message, bus_message.subject)


def _session_of(state: ApiState, request: HTTPConnection) -> Session | None:
    token = request.cookies.get(SESSION_COOKIE)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
    return state.sessions.get(token or "")


def current_session(request: HTTPConnection) -> Session:
    """The logged-in session of a request: bearer token, else the session cookie."""
    session = _session_of(request.app.state.hotzone, request)
    if session is None:
        raise HTTPException(401, "log in first (POST /api/login)")
    return session


def viewer_nations(
    session: Annotated[Session, Depends(current_session)],
    view_as: Annotated[
        str | None,
        Query(pattern=NATION_PATTERN, description="also filter for this nation"),
    ] = None,
) -> tuple[str, ...]:
    nations = (session.user.nation,)
    return (*nations, view_as) if view_as else nations


def session_user(session: Annotated[Session, Depends(current_session)]) -> User:
    return session.user


def _origin_allowed(config: ApiConfig, connection: HTTPConnection) -> bool:
    """Whether the request's ``Origin`` (browsers send it) is this site's. Clients that
    send none (the CLI, scripts) are not browsers a foreign page could drive."""
    origin = connection.headers.get("origin")
    if origin is None:
        return True
    if origin in config.origins:
        return True
    host = connection.headers.get("host", "")
    scheme = "https" if connection.url.scheme in ("https", "wss") else "http"
    return origin == f"{scheme}://{host}"


def relying_party(config: ApiConfig, request: HTTPConnection) -> RelyingParty:
    """The WebAuthn relying party a request is served as (rp id and allowed origins)."""
    if config.origins:
        return RelyingParty(config.rp_id, frozenset(config.origins))
    port = request.url.port
    origin = f"{request.url.scheme}://{config.rp_id}" + (f":{port}" if port else "")
    return RelyingParty(config.rp_id, frozenset({origin}))


def deciding_user(session: Annotated[Session, Depends(current_session)]) -> User:
    if session.user.role == OperatorRole.OBSERVER:
        raise HTTPException(403, "observers may look but not act")
    return session.user


# Dependency aliases, read as types in the endpoint signatures.
Nations = Annotated[tuple[str, ...], Depends(viewer_nations)]
Actor = Annotated[User, Depends(deciding_user)]
CurrentSession = Annotated[Session, Depends(current_session)]
Ident = Annotated[str, PathParam(pattern=ID_PATTERN)]


def _add_routes(app: FastAPI, state: ApiState) -> None:
    def visible(label: str, nations: tuple[str, ...]) -> bool:
        return releasable_to_all(label, nations)

    @app.get("/", include_in_schema=False)
    async def index() -> Response:
        page = STATIC_DIRECTORY / "index.html"
        if not page.is_file():
            return PlainTextResponse("the web page is not built", status_code=404)
        return FileResponse(page)

    @app.post("/api/login", tags=["session"])
    async def login(body: LoginRequest, request: Request) -> JSONResponse:
        address = request.client.host if request.client else "?"
        keys = (f"user:{body.username}", f"address:{address}")
        wait = state.guard.retry_after(keys)
        if wait > 0:
            state.counts["hotzone_login_refusals_total"]["rate_limited"] += 1
            raise HTTPException(
                429,
                "too many failed logins: try again later",
                headers={"Retry-After": str(math.ceil(wait))},
            )
        user = state.users.get(body.username)
        # scrypt off the event loop, and as long for an unknown name as for a known one.
        stored = user.password_hash if user is not None else state.unknown_user_hash
        matches = await asyncio.to_thread(verify_password, body.password, stored)
        if user is None or not matches:
            state.counts["hotzone_login_refusals_total"]["wrong_password"] += 1
            state.guard.failed(keys)
            raise HTTPException(401, "unknown user or wrong password")
        state.guard.succeeded(keys[:1])
        session, ended = state.sessions.open(user)
        await close_sockets(ended)
        response = JSONResponse({"token": session.token, "user": _user_view(user)})
        response.set_cookie(
            SESSION_COOKIE,
            session.token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            max_age=int(state.config.session_lifetime_s),
        )
        return response

    @app.post("/api/logout", tags=["session"])
    async def logout(session: CurrentSession) -> JSONResponse:
        state.sessions.close(session.token)
        await close_sockets([session])
        response = JSONResponse({"logged_out": session.user.username})
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/api/me", tags=["session"])
    async def me(session: CurrentSession) -> dict[str, Any]:
        return _user_view(session.user)

    @app.get("/api/tracks", tags=["picture"])
    async def tracks(
        nations: Nations,
        status: Literal["tentative", "confirmed", "deleted"] | None = None,
        at: Annotated[float | None, Query(description="POSIX time: replay")] = None,
    ) -> list[dict[str, Any]]:
        if at is not None:
            views = state.picture.tracks_at(at)
        else:
            views = [state.picture.track_view(e) for e in state.picture.tracks.values()]
        return [
            v
            for v in views
            if visible(v["releasability"], nations) and (status is None or v["status"] == status)
        ]

    @app.get("/api/replay", tags=["picture"])
    async def replay(
        nations: Nations,
        at: Annotated[float, Query(description="POSIX time")],
        trail: Annotated[int, Query(ge=0, le=120, description="trail points per track")] = 30,
    ) -> dict[str, Any]:
        """The picture as it stood at ``at``: tracks with the class and identity they had
        then (and their trails), alerts and proposals as they were, the clock."""
        try:
            clock = datetime.fromtimestamp(at, UTC)
        except (OverflowError, OSError, ValueError) as error:
            raise HTTPException(422, f"at is not a usable POSIX time: {error}") from None
        picture = state.picture
        return {
            "clock": clock.isoformat(),
            "tracks": [
                v for v in picture.tracks_at(at, trail) if visible(v["releasability"], nations)
            ],
            "alerts": [
                to_builtins(a)
                for a in sorted(picture.alerts_at(at), key=lambda a: (a.priority, a.time))
                if visible(a.releasability, nations)
            ],
            "proposals": [
                picture.proposal_view_at(p, at)
                for p in picture.proposals.values()
                if p.time.timestamp() <= at and visible(p.releasability, nations)
            ],
        }

    @app.get("/api/events", tags=["picture"])
    async def events(nations: Nations) -> list[dict[str, Any]]:
        """The run's events in time order, for the replay timeline: alerts (when raised),
        proposals, decisions, orders, engagement outcomes, GNSS jamming, cyber events."""
        picture = state.picture
        # Filtered before the events are made: a spell of jamming starts, for each viewer,
        # at the first estimate that viewer may see.
        candidates: list[AnyMessage] = [
            *picture.alert_log,
            *picture.proposals.values(),
            *picture.decisions,
            *picture.orders,
            *picture.event_log,
        ]
        messages = [m for m in candidates if visible(m.releasability, nations)]
        engagements = [
            engagement
            for engagement in picture.engagements.rows()
            if visible(engagement.order.releasability, nations)
        ]
        return [event.view() for event in timeline_events(messages, engagements)]

    @app.get("/api/tracks/{track_id}", tags=["picture"])
    async def track(track_id: Ident, nations: Nations) -> dict[str, Any]:
        entry = state.picture.tracks.get(track_id)
        if entry is None or not visible(entry.track.releasability, nations):
            raise HTTPException(404, f"no track {track_id}")
        return state.picture.track_view(entry)

    @app.get("/api/tracks/{track_id}/history", tags=["picture"])
    async def track_history(track_id: Ident, nations: Nations) -> dict[str, Any]:
        entry = state.picture.tracks.get(track_id)
        if entry is None or not visible(entry.track.releasability, nations):
            raise HTTPException(404, f"no track {track_id}")
        points = [
            {"time": t, "lat_deg": lat, "lon_deg": lon, "altitude_m": h}
            for t, lat, lon, h in entry.history
        ]
        return {"track_id": track_id, "points": points}

    @app.get("/api/tracks/{track_id}/details", tags=["picture"])
    async def track_details(track_id: Ident, nations: Nations) -> dict[str, Any]:
        """A hooked track: its view, class probabilities and reasons, uncertainty, history
        of altitude and speed, and the alerts, proposals and orders about it."""
        entry = state.picture.tracks.get(track_id)
        if entry is None or not visible(entry.track.releasability, nations):
            raise HTTPException(404, f"no track {track_id}")
        details = state.picture.track_details(entry)
        picture = state.picture
        details["alerts"] = [
            to_builtins(a)
            for a in sorted(picture.alerts.values(), key=lambda a: (a.priority, a.time))
            if a.track_id == track_id and visible(a.releasability, nations)
        ]
        proposals = [
            p
            for p in picture.proposals.values()
            if p.track_id == track_id and visible(p.releasability, nations)
        ]
        details["proposals"] = [picture.proposal_view(p) for p in proposals]
        details["orders"] = [
            to_builtins(o)
            for o in picture.orders
            if o.track_id == track_id and visible(o.releasability, nations)
        ]
        return details

    @app.get("/api/assessments", tags=["picture"])
    async def assessments(nations: Nations) -> list[dict[str, Any]]:
        return [
            to_builtins(a)
            for a in state.picture.assessments.values()
            if visible(a.releasability, nations)
        ]

    @app.get("/api/alerts", tags=["alerts"])
    async def alerts(
        nations: Nations, alert_state: Annotated[AlertState | None, Query(alias="state")] = None
    ) -> list[dict[str, Any]]:
        return [
            to_builtins(a)
            for a in sorted(state.picture.alerts.values(), key=lambda a: (a.priority, a.time))
            if visible(a.releasability, nations) and (alert_state is None or a.state == alert_state)
        ]

    @app.post("/api/alerts/{alert_id}/acknowledge", tags=["alerts"])
    async def acknowledge(alert_id: Ident, user: Actor) -> dict[str, Any]:
        alert = state.picture.alerts.get(alert_id)
        if alert is None or not visible(alert.releasability, (user.nation,)):
            raise HTTPException(404, f"no alert {alert_id}")
        if alert.state != AlertState.OPEN:
            raise HTTPException(409, f"alert {alert_id} is already {alert.state}")
        now = state.now()
        acknowledged = msgspec.structs.replace(
            alert,
            state=AlertState.ACKNOWLEDGED,
            acknowledged_by=user.username,
            acknowledged_at=now,
            time=max(now, alert.time),
        )
        if state.bus is not None:
            # c2 puts the acknowledgement on the audit record when it takes it off the bus.
            await state.publish(acknowledged)
        else:
            state.keep(acknowledged)  # a recorded run: kept in its store, nothing to audit
        return to_builtins(acknowledged)

    @app.get("/api/proposals", tags=["c2"])
    async def proposals(nations: Nations) -> list[dict[str, Any]]:
        return [
            state.picture.proposal_view(p)
            for p in state.picture.proposals.values()
            if visible(p.releasability, nations)
        ]

    @app.get("/api/proposals/{proposal_id}", tags=["c2"])
    async def proposal(proposal_id: Ident, nations: Nations) -> dict[str, Any]:
        found = state.picture.proposals.get(proposal_id)
        if found is None or not visible(found.releasability, nations):
            raise HTTPException(404, f"no proposal {proposal_id}")
        return state.picture.proposal_view(found)

    # Deciding needs only a login, not a role: who may decide what is c2's to judge, and a
    # refusal there is on the audit record (an observer's attempt included).
    @app.post("/api/decisions/challenge", tags=["c2"])
    async def prepare_decision(body: ChallengeRequest, session: CurrentSession) -> dict[str, Any]:
        """The exact decision to sign and its WebAuthn challenge (SHA-256 of its bytes)."""
        user = session.user
        if body.target in (ABORT_HASH, RESUME_HASH):
            target_hash, label = body.target, state.config_label()
        else:
            found = state.picture.proposals.get(body.target)
            if found is None or not visible(found.releasability, (user.nation,)):
                raise HTTPException(404, f"no proposal {body.target}")
            target_hash, label = found.content_hash, found.releasability
        decision = Decision(
            decision_id=f"dec-{secrets.token_hex(8)}",
            time=state.now(),
            proposal_hash=target_hash,
            verdict=body.verdict,
            operator_id=user.username,
            role=user.role,
            key_id=body.credential_id,
            signature="",
            comment=body.comment,
            releasability=label,
        )
        state.prepare(decision, user.username)
        return {
            "decision": to_builtins(decision),
            "challenge": _b64url(decision_challenge(decision)),
            "rp_id": state.config.rp_id,
            "allow_credentials": [body.credential_id] if body.credential_id else [],
        }

    @app.post("/api/decisions", tags=["c2"])
    async def decide(body: SignedDecisionRequest, session: CurrentSession) -> dict[str, Any]:
        """Publish a prepared decision with the authenticator's assertion, answer c2's word.

        200: c2 counted it; 403: c2 refused who or what signed it; 409: c2 refused it now
        (proposal settled or expired, abort in force, a replay); 504: no answer from c2.
        """
        prepared = state.take_prepared(body.decision_id, session.user.username)
        assertion = None
        if body.assertion is not None:
            assertion = WebAuthnAssertion(**body.assertion.model_dump())
        decision = msgspec.structs.replace(prepared, assertion=assertion)
        outcome = await state.submit(decision)
        status = 200 if outcome.accepted else (409 if outcome.code == "conflict" else 403)
        answer = {"decision_id": decision.decision_id, **_outcome_view(outcome)}
        proposal = state.picture.proposal_by_hash(decision.proposal_hash)
        if proposal is not None:
            answer["proposal"] = state.picture.proposal_view(proposal)
        return _answer(status, answer)

    @app.get("/api/decisions", tags=["c2"])
    async def decisions(nations: Nations) -> list[dict[str, Any]]:
        views = []
        for decision in state.picture.decisions:
            if visible(decision.releasability, nations):
                view = to_builtins(decision)
                outcome = state.picture.outcomes.get(decision.decision_id)
                view["outcome"] = _outcome_view(outcome) if outcome is not None else None
                views.append(view)
        return views

    @app.get("/api/orders", tags=["c2"])
    async def orders(nations: Nations) -> list[dict[str, Any]]:
        return [to_builtins(o) for o in state.picture.orders if visible(o.releasability, nations)]

    @app.get("/api/engagements", tags=["c2"])
    async def engagements(nations: Nations) -> list[dict[str, Any]]:
        """Each shown order: effector, interface, state timeline and outcome."""
        return [
            engagement.view()
            for engagement in state.picture.engagements.rows()
            if visible(engagement.order.releasability, nations)
        ]

    # The static layers come from the scenario (and its c2 file): they are released as the
    # scenario is. Each feature carries its label; every collection is filtered by it.
    def visible_layer(
        collection: dict[str, Any] | None, nations: tuple[str, ...]
    ) -> dict[str, Any]:
        collection = collection or _empty_collection()
        features = [
            feature
            for feature in collection.get("features", [])
            if visible(_feature_label(feature, state.layer_label), nations)
        ]
        return {**collection, "features": features}

    @app.get("/api/effectors", tags=["layers"])
    async def effectors(nations: Nations) -> dict[str, Any]:
        return visible_layer(state.layers.get("effectors"), nations)

    @app.get("/api/sensors", tags=["layers"])
    async def sensors(nations: Nations) -> dict[str, Any]:
        collection = visible_layer(state.layers.get("sensors"), nations)
        status = {
            source: to_builtins(event)
            for source, event in state.picture.sensor_status.items()
            if visible(event.releasability, nations)
        }
        return {**collection, "status": status}

    @app.get("/api/layers", tags=["layers"])
    async def layers(nations: Nations) -> dict[str, Any]:
        return {name: visible_layer(layer, nations) for name, layer in state.layers.items()}

    @app.get("/api/borders", tags=["layers"])
    async def borders(_: CurrentSession) -> Response:
        # Natural Earth 1:50m, shipped in the package: public geography, no label.
        return FileResponse(BORDERS_FILE, media_type="application/json")

    @app.get("/api/audit", tags=["audit"])
    async def audit(nations: Nations) -> list[dict[str, Any]]:
        return [to_builtins(r) for r in state.picture.audit if visible(r.releasability, nations)]

    @app.get("/api/audit/verify", tags=["audit"])
    async def audit_verify(nations: Nations) -> dict[str, Any]:
        # The chain is checked whole, so only those who may see all of it get the answer.
        labels = {record.releasability for record in state.picture.audit}
        if not all(visible(label, nations) for label in labels):
            raise HTTPException(403, f"the audit of {state.config.nation} is not released to you")
        fault = verify_chain(state.picture.audit)
        detail = str(fault) if fault else f"{len(state.picture.audit)} records, chain intact"
        return {"intact": fault is None, "detail": detail, "records": len(state.picture.audit)}

    @app.get("/api/audit/export", tags=["audit"])
    async def audit_export(nations: Nations) -> Response:
        records: list[AuditRecord] = [
            r for r in state.picture.audit if visible(r.releasability, nations)
        ]
        body = b"".join(to_json(r) + b"\n" for r in records)
        headers = {"content-disposition": 'attachment; filename="audit.jsonl"'}
        return Response(body, media_type="application/x-ndjson", headers=headers)

    @app.get("/api/status", tags=["runs"])
    async def status(nations: Nations) -> dict[str, Any]:
        clock = state.picture.clock
        c2_state = state.picture.c2_state
        if c2_state is not None and not visible(c2_state.releasability, nations):
            c2_state = None  # the nation's c2 state (who aborted) is its own
        scenario = state.scenario
        if scenario is not None and not visible(scenario.releasability, nations):
            scenario = None
        return {
            "nation": state.config.nation,
            "clock": clock.isoformat() if clock else None,
            "messages": state.picture.messages_seen,
            "live": state.bus is not None,
            "mode": c2_state.mode if c2_state else None,
            "aborted": bool(c2_state and c2_state.abort_active),
            "aborted_by": c2_state.changed_by if c2_state and c2_state.abort_active else None,
            "scenario": scenario.name if scenario else None,
            "stream_clients": len(state.hub.clients),
            # A run without c2 says so: no proposals will come, and that is not a fault.
            "response_stage": state.config.response_note or None,
        }

    @app.get("/api/runs", tags=["runs"])
    async def runs(nations: Nations) -> list[dict[str, Any]]:
        # The runs on this server are its nation's own records.
        if not visible(f"NATIONAL {state.config.nation}", nations):
            return []
        return _list_runs(state.config.runs_directory)

    @app.get("/api/scenarios", tags=["runs"])
    async def scenarios(nations: Nations) -> list[dict[str, Any]]:
        listed = []
        for name in shipped_scenarios():
            try:
                loaded = load_scenario(name)
            except ScenarioError as error:
                listed.append({"name": name, "error": str(error)})
                continue
            if not visible(loaded.releasability, nations):
                continue
            listed.append(
                {
                    "name": name,
                    "description": loaded.description,
                    "start": loaded.start.isoformat(),
                    "releasability": loaded.releasability,
                }
            )
        return listed

    @app.get("/metrics", tags=["runs"], response_class=PlainTextResponse)
    async def metrics(nations: Nations) -> PlainTextResponse:
        """Prometheus text exposition: counters of what the picture took in and refused,
        logins refused, sessions and stream clients. Counts only: no labelled content."""
        lines = []
        for name, counts in sorted(state.counts.items()):
            lines.append(f"# TYPE {name} counter")
            label = "type" if name.endswith("messages_total") else "reason"
            if name == "hotzone_dead_letters_total":
                label = "source"
            lines += [
                f'{name}{{{label}="{_prometheus_label(key)}"}} {value}'
                for key, value in sorted(counts.items())
            ]
        gauges = {
            "hotzone_sessions": len(state.sessions),
            "hotzone_stream_clients": len(state.hub.clients),
            "hotzone_orders_refused": len(state.picture.refused_orders),
            "hotzone_decisions_waiting": len(state.waiting),
        }
        for name, value in gauges.items():
            lines += [f"# TYPE {name} gauge", f"{name} {value}"]
        text = "\n".join(lines) + "\n"
        if state.pipeline_metrics is not None:  # a live pipeline's stages (runtime.metrics)
            text += state.pipeline_metrics().decode()
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    @app.websocket("/api/stream")
    async def stream(websocket: WebSocket, view_as: str | None = None, acks: bool = False) -> None:
        """Batches of picture updates. With ``acks=true`` the client sends ``{"type":
        "ack"}`` after applying each batch and is never more than two batches behind."""
        token = websocket.query_params.get("token") or websocket.cookies.get(SESSION_COOKIE)
        session = state.sessions.get(token or "")
        if session is None:
            await websocket.close(code=4401, reason="log in first")
            return
        if not _origin_allowed(state.config, websocket):
            await websocket.close(code=4403, reason="origin not allowed")
            return
        nations = (session.user.nation, view_as) if view_as else (session.user.nation,)
        await websocket.accept()
        client = state.hub.connect(
            _accepts_for(nations),
            max_pending=state.config.stream_max_pending,
            acknowledged_flow=acks,
        )
        sender = asyncio.create_task(_send_batches(websocket, client.next_batch, state, nations))
        # The sender waits for updates, not for the socket: a second task notices the close.
        receiver = asyncio.create_task(_until_disconnect(websocket, client.acknowledge))

        async def logged_out() -> None:
            for task in (sender, receiver):
                task.cancel()
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await websocket.close(code=4401, reason="logged out")

        session.closers.append(logged_out)
        try:
            await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            # Cancelled, not awaited: the handler may itself be under cancellation here.
            for task in (sender, receiver):
                task.cancel()
            state.hub.disconnect(client)
            with contextlib.suppress(ValueError):
                session.closers.remove(logged_out)


async def _send_batches(
    websocket: WebSocket,
    client_batches: Callable[[float], Any],
    state: ApiState,
    nations: tuple[str, ...],
) -> None:
    # msgspec encodes a batch of a thousand track updates several times faster than json.
    encode = msgspec.json.Encoder().encode
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        hello = {"type": "hello", "clock": _iso(state.picture.clock), "filtered_for": nations}
        await websocket.send_text(json.dumps(hello))
        while True:
            batch: list[Update] = await client_batches(state.config.stream_batch_interval_s)
            message = {"type": "batch", "clock": _iso(state.picture.clock), "updates": batch}
            await websocket.send_text(encode(message).decode())


async def _until_disconnect(websocket: WebSocket, acknowledge: Callable[[], None]) -> None:
    """Reads the client's messages until it goes: acknowledgements; anything else is ignored."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            received = await websocket.receive()
            if received["type"] == "websocket.disconnect":
                return
            if '"ack"' in (received.get("text") or ""):
                acknowledge()


def _accepts_for(nations: tuple[str, ...]) -> Callable[[Update], bool]:
    """The stream's releasability filter of one client: each distinct label is parsed and
    decided once per client (a run has a handful of labels, and thousands of updates/s)."""
    decided: dict[str, bool] = {}

    def accepts(update: Update) -> bool:
        label = str(update.get("releasability", ""))
        verdict = decided.get(label)
        if verdict is None:
            verdict = releasable_to_all(label, nations)
            if len(decided) < 1024:  # labels come from messages: bound the memo anyway
                decided[label] = verdict
        return verdict

    return accepts


def _iso(time: datetime | None) -> str | None:
    return time.isoformat() if time else None


def _user_view(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "role": user.role.value,
        "nation": user.nation,
        "display_name": user.display_name or user.username,
        "test_only": user.test_only,
    }


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _outcome_view(outcome: DecisionOutcome) -> dict[str, Any]:
    return {"accepted": outcome.accepted, "code": outcome.code, "reason": outcome.reason}


def _answer(status: int, body: dict[str, Any]) -> dict[str, Any]:
    if status == 200:
        return body
    raise HTTPException(status, str(body.get("reason") or "refused"))


def _prometheus_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _feature_label(feature: dict[str, Any], default: str) -> str:
    properties = feature.get("properties") or {}
    return str(properties.get("releasability") or default)


def _empty_collection() -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": []}


def _list_runs(directory: Path) -> list[dict[str, Any]]:
    if not directory.is_dir():
        return []
    runs = []
    for run in sorted(directory.iterdir()):
        summary = run / "summary.json"
        if not summary.is_file():
            continue
        try:
            document = json.loads(summary.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        runs.append(
            {
                "name": run.name,
                "scenario": document.get("scenario"),
                "seed": document.get("seed"),
                "simulated_seconds": document.get("simulated_seconds"),
            }
        )
    return runs
