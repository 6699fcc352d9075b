"""The page for a decider, end to end, on a live ``hotzone serve`` process (an exercise).

People decide in the browser: four browser contexts, logged in as the shipped TEST users
observer, operator1, operator2 and commander (each decider with its own virtual WebAuthn
authenticator, which is what counts in an exercise), use the page as people would.
The deciders enrol their authenticators through the page; a tampered abort is refused by
c2 and the page says why; a real abort shows on every page until the commander resumes;
a ROE-failed proposal has no buttons; the first operator approves a kinetic proposal, the
card then says it awaits the commander, the commander approves and c2 issues a signed
order, which the effect model carries out in the simulation. After Ctrl-C the audit
verifies, and the finished run, served again, shows the same order.

Timing: suwalki-drones proposes its first kinetic engagement that passes the rules of
engagement 629 simulated seconds in (the earlier ones fail ``own_territory``: the drones
are still over Belarus), and a proposal expires 45 simulated seconds after it is made. At
``SPEED`` the proposal comes after about 160 s and leaves about 11 s to the two deciders;
if it expires first (a busy machine), the test decides on the next kinetic proposal (c2
proposes again, and more threats come).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from hotzone.runtime.federation_servers import free_port
from hotzone.store import SQLiteStore
from hotzone.types import Event
from tests.api.test_serve_commands import Served
from tests.web.conftest import ARTIFACTS, logged_in_page

HOTZONE = str(Path(sys.executable).with_name("hotzone"))
SPEED = 4
#: How long the page may take to show what the stream brings (a busy 2-core machine).
SHOWN_MS = 30_000
LOGIN_MS = 120_000
#: A kinetic proposal that passes the rules comes at 629 s simulated: about 160 s at SPEED.
PROPOSAL_TIMEOUT_MS = 240_000
ATTEMPTS = 5
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "decider.png"

# Sign whatever the page asks with a challenge of the page's own making: an assertion for
# another challenge than the decision's (a tampering client). Undone by _UNTAMPER.
_TAMPER = """() => {
    window.__credentialsGet = navigator.credentials.get.bind(navigator.credentials);
    navigator.credentials.get = (options) => {
        const other = new Uint8Array(32);
        crypto.getRandomValues(other);
        return window.__credentialsGet({publicKey: {...options.publicKey, challenge: other}});
    };
}"""
_UNTAMPER = "() => { navigator.credentials.get = window.__credentialsGet; }"
# A ROE-failed card, as it is shown: its failed rules and how many buttons it has.
_ROE_FAILED_CARD = """() => {
    const card = document.querySelector('#proposals .card[data-state="roe_failed"]');
    return card && {id: card.dataset.proposalId,
        buttons: card.querySelectorAll('button:not(.jump)').length,
        failed: card.querySelector('.failed-rules')?.textContent || ''};
}"""


@pytest.fixture(autouse=True)
def patient_expectations() -> Iterator[None]:
    """What the stream brings may take a while to show when the machine is busy."""
    expect.set_options(timeout=SHOWN_MS)
    yield
    expect.set_options(timeout=5_000)  # Playwright's default


@pytest.fixture
def processes() -> Iterator[list[Served]]:
    started: list[Served] = []
    yield started
    for served in started:
        served.close()


def _serve(args: list[str], cwd: Path, processes: list[Served]) -> tuple[Served, str]:
    """A ``hotzone serve`` process and the URL of its page by name (WebAuthn refuses an IP
    address as relying party id), once it answers."""
    port = free_port()
    served = Served(["serve", "--port", str(port), *args], cwd)
    processes.append(served)
    assert served.url() == f"http://127.0.0.1:{port}"
    url = f"http://localhost:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/", timeout=10).status_code == 200:
                return served, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer; output: {''.join(served.lines)[-2000:]}")


def _api_get(url: str, path: str, username: str = "observer") -> list[dict[str, Any]]:
    with httpx.Client(base_url=url, timeout=30) as client:
        login = {"username": username, "password": f"{username}-test"}
        token = client.post("/api/login", json=login).json()["token"]
        listed: list[dict[str, Any]] = client.get(
            path, headers={"authorization": f"Bearer {token}"}
        ).json()
        return listed


def _audit_verify(run: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HOTZONE, "audit", "verify", str(run)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
    )


def _screenshot(page: Page, name: str, docs: Path | None = None) -> None:
    """Into tests/web/artifacts (git-ignored); also into docs/img when
    HOTZONE_DOCS_SCREENSHOTS is set."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))
    if docs is not None and os.environ.get("HOTZONE_DOCS_SCREENSHOTS"):
        docs.parent.mkdir(parents=True, exist_ok=True)
        docs.write_bytes((ARTIFACTS / name).read_bytes())


def _accept_dialogs(page: Page) -> None:
    page.on("dialog", lambda dialog: dialog.accept())


def _enrol(page: Page, username: str) -> None:
    expect(page.locator("#authenticator")).to_have_attribute("data-enrolled", "false")
    page.click("#register-button")
    expect(page.locator("#authenticator")).to_have_attribute(
        "data-enrolled", "true", timeout=SHOWN_MS
    )
    expect(page.locator("#notice")).to_contain_text(f"authenticator enrolled for {username}")


def _approve_in_turn(first: Page, commander: Page) -> str:
    """The first operator approves the kinetic proposal open to a decision, then the
    commander; the id of the proposal c2 ordered. A proposal that expires (or is voided)
    before both decisions reach c2 is given up for the next one: c2 proposes again."""
    for _attempt in range(ATTEMPTS):
        button = first.locator(".card.kinetic.decidable button.approve").first
        button.wait_for(timeout=PROPOSAL_TIMEOUT_MS)
        proposal_id = first.locator(".card.kinetic.decidable").first.get_attribute(
            "data-proposal-id"
        )
        assert proposal_id
        selector = f'[data-proposal-id="{proposal_id}"]'
        button.click()
        answer = first.locator(f"{selector} .answer")
        try:
            answer.wait_for()
        except PlaywrightTimeoutError:
            continue  # expired, and a newer proposal of the pair took its card
        if "refused" in answer.inner_text():
            continue  # expired before the decision reached c2
        # Counted: the card says what is missing (unless the proposal expired meanwhile, on
        # a busy machine); the operator may not approve twice.
        missing = first.locator(f"{selector} .missing")
        try:
            expect(missing).to_have_text(re.compile("awaiting commander|expired|void"))
        except AssertionError:
            continue  # the card was taken by a newer proposal of the pair
        if missing.inner_text() != "awaiting commander":
            continue
        expect(first.locator(f"{selector} .mine")).to_have_text("you approved")
        expect(first.locator(f"{selector} button.approve")).to_have_count(0)
        # The commander decides at once (the proposal expires 45 simulated seconds after it
        # was made); the commander's card says the same once the stream brought it.
        approve = commander.locator(f"{selector} button.approve")
        try:
            approve.wait_for(timeout=10_000)
        except PlaywrightTimeoutError:
            continue  # expired before the commander's page showed it
        approve.click()
        answer = commander.locator(f"{selector} .answer")
        try:
            answer.wait_for()
        except PlaywrightTimeoutError:
            continue
        if "refused" in answer.inner_text():
            continue
        # Counted; c2 orders, unless the track left what was proposed meanwhile (void).
        card = commander.locator(selector)
        expect(card).to_have_attribute("data-state", re.compile("^(ordered|void)$"))
        if card.get_attribute("data-state") == "ordered":
            expect(card.locator(".counter")).to_contain_text("(operator1, commander)")
            return proposal_id
        print("void:", card.inner_text())
    raise AssertionError(f"no kinetic proposal was ordered in {ATTEMPTS} attempts")


@pytest.mark.slow(135)
def test_deciders_order_an_engagement_in_the_browser_that_takes_effect_and_is_audited(
    browser: Browser,
    pages: list[Page],
    processes: list[Served],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOTZONE_HOME", str(tmp_path / "home"))  # the served process's too
    served, url = _serve(["--speed", str(SPEED), "--out", "runs"], tmp_path, processes)
    [run] = (tmp_path / "runs").glob("suwalki-drones-seed1-*-live")

    observer = logged_in_page(browser, url, "observer", pages, timeout_ms=LOGIN_MS)
    deciders = {
        name: logged_in_page(browser, url, name, pages, authenticator=True, timeout_ms=LOGIN_MS)
        for name in ("operator1", "operator2", "commander")
    }
    everyone = [observer, *deciders.values()]
    for page in everyone:
        expect(page.locator("#mode-banner")).to_have_text("EXERCISE", timeout=SHOWN_MS)
        _accept_dialogs(page)
    # Observers see no controls; each decider enrols an authenticator through the page.
    expect(observer.locator("#authenticator")).to_be_hidden()
    expect(observer.locator("#abort-button")).to_be_hidden()
    for name, page in deciders.items():
        _enrol(page, name)

    # An assertion made for another challenge than the abort's: c2 refuses it (and audits
    # the refusal), the page shows c2's reason, and no abort holds.
    operator2 = deciders["operator2"]
    operator2.evaluate(_TAMPER)
    operator2.click("#abort-button")
    expect(operator2.locator("#notice")).to_contain_text("c2 refused your abort", timeout=SHOWN_MS)
    expect(operator2.locator("#notice")).to_contain_text("challenge")
    expect(observer.locator("#abort-banner")).to_be_hidden()
    # The real abort shows on every page of the nation until the commander resumes.
    operator2.evaluate(_UNTAMPER)
    operator2.click("#abort-button")
    for page in everyone:
        expect(page.locator("#abort-banner")).to_contain_text(
            "GLOBAL ABORT in force by operator2", timeout=SHOWN_MS
        )
    expect(deciders["operator1"].locator("#resume-button")).to_be_hidden()
    commander = deciders["commander"]
    commander.click("#resume-button")
    for page in everyone:
        expect(page.locator("#abort-banner")).to_be_hidden(timeout=SHOWN_MS)

    # The first kinetic proposals fail the rules of engagement: shown, not decidable.
    # (Read at once: such a card soon expires, and a newer proposal of the pair replaces it.)
    roe_failed = commander.wait_for_function(_ROE_FAILED_CARD, timeout=PROPOSAL_TIMEOUT_MS)
    card = roe_failed.json_value()
    assert "ROE FAIL own_territory" in card["failed"], card
    assert card["buttons"] == 0, card

    try:
        proposal_id = _approve_in_turn(deciders["operator1"], commander)
    except Exception:
        for name in ("operator1", "commander"):  # what each saw, for the failure report
            _screenshot(deciders[name], f"decider-failed-{name}.png")
            print(name, deciders[name].locator("#proposals").inner_text())
        raise
    selector = f'[data-proposal-id="{proposal_id}"]'
    order_id = commander.locator(f"{selector} .order").get_attribute("data-order-id")
    assert order_id
    orders = _api_get(url, "/api/orders")
    assert [o["order_id"] for o in orders] == [order_id]
    assert orders[0]["signature"] and len(orders[0]["decision_ids"]) == 2
    # The engagement on every page: the order on the card, a line effector → track on the
    # map; then the effect model's outcome.
    expect(observer.locator(f"{selector} .order")).to_contain_text(order_id, timeout=SHOWN_MS)
    observer.wait_for_function(
        "(id) => window.hz.engagements().some((e) => e.order_id === id)",
        arg=order_id,
        timeout=SHOWN_MS,
    )
    # The decision queue as the commander sees it now: the order, the engagement on the map.
    commander.locator(selector).hover()
    commander.wait_for_function("() => window.hz.highlighted() !== null")
    _screenshot(commander, "decider.png", DOCS_SCREENSHOT)
    # On the proposal's card, or on its group's card when c2 proposed the same track and
    # effector again while the interceptor flew (CI saw that: the card changed hands).
    effect = observer.locator(f'#proposals .effect[data-order-id="{order_id}"]')
    expect(effect).to_have_count(1, timeout=PROPOSAL_TIMEOUT_MS)
    expect(effect).to_contain_text(re.compile(r": (stopped|missed)$"))
    audit = _api_get(url, "/api/audit")
    refusals = [r["payload"] for r in audit if r["kind"] == "refusal"]
    assert any("challenge" in payload for payload in refusals), refusals

    for page in everyone:
        page.context.close()
    pages.clear()
    assert served.interrupt() == 0
    with SQLiteStore(run / "hotzone.sqlite") as store:
        effects = [
            stored.message
            for stored in store.replay()
            if isinstance(stored.message, Event)
            and stored.message.source_id == "effect-model"
            and stored.message.attributes.get("order_id") == order_id
        ]
    assert len(effects) == 1, effects
    assert effects[0].attributes["outcome"] in ("stopped", "missed")
    verified = _audit_verify(run)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # The finished run served again: the same order, verified against the nation's keys.
    again, replay_url = _serve(["--run", str(run)], tmp_path, processes)
    assert [o["order_id"] for o in _api_get(replay_url, "/api/orders")] == [order_id]
    page = logged_in_page(browser, replay_url, "observer", pages, timeout_ms=LOGIN_MS)
    # On its proposal's card, or on its group's card when the same track and effector
    # were proposed again after it (a drone the effect missed): shown once either way.
    expect(page.locator(f'#proposals .order[data-order-id="{order_id}"]')).to_have_count(1)
    page.context.close()
    pages.clear()
    assert again.interrupt() == 0
    verified = _audit_verify(run)
    assert verified.returncode == 0, verified.stdout + verified.stderr
