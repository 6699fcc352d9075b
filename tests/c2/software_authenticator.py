"""A software WebAuthn authenticator: a real P-256 key making real credentials and
assertions (ES256).

It does what a security key does for ``navigator.credentials.get()`` (WebAuthn Level 2,
§6.1 authenticator data, §6.3.3 authenticatorGetAssertion): authenticatorData =
SHA-256(rp id) || flags || 32-bit counter, and an ECDSA signature over authenticatorData ||
SHA-256(clientDataJSON); and for ``create()`` it answers with "none" attestation (§8.7)
carrying the attested credential data (§6.5.1). The client data is what the browser would
write: type, challenge (base64url), origin.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from datetime import UTC, datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import encode_cbor

from hotzone.c2.keys import OperatorKey
from hotzone.c2.webauthn import base64url, from_base64url
from hotzone.types import OperatorRole, WebAuthnAssertion

USER_PRESENT = 0x01
USER_VERIFIED = 0x04
ATTESTED_CREDENTIAL_DATA = 0x40


class SoftwareAuthenticator:
    """One credential on one authenticator, with its signature counter."""

    def __init__(self, rp_id: str, credential_id: bytes | None = None) -> None:
        self.rp_id = rp_id
        self.credential_id = base64url(credential_id or os.urandom(16))
        self._private_key = ec.generate_private_key(ec.SECP256R1())
        self.counter = 0

    def cose_public_key(self) -> bytes:
        """The credential's public key as registration gives it (COSE_Key, EC2, ES256)."""
        numbers = self._private_key.public_key().public_numbers()
        return encode_cbor(
            {
                1: 2,  # kty: EC2
                3: -7,  # alg: ES256
                -1: 1,  # crv: P-256
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def enrolled(self, operator_id: str, role: OperatorRole, nation: str = "PL") -> OperatorKey:
        """The registry entry an enrollment of this credential makes."""
        return OperatorKey(
            operator_id=operator_id,
            role=role,
            nation=nation,
            kind="webauthn",
            credential_id=self.credential_id,
            public_key=base64.b64encode(self.cose_public_key()).decode("ascii"),
            enrolled_at=datetime(2025, 3, 1, tzinfo=UTC),
        )

    def get_assertion(
        self,
        challenge: bytes,
        origin: str,
        rp_id: str | None = None,
        flags: int = USER_PRESENT | USER_VERIFIED,
        client_data_type: str = "webauthn.get",
        credential_id: str | None = None,
    ) -> WebAuthnAssertion:
        """Sign ``challenge`` as the browser at ``origin`` asked; the counter goes up by one."""
        self.counter += 1
        authenticator_data = (
            hashlib.sha256((rp_id or self.rp_id).encode()).digest()
            + bytes([flags])
            + struct.pack(">I", self.counter)
        )
        client_data = json.dumps(
            {
                "type": client_data_type,
                "challenge": base64url(challenge),
                "origin": origin,
                "crossOrigin": False,
            },
            separators=(",", ":"),
        ).encode()
        signature = self._private_key.sign(
            authenticator_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return WebAuthnAssertion(
            credential_id=credential_id or self.credential_id,
            authenticator_data=base64url(authenticator_data),
            client_data_json=base64url(client_data),
            signature=base64url(signature),
        )

    def make_credential(
        self,
        challenge: bytes,
        origin: str,
        rp_id: str | None = None,
        flags: int = USER_PRESENT | USER_VERIFIED,
    ) -> dict[str, object]:
        """What ``navigator.credentials.create`` gives (JSON form), with "none" attestation."""
        credential_id = from_base64url(self.credential_id)
        authenticator_data = (
            hashlib.sha256((rp_id or self.rp_id).encode()).digest()
            + bytes([flags | ATTESTED_CREDENTIAL_DATA])
            + struct.pack(">I", self.counter)
            + bytes(16)  # AAGUID: none
            + struct.pack(">H", len(credential_id))
            + credential_id
            + self.cose_public_key()
        )
        client_data = json.dumps(
            {"type": "webauthn.create", "challenge": base64url(challenge), "origin": origin},
            separators=(",", ":"),
        ).encode()
        attestation = encode_cbor({"fmt": "none", "attStmt": {}, "authData": authenticator_data})
        return {
            "id": self.credential_id,
            "rawId": self.credential_id,
            "type": "public-key",
            "response": {
                "clientDataJSON": base64url(client_data),
                "attestationObject": base64url(attestation),
            },
        }
