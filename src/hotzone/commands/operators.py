"""``hotzone operators enroll|keygen|list|revoke``: who may sign decisions, with which key.

The registry is ``operators.yaml`` in the nation's configuration directory (``--home``,
default ``$HOTZONE_HOME`` or ``~/.config/hotzone``). It holds public keys only: an Ed25519
key file's private half stays with the operator, and WebAuthn credentials are enrolled
from the browser (``/api/webauthn/register``), their private keys never leaving the
authenticator. A running c2 re-reads the file when it changes. See docs/operators.md.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import TYPE_CHECKING

from hotzone.commands.common import CommandError, OutputFile, SubParsers

if TYPE_CHECKING:
    from hotzone.c2.keys import OperatorKey, OperatorRegistry, RegistryFile

ROLES = ("observer", "operator", "commander")
_NATION = re.compile(r"[A-Z]{2,3}")


def add_parser(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "operators",
        help="enroll, list or revoke the operators' decision keys",
        description="The operators enrolled to sign decisions, with their public keys "
        "(Ed25519 key files for the CLI, WebAuthn credentials from the browser), in "
        "operators.yaml of the nation's configuration directory.",
    )
    actions = parser.add_subparsers(dest="operators_action", metavar="ACTION", required=True)

    enroll = actions.add_parser(
        "enroll",
        help="enroll an operator's Ed25519 key (a new key file, or an existing one's public half)",
    )
    enroll.add_argument("--operator", required=True, help="operator id")
    enroll.add_argument("--role", required=True, choices=ROLES, help="the operator's role")
    enroll.add_argument("--nation", default="PL", help="the operator's nation (default PL)")
    source = enroll.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--key-out",
        type=OutputFile(),
        help="make a new key: the private key file to write (owner-only), and FILE.pub",
    )
    source.add_argument(
        "--public-key",
        type=Path,
        help="enroll the public half of an existing key file (or of its FILE.pub)",
    )
    enroll.add_argument(
        "--simulation", action="store_true", help="a simulated operator (refused in live runs)"
    )
    _add_home(enroll)
    enroll.set_defaults(run=run_enroll)

    keygen = actions.add_parser(
        "keygen",
        help="on the operator's console: make a key file and FILE.pub (enrolls nothing)",
    )
    keygen.add_argument("--operator", required=True, help="operator id")
    keygen.add_argument("--role", required=True, choices=ROLES, help="the operator's role")
    keygen.add_argument("--out", type=OutputFile(), required=True, help="private key file to write")
    keygen.add_argument(
        "--simulation", action="store_true", help="a simulated operator (refused in live runs)"
    )
    keygen.set_defaults(run=run_keygen)

    listing = actions.add_parser("list", help="the enrolled keys")
    _add_home(listing)
    listing.set_defaults(run=run_list)

    revoke = actions.add_parser("revoke", help="revoke an operator's keys, or one key")
    revoke.add_argument(
        "target",
        metavar="ID_OR_KEY",
        help="operator id or key id (one that begins with '-', as a WebAuthn credential id may, "
        "after '--')",
    )
    _add_home(revoke)
    revoke.set_defaults(run=run_revoke)


def _add_home(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--home",
        type=Path,
        default=None,
        help="the nation's configuration directory (default $HOTZONE_HOME or ~/.config/hotzone)",
    )


def _registry_file(home: Path | None) -> RegistryFile:
    from hotzone.c2.keys import OPERATORS_FILE, RegistryFile
    from hotzone.c2.trust import config_home

    return RegistryFile((home or config_home()) / OPERATORS_FILE)


def _public_half(path: Path, operator_id: str, role: str) -> OperatorKey:
    """The public key in a key file or its ``.pub``, checked against who is enrolled."""
    import yaml

    from hotzone.c2.keys import KeyFileError, OperatorKey, SigningKey
    from hotzone.types import OperatorRole

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CommandError(f"{path}: {error.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise CommandError(f"{path}: not a key file: {error}") from None
    try:
        if isinstance(document, dict) and "private_key" in document:
            key = SigningKey.load(path).public
        elif isinstance(document, dict) and {"operator_id", "role", "public_key"} <= set(document):
            key = OperatorKey(
                operator_id=str(document["operator_id"]),
                role=OperatorRole(document["role"]),
                public_key=str(document["public_key"]),
            )
            key.raw_public_key()
        else:
            raise CommandError(f"{path}: neither a key file nor a public key file (.pub)")
    except (KeyFileError, ValueError) as error:
        raise CommandError(str(error)) from None
    if (key.operator_id, str(key.role)) != (operator_id, role):
        raise CommandError(
            f"{path} is the key of {key.operator_id} ({key.role}), not {operator_id} ({role})"
        )
    return key


def write_public_file(path: Path, key: OperatorKey) -> None:
    """The public half of a key file, to hand to whoever enrolls it (not secret)."""
    import yaml

    document = {
        "operator_id": key.operator_id,
        "role": str(key.role),
        "key_id": key.key_id,
        "public_key": key.public_key,
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def _new_key_paths(out: Path) -> Path:
    """``FILE.pub`` beside ``out``; refuses to overwrite either."""
    public_path = out.with_name(out.name + ".pub")
    for path in (out, public_path):
        if path.exists():
            raise CommandError(f"{path} exists: refusing to overwrite a key")
    return public_path


def run_keygen(args: argparse.Namespace) -> int:
    from hotzone.c2.keys import SigningKey
    from hotzone.types import OperatorRole

    public_path = _new_key_paths(args.out)
    key = SigningKey.generate(args.operator, OperatorRole(args.role), args.simulation)
    key.save(args.out)
    write_public_file(public_path, key.public)
    print(f"key {key.key_id} of {args.operator} ({args.role}) written to {args.out}")
    print(f"to enroll it, hand {public_path} (public, not secret) to whoever enrolls operators")
    return 0


def run_enroll(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    import msgspec

    from hotzone.c2.keys import KeyFileError, SigningKey
    from hotzone.types import OperatorRole

    if not _NATION.fullmatch(args.nation):
        raise CommandError(f"nation must be a 2- or 3-letter code like PL, got {args.nation!r}")
    registry = _registry_file(args.home)
    generated: SigningKey | None = None
    if args.key_out is not None:
        public_path = _new_key_paths(args.key_out)
        generated = SigningKey.generate(args.operator, OperatorRole(args.role), args.simulation)
        public = generated.public
    else:
        public = _public_half(args.public_key, args.operator, args.role)
    key = msgspec.structs.replace(
        public,
        nation=args.nation,
        simulation=args.simulation or public.simulation,  # a simulation key file stays one
        enrolled_at=datetime.now(UTC),
    )
    if generated is not None:
        # The key file first: an enrolled key always has its private half somewhere.
        generated.save(args.key_out)
        write_public_file(public_path, key)
    try:
        registry.enroll(key)
    except KeyFileError as error:
        if generated is not None:
            args.key_out.unlink()
            public_path.unlink()
        raise CommandError(str(error)) from None
    if generated is not None:
        print(f"key file {args.key_out} written (keep it; only {args.operator} may read it)")
    print(
        f"enrolled {args.operator} ({args.role}, {args.nation}) with key {key.key_id} "
        f"in {registry.path}"
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    registry = _registry_file(args.home)
    keys = _current(registry).list()
    rows = [("OPERATOR", "ROLE", "NATION", "KIND", "KEY ID", "REVOKED", "ENROLLED")]
    for key in keys:
        enrolled = key.enrolled_at.strftime("%Y-%m-%dT%H:%MZ") if key.enrolled_at else "-"
        kind = f"{key.kind} (sim)" if key.simulation else key.kind
        rows.append(
            (
                key.operator_id,
                str(key.role),
                key.nation or "-",
                kind,
                key.key_id,
                "revoked" if key.revoked else "no",
                enrolled,
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    active = sum(not key.revoked for key in keys)
    print(f"{len(keys)} keys, {active} active, in {registry.path}")
    return 0


def _current(registry: RegistryFile) -> OperatorRegistry:
    from hotzone.c2.keys import KeyFileError

    try:
        return registry.current()
    except KeyFileError as error:
        raise CommandError(str(error)) from None


def run_revoke(args: argparse.Namespace) -> int:
    from hotzone.c2.keys import KeyFileError

    registry = _registry_file(args.home)
    try:
        revoked = registry.revoke(args.target)
    except KeyFileError as error:
        raise CommandError(str(error)) from None
    if revoked == 0:
        known = any(args.target in (k.operator_id, k.key_id) for k in _current(registry))
        if known:
            raise CommandError(f"{args.target}: already revoked")
        raise CommandError(f"no enrolled operator or key {args.target!r} in {registry.path}")
    print(f"revoked {revoked} key{'s' if revoked != 1 else ''} of {args.target}")
    return 0
