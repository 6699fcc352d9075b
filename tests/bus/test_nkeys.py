"""NKeys, JWTs and credentials files as NATS writes them (`hotzone.bus.nkeys`)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from hotzone.bus.nkeys import (
    Credentials,
    KeyPair,
    NkeyError,
    Role,
    decode_jwt,
    decode_public,
    encode_jwt,
    format_credentials,
    verify,
)

# The user seed and public key printed in NATS' own documentation (nkey authentication).
DOC_SEED = "SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY"
DOC_PUBLIC = "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4"


def test_a_documented_seed_gives_its_documented_public_key() -> None:
    key = KeyPair.from_seed(DOC_SEED)
    assert key.role is Role.USER
    assert key.public_key == DOC_PUBLIC
    assert key.seed == DOC_SEED


@pytest.mark.parametrize(("role", "letter"), [(Role.OPERATOR, "O"), (Role.ACCOUNT, "A")])
def test_new_keys_carry_their_role(role: Role, letter: str) -> None:
    key = KeyPair.create(role)
    assert key.public_key.startswith(letter) and key.seed.startswith("S" + letter)
    assert decode_public(key.public_key)[0] is role
    assert KeyPair.from_seed(key.seed).public_key == key.public_key
    assert verify(key.public_key, b"nonce", key.sign(b"nonce"))
    assert not verify(key.public_key, b"other", key.sign(b"nonce"))


def test_a_damaged_key_is_refused() -> None:
    damaged = DOC_PUBLIC[:10] + ("A" if DOC_PUBLIC[10] != "A" else "B") + DOC_PUBLIC[11:]
    with pytest.raises(NkeyError, match="checksum"):
        decode_public(damaged)
    with pytest.raises(NkeyError):
        KeyPair.from_seed(DOC_PUBLIC)  # a public key is not a seed


def test_jwts_are_signed_by_their_issuer_and_tampering_shows() -> None:
    account = KeyPair.create(Role.ACCOUNT)
    user = KeyPair.create(Role.USER)
    token = encode_jwt(account, user.public_key, "pl", {"type": "user"}, issued_at=1)
    claims = decode_jwt(token)
    assert (claims["iss"], claims["sub"], claims["nats"]) == (
        account.public_key,
        user.public_key,
        {"type": "user", "version": 2},
    )
    assert len(claims["jti"]) == 52  # base32 of a SHA-512/256 digest
    header, _, signature = token.split(".")
    widened = json.dumps({**claims, "nats": {"type": "user", "pub": {"allow": [">"]}}})
    forged = base64.urlsafe_b64encode(widened.encode()).decode().rstrip("=")
    with pytest.raises(NkeyError, match="not its issuer's"):
        decode_jwt(f"{header}.{forged}.{signature}")


def test_credentials_files_round_trip_and_sign_the_nonce(tmp_path: Path) -> None:
    account = KeyPair.create(Role.ACCOUNT)
    user = KeyPair.create(Role.USER)
    token = encode_jwt(account, user.public_key, "pl", {"type": "user"})
    path = tmp_path / "pl.creds"
    path.write_text(format_credentials(token, user.seed))
    credentials = Credentials.read(path)
    assert credentials.jwt_callback()() == bytearray(token.encode())
    signature = base64.b64decode(credentials.signature_callback()("abc"))
    assert verify(user.public_key, b"abc", signature)
    other = KeyPair.create(Role.USER)
    path.write_text(format_credentials(token, other.seed))
    with pytest.raises(NkeyError, match="not the key"):
        Credentials.read(path)
    path.write_text("nothing here")
    with pytest.raises(NkeyError, match="not a NATS credentials file"):
        Credentials.read(path)
