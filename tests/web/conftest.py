"""Playwright driving Debian's Chromium (never a downloaded browser) against a live server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from hotzone.api.app import ApiConfig, create_app
from hotzone.runtime.routing import subject_for
from hotzone.store import SQLiteStore
from hotzone.types import AnyMessage, C2State, Proposal, ProposalStatus, RoeCheck
from hotzone.types.signing import proposal_content_hash
from tests.api.picture_fixture import picture_messages, write_picture_store
from tests.api.server import running_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-unsafe-swiftshader",
]
# Screenshots kept after the run (git ignores them: artifacts/.gitignore).
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


def screenshot(page: Page, name: str, clip: dict[str, float] | None = None) -> None:
    """A screenshot (of ``clip``, CSS pixels) in artifacts/, copied to docs/img/ when
    HOTZONE_DOCS_SCREENSHOTS is set."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), clip=clip, scale="css")  # type: ignore[arg-type]
    if os.environ.get("HOTZONE_DOCS_SCREENSHOTS"):
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        (DOCS_IMG / name).write_bytes((ARTIFACTS / name).read_bytes())


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def pages(browser: Browser) -> Iterator[list[Page]]:
    """Pages opened by a test; their contexts are closed before the server stops."""
    opened: list[Page] = []
    yield opened
    for page in opened:
        page.context.close()


def _variant(proposal: Proposal, proposal_id: str, **changes: object) -> Proposal:
    changed = msgspec.structs.replace(proposal, proposal_id=proposal_id, content_hash="", **changes)
    return msgspec.structs.replace(changed, content_hash=proposal_content_hash(changed))


def decider_messages(abort_by: str | None = None) -> list[AnyMessage]:
    """What c2 published about the recorded picture's proposals (as an exercise's c2 does):
    P-KINETIC approved by operator1 and awaiting the commander, an earlier proposal of the
    same track and effector that expired, P-JAM awaiting one approval, P-ROE whose rules of
    engagement failed; with ``abort_by``, a global abort by that user holds."""
    proposals = {m.proposal_id: m for m in picture_messages() if isinstance(m, Proposal)}
    kinetic, jam = proposals["P-KINETIC"], proposals["P-JAM"]
    earlier = _variant(
        kinetic,
        "P-KINETIC-0",
        time=kinetic.time - timedelta(seconds=60),
        expires_at=kinetic.time - timedelta(seconds=15),
    )
    checks = (
        *kinetic.roe_checks[:1],
        RoeCheck(rule="no_fire_area", passed=False, detail="inside no-fire area Suwałki town"),
    )
    roe_failed = _variant(kinetic, "P-ROE", effector_id="shorad-suwalki", roe_checks=checks)
    at, label = kinetic.time, kinetic.releasability

    def status(proposal: Proposal, state: str, **fields: object) -> ProposalStatus:
        return ProposalStatus(
            time=at,
            proposal_id=proposal.proposal_id,
            proposal_hash=proposal.content_hash,
            state=state,
            releasability=label,
            **fields,  # type: ignore[arg-type]
        )

    return [
        earlier,
        roe_failed,
        C2State(time=at, nation="PL", mode="exercise", releasability=label),
        status(earlier, "expired", approvals_needed=2, commander_needed=True),
        status(
            kinetic,
            "pending",
            approvals=("operator1",),
            approvals_needed=2,
            commander_needed=True,
            missing="awaiting commander",
        ),
        status(jam, "pending", approvals_needed=1, missing="awaiting 1 more approval"),
        status(roe_failed, "roe_failed", failed_rules=("no_fire_area",)),
        *(
            [
                C2State(
                    time=at,
                    nation="PL",
                    mode="exercise",
                    abort_active=True,
                    changed_by=abort_by,
                    reason="abort",
                    releasability=label,
                )
            ]
            if abort_by
            else []
        ),
    ]


def recorded_server(directory: Path, abort_by: str | None = None) -> Iterator[str]:
    """A finished run (no live c2): the recorded picture with c2's proposal states."""
    store = write_picture_store(directory / "hotzone.sqlite")
    with SQLiteStore(store) as recorded:
        recorded.append_many((subject_for(m, "PL"), m) for m in decider_messages(abort_by))
    config = ApiConfig(
        store_path=store,
        scenario="suwalki-drones",
        runs_directory=directory,
        home=directory / "home",
    )
    with running_server(create_app(config)) as url:
        # WebAuthn refuses an IP address as relying party id: the page is opened by name.
        yield url.replace("127.0.0.1", "localhost")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    yield from recorded_server(tmp_path)


@pytest.fixture
def aborted_server(tmp_path: Path) -> Iterator[str]:
    yield from recorded_server(tmp_path, abort_by="commander")


def add_virtual_authenticator(page: Page) -> None:
    """A virtual platform authenticator (Chrome DevTools Protocol) that verifies its user,
    for this page's browser context."""
    devtools = page.context.new_cdp_session(page)
    devtools.send("WebAuthn.enable", {"enableUI": False})
    devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": False,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )


def logged_in_page(
    browser: Browser,
    url: str,
    username: str,
    pages: list[Page],
    authenticator: bool = False,
    timeout_ms: float = 30_000,
    viewport: tuple[int, int] = (1400, 900),
) -> Page:
    """A fresh browser context (its own cookies) logged in as a TEST user; with
    ``authenticator``, the context has its own virtual WebAuthn authenticator."""
    width, height = viewport
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    pages.append(page)
    if authenticator:
        add_virtual_authenticator(page)
    page.goto(url if "?" in url else url + "/")  # a URL with a query is a shared view
    page.fill("#username", username)
    page.fill("#password", f"{username}-test")
    page.click("#login-button")
    page.wait_for_selector("body[data-ready=true]", timeout=timeout_ms)
    return page
