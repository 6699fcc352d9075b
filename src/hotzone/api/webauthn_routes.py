"""Enrolling an operator's WebAuthn authenticator from the browser (docs/operators.md).

The logged-in user asks for registration options, the browser has the user's
authenticator make a credential (``navigator.credentials.create``, user verification
required), and the server checks the attestation response against the challenge it gave,
the page's origin and the relying party id, then enrolls the credential's *public* key for
the user (operator id = username, with the user's role and nation) in the nation's
``operators.yaml``. The private key never leaves the authenticator; c2 later checks each
decision's assertion against the enrolled key (`hotzone.c2.webauthn.signature_fault`).

`webauthn_router` builds the routes; the page's side is ``web/static/webauthn.js``.
"""

# No ``from __future__ import annotations`` here: the routes' annotations name the
# ``current_user`` dependency given to `webauthn_router`, a local that FastAPI could not
# resolve from strings.

import base64
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Protocol

import webauthn
from fastapi import APIRouter, Body, Depends, HTTPException, Request
from webauthn.helpers import options_to_json_dict
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from hotzone.c2.keys import KeyFileError, OperatorKey, RegistryFile
from hotzone.c2.webauthn import RelyingParty, base64url, from_base64url
from hotzone.types import OperatorRole

CHALLENGE_LIFETIME_S = 300.0
"""How long a registration challenge stays valid (the ceremony's user interaction)."""
RP_NAME = "hotzone"


class WebAuthnUser(Protocol):
    """What the routes need of the logged-in user (`hotzone.api.users.User` is one)."""

    @property
    def username(self) -> str: ...

    @property
    def role(self) -> OperatorRole: ...

    @property
    def nation(self) -> str: ...


@dataclass(frozen=True)
class _Pending:
    challenge: bytes
    expires_at: float


class RegistrationChallenges:
    """The challenge of each user's registration in progress (one per user), in memory."""

    def __init__(
        self, lifetime_s: float = CHALLENGE_LIFETIME_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.lifetime_s = lifetime_s
        self._clock = clock
        self._pending: dict[str, _Pending] = {}
        self._guard = threading.Lock()

    def issue(self, username: str, challenge: bytes) -> None:
        with self._guard:
            now = self._clock()
            self._pending = {u: p for u, p in self._pending.items() if p.expires_at > now}
            self._pending[username] = _Pending(challenge, now + self.lifetime_s)

    def take(self, username: str) -> bytes | None:
        """The user's challenge, once (a response can be verified against it only once)."""
        with self._guard:
            pending = self._pending.pop(username, None)
            if pending is None or pending.expires_at <= self._clock():
                return None
            return pending.challenge


def _own_credentials(registry: RegistryFile, username: str) -> list[OperatorKey]:
    try:
        keys = registry.current()
    except KeyFileError as error:
        raise HTTPException(500, f"operator registry: {error}") from None
    return [
        key
        for key in keys
        if key.operator_id == username and key.kind == "webauthn" and not key.revoked
    ]


def webauthn_router(
    current_user: Callable[..., Any],
    registry: RegistryFile,
    relying_party_for: Callable[[Request], RelyingParty],
    challenges: RegistrationChallenges | None = None,
) -> APIRouter:
    """``/api/webauthn/...``: registration options, registration, the user's credentials.

    ``current_user`` is a FastAPI dependency giving the logged-in `WebAuthnUser` (and
    answering 401 when nobody is); ``relying_party_for`` names the relying party (rp id and
    allowed origins) a request is served as; ``registry`` is where credentials are enrolled.
    """
    router = APIRouter(prefix="/api/webauthn", tags=["webauthn"])
    pending = challenges or RegistrationChallenges()

    @router.post("/register/options")
    def registration_options(
        request: Request, user: Annotated[Any, Depends(current_user)]
    ) -> dict[str, Any]:
        """Options for ``navigator.credentials.create`` (JSON, binary fields base64url)."""
        relying_party = relying_party_for(request)
        user_id = str(user.username).encode()
        if not 0 < len(user_id) <= 64:
            raise HTTPException(400, "a WebAuthn user id is 1 to 64 bytes: username too long")
        options = webauthn.generate_registration_options(
            rp_id=relying_party.rp_id,
            rp_name=RP_NAME,
            user_name=user.username,
            user_id=user_id,
            user_display_name=getattr(user, "display_name", "") or user.username,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.DISCOURAGED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[
                PublicKeyCredentialDescriptor(id=from_base64url(key.key_id))
                for key in _own_credentials(registry, user.username)
            ],
        )
        pending.issue(user.username, options.challenge)
        return options_to_json_dict(options)

    @router.post("/register")
    def register(
        request: Request,
        user: Annotated[Any, Depends(current_user)],
        credential: Annotated[dict[str, Any], Body()],
    ) -> dict[str, Any]:
        """Verify the authenticator's new credential and enroll it for the user."""
        relying_party = relying_party_for(request)
        challenge = pending.take(user.username)
        if challenge is None:
            raise HTTPException(
                400, "no registration in progress (or it expired): ask for options again"
            )
        try:
            verified = webauthn.verify_registration_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=relying_party.rp_id,
                expected_origin=sorted(relying_party.origins),
                require_user_verification=True,
            )
        except (WebAuthnException, ValueError, KeyError, TypeError) as error:
            raise HTTPException(400, f"registration refused: {error}") from None
        key = OperatorKey(
            operator_id=user.username,
            role=OperatorRole(user.role),
            nation=user.nation,
            kind="webauthn",
            credential_id=base64url(verified.credential_id),
            public_key=base64.b64encode(verified.credential_public_key).decode("ascii"),
            sign_count=verified.sign_count,
            enrolled_at=datetime.now(UTC),
        )
        try:
            registry.enroll(key)
        except KeyFileError as error:
            raise HTTPException(409, str(error)) from None
        return {
            "key_id": key.key_id,
            "operator_id": key.operator_id,
            "role": str(key.role),
            "nation": key.nation,
        }

    @router.get("/credentials")
    def credentials(
        request: Request, user: Annotated[Any, Depends(current_user)]
    ) -> dict[str, Any]:
        """The user's enrolled, unrevoked credential ids (for ``allowCredentials``)."""
        return {
            "rp_id": relying_party_for(request).rp_id,
            "credential_ids": [key.key_id for key in _own_credentials(registry, user.username)],
        }

    return router
