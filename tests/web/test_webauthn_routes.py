"""The WebAuthn registration routes over HTTP, with a software authenticator's real
registration responses: what is enrolled, and what is refused (origin, relying party,
user verification, a stale or reused challenge, nobody logged in)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
from fastapi import FastAPI, HTTPException, Request
from fastapi.testclient import TestClient

from hotzone.api.webauthn_routes import RegistrationChallenges, webauthn_router
from hotzone.c2.keys import RegistryFile
from hotzone.c2.webauthn import RelyingParty, SignatureCheck, from_base64url, signature_fault
from hotzone.types import Decision, OperatorRole, Verdict
from hotzone.types.signing import decision_challenge
from tests.c2.software_authenticator import USER_PRESENT, SoftwareAuthenticator

RP = RelyingParty("c2.hotzone.test", frozenset({"https://c2.hotzone.test"}))
ORIGIN = "https://c2.hotzone.test"


@dataclass(frozen=True)
class Person:
    username: str
    role: OperatorRole
    nation: str
    test_only: bool = False


USERS = {
    "cdr-alice": Person("cdr-alice", OperatorRole.COMMANDER, "PL"),
    "demo-op": Person("demo-op", OperatorRole.OPERATOR, "PL", test_only=True),
}


def current_user(request: Request) -> Person:
    user = USERS.get(request.headers.get("x-test-user", ""))
    if user is None:
        raise HTTPException(401, "log in first")
    return user


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Api:
    client: TestClient
    registry: RegistryFile
    clock: Clock

    def options(self, user: str = "cdr-alice") -> dict[str, object]:
        response = self.client.post("/api/webauthn/register/options", headers={"x-test-user": user})
        assert response.status_code == 200, response.text
        options: dict[str, object] = response.json()
        return options

    def register(self, credential: dict[str, object], user: str = "cdr-alice") -> tuple[int, str]:
        response = self.client.post(
            "/api/webauthn/register", json=credential, headers={"x-test-user": user}
        )
        body = response.json()
        return response.status_code, body.get("detail") or body.get("key_id")


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    registry = RegistryFile(tmp_path / "operators.yaml")
    clock = Clock()
    app = FastAPI()
    app.include_router(
        webauthn_router(current_user, registry, lambda _: RP, RegistrationChallenges(clock=clock))
    )
    with TestClient(app) as client:
        yield Api(client, registry, clock)


def challenge_of(options: dict[str, object]) -> bytes:
    return from_base64url(str(options["challenge"]))


def test_options_ask_for_user_verification_for_the_logged_in_user(api: Api) -> None:
    options = api.options()
    assert options["rp"] == {"id": "c2.hotzone.test", "name": "hotzone"}
    assert options["user"] == {
        "id": "Y2RyLWFsaWNl",  # base64url of the operator id
        "name": "cdr-alice",
        "displayName": "cdr-alice",
    }
    assert options["authenticatorSelection"] == {
        "residentKey": "discouraged",
        "requireResidentKey": False,
        "userVerification": "required",
    }
    assert options["excludeCredentials"] == []
    assert len(challenge_of(options)) >= 16
    assert api.client.post("/api/webauthn/register/options").status_code == 401


def test_a_registered_credential_is_enrolled_and_then_signs_decisions(api: Api) -> None:
    authenticator = SoftwareAuthenticator(RP.rp_id)
    status, key_id = api.register(
        authenticator.make_credential(challenge_of(api.options()), ORIGIN)
    )
    assert (status, key_id) == (200, authenticator.credential_id)
    key = api.registry.current().get(key_id)
    assert key is not None
    assert (key.operator_id, key.role, key.nation, key.kind, key.simulation) == (
        "cdr-alice",
        OperatorRole.COMMANDER,
        "PL",
        "webauthn",
        False,
    )
    assert key.public_key and key.enrolled_at is not None
    credentials = api.client.get("/api/webauthn/credentials", headers={"x-test-user": "cdr-alice"})
    assert credentials.json() == {"rp_id": RP.rp_id, "credential_ids": [key_id]}
    # The next options exclude it, so the browser does not register it twice.
    assert api.options()["excludeCredentials"] == [{"id": key_id, "type": "public-key"}]
    # What was enrolled verifies the authenticator's assertions.
    decision = Decision(
        decision_id="dec-1",
        time=datetime(2025, 3, 14, 2, tzinfo=UTC),
        proposal_hash="d" * 64,
        verdict=Verdict.APPROVE,
        operator_id="cdr-alice",
        role=OperatorRole.COMMANDER,
        key_id=key_id,
        signature="",
    )
    assertion = authenticator.get_assertion(decision_challenge(decision), ORIGIN)
    signed = msgspec.structs.replace(decision, assertion=assertion)
    assert signature_fault(signed, key, RP) == SignatureCheck(fault=None, sign_count=1)


def test_a_test_user_enrolls_an_ordinary_key_for_exercises(api: Api) -> None:
    # Whether a key counts is the run mode's business (c2 refuses simulation keys outside
    # simulations); a person's own authenticator is never a simulation key.
    authenticator = SoftwareAuthenticator(RP.rp_id)
    credential = authenticator.make_credential(challenge_of(api.options("demo-op")), ORIGIN)
    status, key_id = api.register(credential, "demo-op")
    assert status == 200
    key = api.registry.current().get(key_id)
    assert key is not None and not key.simulation


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"origin": "http://evil"}, "registration refused: Unexpected client data origin"),
        ({"rp_id": "evil.example"}, "registration refused: Unexpected RP ID hash"),
        ({"flags": USER_PRESENT}, "registration refused: User verification is required"),
    ],
)
def test_a_registration_from_elsewhere_or_without_verification_is_refused(
    api: Api, change: dict[str, object], reason: str
) -> None:
    authenticator = SoftwareAuthenticator(RP.rp_id)
    arguments: dict[str, object] = {"origin": ORIGIN, **change}
    credential = authenticator.make_credential(challenge_of(api.options()), **arguments)  # type: ignore[arg-type]
    status, detail = api.register(credential)
    assert status == 400 and detail.startswith(reason), detail
    assert len(api.registry.current()) == 0


def test_a_challenge_is_good_once_and_for_five_minutes(api: Api) -> None:
    authenticator = SoftwareAuthenticator(RP.rp_id)
    # Another challenge than the one issued.
    api.options()
    status, detail = api.register(authenticator.make_credential(b"x" * 32, ORIGIN))
    assert status == 400 and "Client data challenge was not expected challenge" in detail
    # The challenge was used up by that attempt.
    challenge = challenge_of(api.options())
    api.register(authenticator.make_credential(b"x" * 32, ORIGIN))
    status, detail = api.register(authenticator.make_credential(challenge, ORIGIN))
    assert status == 400 and "no registration in progress" in detail
    # Expired.
    challenge = challenge_of(api.options())
    api.clock.now += 300.0
    status, detail = api.register(authenticator.make_credential(challenge, ORIGIN))
    assert status == 400 and "no registration in progress (or it expired)" in detail
    # In time.
    challenge = challenge_of(api.options())
    api.clock.now += 299.0
    assert api.register(authenticator.make_credential(challenge, ORIGIN))[0] == 200
    # The same credential again (a replayed registration) is refused by the registry.
    challenge = challenge_of(api.options())
    status, detail = api.register(authenticator.make_credential(challenge, ORIGIN))
    assert (status, detail) == (
        409,
        f"key {authenticator.credential_id} is already enrolled (operator cdr-alice)",
    )
