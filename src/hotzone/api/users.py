"""Users of the picture: name, role, nation and a scrypt password hash, from a YAML file.

The file shipped with hotzone (``demo_users.yaml``) holds TEST users for the demo only,
with their passwords written beside them; a deployment passes its own file
(``hotzone serve --users FILE``) whose hashes come from ``hash_password``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from pathlib import Path

import msgspec
import yaml

from hotzone.types import OperatorRole

DEMO_USERS_FILE = Path(__file__).with_name("demo_users.yaml")

# scrypt cost: interactive-login strength (RFC 7914 §2 suggests N=2^14 for this use).
_SCRYPT_N = 2**14
_SCRYPT_R = 8
_SCRYPT_P = 1


class UsersFileError(ValueError):
    """A users file that cannot be used, with the reason."""


class User(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One account: ``nation`` decides what the user may see, ``role`` what they may do."""

    username: str
    role: OperatorRole
    nation: str
    password_hash: str
    display_name: str = ""
    test_only: bool = False


class _UsersFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    users: list[User]


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64), for a users file."""
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )
    encoded_salt = base64.b64encode(salt).decode()
    encoded_digest = base64.b64encode(digest).decode()
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${encoded_salt}${encoded_digest}"


def verify_password(password: str, password_hash: str) -> bool:
    """Whether ``password`` matches; a malformed hash matches nothing."""
    try:
        scheme, n, r, p, salt, digest = password_hash.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest, validate=True)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt, validate=True),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def load_users(path: Path) -> dict[str, User]:
    """Users by name from a YAML file ``users: [{username, role, nation, password_hash}]``."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        parsed = msgspec.convert(raw, _UsersFile)
    except OSError as error:
        raise UsersFileError(f"{path}: {error.strerror}") from None
    except (yaml.YAMLError, msgspec.ValidationError) as error:
        raise UsersFileError(f"{path}: {error}") from None
    users: dict[str, User] = {}
    for user in parsed.users:
        if user.username in users:
            raise UsersFileError(f"{path}: user {user.username!r} appears twice")
        users[user.username] = user
    return users
