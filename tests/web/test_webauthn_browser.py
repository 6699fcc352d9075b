"""WebAuthn end to end in Chromium: a virtual authenticator (Chrome DevTools Protocol) is
enrolled through the registration routes by ``/static/webauthn.js``, then signs the
challenge the server computed for a decision; c2's `signature_fault` accepts that assertion
and refuses another authenticator's assertion passed off as the first operator's."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from playwright.sync_api import Browser, Page

import hotzone.web
from hotzone.api.webauthn_routes import webauthn_router
from hotzone.c2.keys import RegistryFile
from hotzone.c2.webauthn import RelyingParty, base64url, signature_fault
from hotzone.types import Decision, OperatorRole, Verdict, WebAuthnAssertion
from hotzone.types.signing import decision_challenge
from tests.api.server import running_server
from tests.web.conftest import add_virtual_authenticator

STATIC = Path(hotzone.web.__file__).resolve().parent / "static"
PAGE = """<!doctype html>
<title>webauthn test</title>
<script type="module">
  import * as webauthn from "/static/webauthn.js";
  const user = new URLSearchParams(location.search).get("user");
  window.fetchJson = async (path, options = {}) => {
    const headers = { "content-type": "application/json", "x-test-user": user };
    const response = await fetch(path, { ...options, headers });
    if (!response.ok) throw new Error(`${response.status}: ${await response.text()}`);
    return response.json();
  };
  window.webauthn = webauthn;
  document.body.dataset.ready = "true";
</script>
<body></body>
"""
REGISTER = "() => window.webauthn.registerAuthenticator(window.fetchJson)"
# Ask the server for a decision (as the logged-in user, or posing as another operator with
# another key id), have the authenticator sign its challenge with the user's credentials.
SIGN = """async ({ keyId, asOperator }) => {
  const { credential_ids, rp_id } = await window.fetchJson("/api/webauthn/credentials");
  const { decision_id, challenge } = await window.fetchJson("/test/decisions", {
    method: "POST",
    body: JSON.stringify({ key_id: keyId || credential_ids[0], as_operator: asOperator }),
  });
  const assertion = await window.webauthn.signWithAuthenticator(challenge, credential_ids, rp_id);
  return { decision_id, assertion };
}"""


@dataclass(frozen=True)
class Person:
    username: str
    role: OperatorRole
    nation: str


USERS = {
    "cdr-alice": Person("cdr-alice", OperatorRole.COMMANDER, "PL"),
    "op-bob": Person("op-bob", OperatorRole.OPERATOR, "LT"),
}


def relying_party(request: Request) -> RelyingParty:
    return RelyingParty("localhost", frozenset({f"http://localhost:{request.url.port}"}))


@dataclass
class Site:
    url: str
    registry: RegistryFile
    decisions: dict[str, Decision]

    @property
    def relying_party(self) -> RelyingParty:
        return RelyingParty("localhost", frozenset({self.url}))


def current_user(request: Request) -> Person:
    user = USERS.get(request.headers.get("x-test-user", ""))
    if user is None:
        raise HTTPException(401, "log in first")
    return user


def make_app(registry: RegistryFile, decisions: dict[str, Decision]) -> FastAPI:
    app = FastAPI()
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(webauthn_router(current_user, registry, relying_party))

    @app.get("/")
    def page() -> HTMLResponse:
        return HTMLResponse(PAGE)

    @app.post("/test/decisions")
    def new_decision(request: Request, body: dict[str, Any]) -> dict[str, str]:
        """A decision by the user (or by whoever ``as_operator`` names) for the key given;
        its challenge is what the operator's authenticator must sign."""
        user = current_user(request)
        operator = USERS[body.get("as_operator") or user.username]
        decision = Decision(
            decision_id=f"dec-{uuid.uuid4().hex[:12]}",
            time=datetime.now(UTC),
            proposal_hash="c" * 64,
            verdict=Verdict.APPROVE,
            operator_id=operator.username,
            role=operator.role,
            key_id=str(body["key_id"]),
            signature="",
        )
        decisions[decision.decision_id] = decision
        return {
            "decision_id": decision.decision_id,
            "challenge": base64url(decision_challenge(decision)),
        }

    return app


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    registry = RegistryFile(tmp_path / "operators.yaml")
    decisions: dict[str, Decision] = {}
    with running_server(make_app(registry, decisions)) as url:
        # WebAuthn refuses an IP address as relying party id: the page is opened by name.
        yield Site(url.replace("127.0.0.1", "localhost"), registry, decisions)


def page_with_authenticator(browser: Browser, site: Site, user: str, pages: list[Page]) -> Page:
    """A fresh browser context with its own virtual authenticator (a platform authenticator
    that verifies its user), on the test page as ``user``."""
    page = browser.new_context().new_page()
    pages.append(page)
    add_virtual_authenticator(page)
    page.goto(f"{site.url}/?user={user}")
    page.wait_for_selector("body[data-ready=true]", state="attached")
    return page


def signed(site: Site, result: dict[str, Any], **assertion_changes: str) -> Decision:
    assertion = msgspec.convert(result["assertion"], WebAuthnAssertion)
    assertion = msgspec.structs.replace(assertion, **assertion_changes)
    return msgspec.structs.replace(site.decisions[result["decision_id"]], assertion=assertion)


def test_an_enrolled_authenticator_signs_a_decision_and_no_other_does(
    browser: Browser, site: Site, pages: list[Page]
) -> None:
    alice = page_with_authenticator(browser, site, "cdr-alice", pages)
    enrolled = alice.evaluate(REGISTER)
    assert enrolled["operator_id"] == "cdr-alice"
    key = site.registry.current().get(enrolled["key_id"])
    assert key is not None
    assert (key.kind, key.role, key.nation, key.revoked) == (
        "webauthn",
        OperatorRole.COMMANDER,
        "PL",
        False,
    )
    # The registry file holds the public key only (COSE), under the credential id.
    assert key.credential_id == enrolled["key_id"]
    assert "private" not in site.registry.path.read_text()

    result = alice.evaluate(SIGN, {"keyId": None, "asOperator": None})
    decision = signed(site, result)
    assert decision.key_id == key.key_id
    check = signature_fault(decision, key, site.relying_party)
    assert check.fault is None, check.fault
    assert check.sign_count is not None
    site.registry.record_sign_count(key.key_id, check.sign_count)
    # The same assertion again is a replay: its counter is no longer above the last seen.
    replay = signature_fault(decision, site.registry.current().get(key.key_id), site.relying_party)  # type: ignore[arg-type]
    assert replay.fault is not None and "did not increase" in replay.fault
    # Another origin for the same relying party is not this site.
    elsewhere = RelyingParty("localhost", frozenset({"http://localhost:1"}))
    moved = signature_fault(decision, key, elsewhere)
    assert moved.fault == f"origin {site.url} not allowed"

    # Bob has his own authenticator (and his own enrolled credential). He poses as Alice:
    # a decision in her name, for her credential, signed by his authenticator.
    bob = page_with_authenticator(browser, site, "op-bob", pages)
    bob_key_id = bob.evaluate(REGISTER)["key_id"]
    assert bob_key_id != key.key_id
    posing = bob.evaluate(SIGN, {"keyId": key.key_id, "asOperator": "cdr-alice"})
    alice_key = site.registry.current().get(key.key_id)
    assert alice_key is not None
    as_is = signature_fault(signed(site, posing), alice_key, site.relying_party)
    assert as_is.fault == f"assertion is by credential {bob_key_id}, decision names {key.key_id}"
    relabelled = signature_fault(
        signed(site, posing, credential_id=key.key_id), alice_key, site.relying_party
    )
    assert relabelled.fault == f"WebAuthn signature does not verify with credential {key.key_id}"
    # Alice's own authenticator still signs for her.
    again = signed(site, alice.evaluate(SIGN, {"keyId": None, "asOperator": None}))
    assert signature_fault(again, alice_key, site.relying_party).ok


def test_the_credentials_route_lists_only_the_users_own_unrevoked_credentials(
    browser: Browser, site: Site, pages: list[Page]
) -> None:
    alice = page_with_authenticator(browser, site, "cdr-alice", pages)
    first = alice.evaluate(REGISTER)["key_id"]
    listed = alice.evaluate("() => window.fetchJson('/api/webauthn/credentials')")
    assert listed == {"rp_id": "localhost", "credential_ids": [first]}
    bob = page_with_authenticator(browser, site, "op-bob", pages)
    assert (
        bob.evaluate("() => window.fetchJson('/api/webauthn/credentials')")["credential_ids"] == []
    )
    # Registering the same authenticator twice is refused by the browser itself
    # (excludeCredentials); a revoked credential is no longer offered for signing.
    with pytest.raises(Exception, match=r"InvalidStateError|excluded|already registered"):
        alice.evaluate(REGISTER)
    assert site.registry.revoke(first) == 1
    listed = alice.evaluate("() => window.fetchJson('/api/webauthn/credentials')")
    assert listed["credential_ids"] == []
