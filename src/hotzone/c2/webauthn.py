"""Whether a decision was signed by the key it names: Ed25519 key files and WebAuthn.

An operator signs a `Decision` with what the operator holds, never with anything the
server has (docs/operators.md):

* the CLI signs `decision_signing_bytes` with the operator's Ed25519 key file
  (``decision.signature``, ``key_id`` = the key's id);
* the browser asks the operator's WebAuthn authenticator to sign with the credential
  enrolled for the operator, giving it `decision_challenge` (SHA-256 of the same bytes) as
  the challenge (``decision.assertion``, ``key_id`` = the credential id, ``signature``
  unused). The authenticator signs ``authenticatorData || SHA-256(clientDataJSON)``; the
  client data holds the challenge and the page's origin, the authenticator data the
  relying party's id hash, the user-present and user-verified flags and a signature
  counter.

`signature_fault` checks either against the enrolled `OperatorKey` and says, in one line,
why it refuses. An assertion's signature is verified first, then what it states is looked at
to name the precise reason for a refusal, and finally py_webauthn's
`verify_authentication_response` checks it all again as the last word.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass

import webauthn
from cryptography.exceptions import InvalidSignature
from webauthn.helpers import (
    decode_credential_public_key,
    decoded_public_key_to_cryptography,
    parse_authenticator_data,
)
from webauthn.helpers import verify_signature as verify_cose_signature
from webauthn.helpers.exceptions import WebAuthnException

from hotzone.c2.keys import KeyFileError, OperatorKey, verify_signature
from hotzone.types import Decision, WebAuthnAssertion
from hotzone.types.signing import decision_challenge


@dataclass(frozen=True)
class RelyingParty:
    """Who WebAuthn credentials are scoped to: the site's domain and the page origins.

    ``rp_id`` is a registrable domain (never an IP address), e.g. ``c2.example.mil`` or
    ``localhost``; ``origins`` are the exact origins the page is served from, e.g.
    ``https://c2.example.mil``.
    """

    rp_id: str
    origins: frozenset[str]

    def __post_init__(self) -> None:
        if not self.rp_id:
            raise ValueError("a relying party needs an rp_id")
        if not self.origins:
            raise ValueError(f"relying party {self.rp_id} needs at least one origin")


@dataclass(frozen=True)
class SignatureCheck:
    """The outcome of `signature_fault`.

    ``fault``: None when the signature holds, else why not (one line). ``sign_count``: the
    authenticator's counter from a verified WebAuthn assertion, to be recorded with
    `RegistryFile.record_sign_count` so that the next assertion must exceed it; None for
    Ed25519 and for refusals.
    """

    fault: str | None
    sign_count: int | None = None

    @property
    def ok(self) -> bool:
        return self.fault is None


def base64url(data: bytes) -> str:
    """Unpadded base64url, as WebAuthn JSON and browsers write binary fields."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def from_base64url(text: str) -> bytes:
    """Bytes of unpadded (or padded) base64url ``text``; ValueError if it is not."""
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except binascii.Error:
        raise ValueError(f"{text[:24]!r} is not base64url") from None


def _refused(reason: str) -> SignatureCheck:
    return SignatureCheck(fault=reason)


def signature_fault(
    decision: Decision, key: OperatorKey, relying_party: RelyingParty | None
) -> SignatureCheck:
    """Whether ``decision`` is signed by ``key`` (the key its ``key_id`` names), and if not,
    why not.

    Refused: a revoked key; a key that is not the one the decision names; a key enrolled
    for another operator or role than the decision states; for an Ed25519 key, an invalid
    signature or an assertion (the two kinds are never mixed); for a WebAuthn credential,
    no assertion, an assertion by another credential, client data of another kind, another
    challenge (an assertion for another decision), an origin or relying party not
    ``relying_party``'s, no user presence or verification, a counter that did not increase
    (a replay or a cloned authenticator), or a signature that does not verify.
    """
    if key.revoked:
        return _refused(f"revoked key {key.key_id} of {key.operator_id}")
    try:
        key_id = key.key_id
    except KeyFileError as error:
        return _refused(str(error))
    if decision.key_id != key_id:
        return _refused(
            f"decision {decision.decision_id} names key {decision.key_id}, not {key_id}"
        )
    if key.operator_id != decision.operator_id or key.role != decision.role:
        return _refused(
            f"key {key_id} belongs to {key.operator_id} ({key.role}), not "
            f"{decision.operator_id} ({decision.role})"
        )
    if key.kind == "ed25519":
        if decision.assertion is not None:
            return _refused(
                f"decision {decision.decision_id} names Ed25519 key {key_id} but carries a "
                "WebAuthn assertion"
            )
        if not verify_signature(decision, key):
            return _refused(
                f"signature of decision {decision.decision_id} is not valid for key {key_id}"
            )
        return SignatureCheck(fault=None)
    if relying_party is None:
        return _refused(
            f"decision {decision.decision_id} is signed by WebAuthn credential {key_id} but "
            "no WebAuthn relying party is configured"
        )
    if decision.assertion is None:
        return _refused(
            f"decision {decision.decision_id} names WebAuthn credential {key_id} but has "
            "no assertion"
        )
    return _assertion_fault(decision, decision.assertion, key, relying_party)


def _assertion_fault(
    decision: Decision, assertion: WebAuthnAssertion, key: OperatorKey, relying_party: RelyingParty
) -> SignatureCheck:
    key_id = key.key_id
    if assertion.credential_id != key_id:
        return _refused(
            f"assertion is by credential {assertion.credential_id}, decision names {key_id}"
        )
    try:
        client_data_bytes = from_base64url(assertion.client_data_json)
        authenticator_data_bytes = from_base64url(assertion.authenticator_data)
        user_handle = (
            None if assertion.user_handle is None else from_base64url(assertion.user_handle)
        )
        signature = from_base64url(assertion.signature)
    except ValueError as error:
        return _refused(f"WebAuthn assertion field {error}")
    # The signature first: what an assertion says (challenge, origin, flags, counter)
    # counts only once the credential's key is known to have signed it.
    try:
        public_key = decode_credential_public_key(key.raw_public_key())
        verify_cose_signature(
            public_key=decoded_public_key_to_cryptography(public_key),
            signature_alg=public_key.alg,
            signature=signature,
            data=authenticator_data_bytes + hashlib.sha256(client_data_bytes).digest(),
        )
    except InvalidSignature:
        return _refused(f"WebAuthn signature does not verify with credential {key_id}")
    except (KeyFileError, WebAuthnException, ValueError, TypeError) as error:
        return _refused(f"WebAuthn credential {key_id} of {key.operator_id} is unusable: {error}")
    try:
        client_data = json.loads(client_data_bytes)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _refused("WebAuthn client data is not JSON")
    if not isinstance(client_data, dict):
        return _refused("WebAuthn client data is not a JSON object")
    kind = client_data.get("type")
    if kind != "webauthn.get":
        return _refused(f"WebAuthn client data type is {kind!r}, not 'webauthn.get'")
    if client_data.get("challenge") != base64url(decision_challenge(decision)):
        return _refused("WebAuthn challenge does not match this decision")
    origin = client_data.get("origin")
    if origin not in relying_party.origins:
        return _refused(f"origin {origin} not allowed")
    if client_data.get("crossOrigin") is True:
        return _refused(f"WebAuthn assertion was made in a cross-origin frame of {origin}")
    try:
        authenticator_data = parse_authenticator_data(authenticator_data_bytes)
    except (WebAuthnException, ValueError, IndexError):
        return _refused("WebAuthn authenticator data is malformed")
    if authenticator_data.rp_id_hash != hashlib.sha256(relying_party.rp_id.encode()).digest():
        return _refused(f"assertion is for another relying party than {relying_party.rp_id}")
    if not authenticator_data.flags.up:
        return _refused("authenticator did not see the user present (UP flag not set)")
    if not authenticator_data.flags.uv:
        return _refused("authenticator did not verify the user (UV flag not set)")
    counter = authenticator_data.sign_count
    if (counter or key.sign_count) and counter <= key.sign_count:
        return _refused(
            f"signature counter of credential {key_id} did not increase ({counter}, last "
            f"seen {key.sign_count}): a replayed assertion or a cloned authenticator"
        )
    if user_handle and user_handle != key.operator_id.encode():
        return _refused(f"assertion's user handle is not operator {key.operator_id}")
    try:
        verified = webauthn.verify_authentication_response(
            credential={
                "id": assertion.credential_id,
                "rawId": assertion.credential_id,
                "type": "public-key",
                "response": {
                    "clientDataJSON": assertion.client_data_json,
                    "authenticatorData": assertion.authenticator_data,
                    "signature": assertion.signature,
                    **({"userHandle": assertion.user_handle} if assertion.user_handle else {}),
                },
            },
            expected_challenge=decision_challenge(decision),
            expected_rp_id=relying_party.rp_id,
            expected_origin=sorted(relying_party.origins),
            credential_public_key=key.raw_public_key(),
            credential_current_sign_count=key.sign_count,
            require_user_verification=True,
        )
    except KeyFileError as error:
        return _refused(str(error))
    except WebAuthnException as error:
        if "verify authentication signature" in str(error):
            return _refused(f"WebAuthn signature does not verify with credential {key_id}")
        return _refused(f"WebAuthn assertion refused: {error}")
    except (ValueError, TypeError, KeyError) as error:
        return _refused(f"WebAuthn assertion refused: {type(error).__name__}: {error}")
    return SignatureCheck(fault=None, sign_count=verified.new_sign_count)
