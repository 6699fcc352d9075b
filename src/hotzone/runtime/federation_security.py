"""Accounts, users, permissions and TLS for a federation: releasability in the transport.

Decentralized NATS JWT authentication (docs/federation.md says why not static accounts):
one *operator* per alliance signs every account; each server trusts the operator and
preloads the accounts it serves (memory resolver); a client proves it holds a user key
that an account signed (a ``.creds`` file).

Accounts and where they live::

    hub server:   SYS, ALLIANCE (JetStream, the ALLIANCE stream), PL_GW, LT_GW, RO_GW
    PL server:    SYS, PL (JetStream, domain pl)        -- leaf: PL  <-> PL_GW at the hub
    LT server:    SYS, LT (JetStream, domain lt)        -- leaf: LT  <-> LT_GW at the hub

A nation's account exists only on its own server, so a nation's credentials open nothing
else, and nothing of another nation's account is on its server. ``{N}_GW`` is the nation's
side of the hub (its leaf connection is bound to it); it holds no data and grants nothing
but these exports and imports, the only paths between accounts:

* ``{N}_GW`` -> ``ALLIANCE``: creating the hub's source consumer on ``HZ_{N}_SHARE`` (in
  domain ``{n}``, across the leaf), its deliveries (``jsdeliver.alliance.{N}.>``) and
  their flow control. The hub reads what N released, and nothing else of N's.
* ``ALLIANCE`` -> ``{N}_GW`` only: creating a consumer on ``ALLIANCE`` *filtered to*
  ``hz.share.{N}.>`` (nats-server >= 2.10 puts the filter in the API subject, so the
  export names it), its deliveries (``jsdeliver.{N}.>``) and flow control. A nation can
  source exactly the copies addressed to it; no other filter, stream or API call of the
  hub's JetStream answers it.
* ``ALLIANCE`` -> every ``{N}_GW``: creating a consumer on ``ALLIANCE`` filtered to
  ``hz.share.NATO.>``, the one copy of each item released to every member (delivered on
  the same ``jsdeliver.{N}.>``). A ``REL`` item is never on that subject, so this opens
  nothing addressed to one nation to another.

Both exports that carry data require an activation token: the exporting account signs
which account may import it, so the transport itself says who receives what.

A nation's import stream sources ``ALLIANCE`` through ``$JS.hub.API`` (the same spec as
on open servers). On the hub, ``$JS.hub.API.CONSUMER.>`` of every account is mapped to that
account's own JetStream API, which for ``{N}_GW`` (no JetStream) would answer instead of
the import; ``{N}_GW`` therefore maps ``$JS.hub.API.CONSUMER.CREATE.ALLIANCE.>`` (a more
specific source, ahead of the hub's mapping) to ``alliance.{N}.API.…``, where the import is.

A nation's users (``{n}.creds``) may publish only ``hz.{N}.>``, what it releases
(``hz.share.*.{N}.>``), its own JetStream API and acknowledgements, and subscribe only
``hz.{N}.>`` and ``_INBOX.>``. Every server listens with TLS (certificates of one CA per
alliance, for 127.0.0.1, localhost and the server's own address) on client and leaf ports.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hotzone.bus.nkeys import KeyPair, Role, encode_jwt, format_credentials
from hotzone.runtime.owner_lease import lease_bucket

if TYPE_CHECKING:
    from hotzone.runtime.federation_servers import FederationPlan

HUB_API_PREFIX = "$JS.hub.API"
ALLIANCE_ACCOUNT = "ALLIANCE"
ALLIANCE_STREAM = "ALLIANCE"
ALL_MEMBERS = "NATO"
"""Recipient token of the share subjects of items released to every member."""
SYSTEM_ACCOUNT = "SYS"
_UNLIMITED = -1


def nation_deliver_prefix(nation: str) -> str:
    """Where the hub delivers what ``nation``'s import stream sources from ALLIANCE."""
    return f"jsdeliver.{nation}"


def alliance_deliver_prefix(nation: str) -> str:
    """Where ``nation``'s server delivers its share stream to the hub's ALLIANCE."""
    return f"jsdeliver.alliance.{nation}"


def gateway_account(nation: str) -> str:
    return f"{nation}_GW"


def _hub_api_alias(nation: str) -> str:
    return f"alliance.{nation}.API"


def _gateway_nation(account: str, nations: Sequence[str]) -> str | None:
    return next((n for n in nations if gateway_account(n) == account), None)


# --- keys ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FederationKeys:
    """The operator and every account key of one alliance (``keys/*.nk``: keep offline)."""

    operator: KeyPair
    accounts: dict[str, KeyPair]

    @classmethod
    def create(cls, nations: Sequence[str]) -> FederationKeys:
        names = [SYSTEM_ACCOUNT, ALLIANCE_ACCOUNT]
        for nation in nations:
            names += [nation, gateway_account(nation)]
        return cls(
            KeyPair.create(Role.OPERATOR), {name: KeyPair.create(Role.ACCOUNT) for name in names}
        )

    def with_nations(self, nations: Sequence[str]) -> FederationKeys:
        """These keys plus new accounts for nations that have none yet."""
        accounts = dict(self.accounts)
        for nation in nations:
            for name in (nation, gateway_account(nation)):
                accounts.setdefault(name, KeyPair.create(Role.ACCOUNT))
        return FederationKeys(self.operator, accounts)

    @classmethod
    def read(cls, directory: Path) -> FederationKeys:
        operator = KeyPair.from_seed((directory / "operator.nk").read_text())
        accounts = {
            path.stem: KeyPair.from_seed(path.read_text())
            for path in sorted(directory.glob("*.nk"))
            if path.stem != "operator"
        }
        return cls(operator, accounts)

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        _write_secret(directory / "operator.nk", self.operator.seed + "\n")
        for name, key in self.accounts.items():
            _write_secret(directory / f"{name}.nk", key.seed + "\n")

    def public(self, account: str) -> str:
        return self.accounts[account].public_key


def _write_secret(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


# --- JWTs ---------------------------------------------------------------------------------

_ACCOUNT_LIMITS: dict[str, Any] = {
    "subs": _UNLIMITED,
    "data": _UNLIMITED,
    "payload": _UNLIMITED,
    "imports": _UNLIMITED,
    "exports": _UNLIMITED,
    "wildcards": True,
    "conn": _UNLIMITED,
    "leaf": _UNLIMITED,
}
_JETSTREAM_LIMITS: dict[str, Any] = {
    "mem_storage": _UNLIMITED,
    "disk_storage": _UNLIMITED,
    "streams": _UNLIMITED,
    "consumer": _UNLIMITED,
}


def _fc_subjects(stream: str, domain: str) -> list[str]:
    """Flow-control replies of a consumer on ``stream`` (both reply formats of nats-server:
    ``$JS.FC.<stream>.…`` and ``$JS.FC.<domain>.<account hash>.<stream>.…``)."""
    return [f"$JS.FC.{stream}.>", f"$JS.FC.{domain}.*.{stream}.>"]


@dataclass(frozen=True)
class _Link:
    """One export from ``exporter`` imported by ``importer`` (optionally renamed)."""

    exporter: str
    importer: str
    kind: str  # "service" | "stream"
    subject: str
    local_subject: str | None = None
    token: bool = True


def _links(nations: Sequence[str]) -> list[_Link]:
    links = []
    for nation in nations:
        gateway, domain = gateway_account(nation), nation.lower()
        share = f"HZ_{nation}_SHARE"
        # The hub sources what the nation released (its share stream, in its domain).
        links += [
            _Link(
                gateway, ALLIANCE_ACCOUNT, "service", f"$JS.{domain}.API.CONSUMER.CREATE.{share}"
            ),
            _Link(gateway, ALLIANCE_ACCOUNT, "stream", f"{alliance_deliver_prefix(nation)}.>"),
        ]
        links += [
            _Link(gateway, ALLIANCE_ACCOUNT, "service", subject, token=False)
            for subject in _fc_subjects(share, domain)
        ]
        # The nation sources from ALLIANCE what is addressed to it and what is released
        # to every member (one consumer per filter: the filter is in the API subject),
        # and nothing else.
        links += [
            _Link(
                ALLIANCE_ACCOUNT,
                gateway,
                "service",
                f"$JS.API.CONSUMER.CREATE.ALLIANCE.*.hz.share.{recipient}.>",
                f"{_hub_api_alias(nation)}.CONSUMER.CREATE.ALLIANCE.*.hz.share.{recipient}.>",
            )
            for recipient in (nation, ALL_MEMBERS)
        ]
        links += [
            _Link(ALLIANCE_ACCOUNT, gateway, "stream", f"{nation_deliver_prefix(nation)}.>"),
        ]
        links += [
            _Link(ALLIANCE_ACCOUNT, gateway, "service", subject, token=False)
            for subject in _fc_subjects("ALLIANCE", "hub")
        ]
    return links


def account_jwts(keys: FederationKeys, nations: Sequence[str]) -> dict[str, str]:
    """Every account's JWT, signed by the operator: limits, exports, imports, mappings."""
    links = _links(nations)
    exports: dict[str, list[dict[str, Any]]] = {name: [] for name in keys.accounts}
    imports: dict[str, list[dict[str, Any]]] = {name: [] for name in keys.accounts}
    exported: set[tuple[str, str]] = set()
    for link in links:
        if (link.exporter, link.subject) not in exported:
            exported.add((link.exporter, link.subject))
            export: dict[str, Any] = {"name": link.subject, "subject": link.subject}
            export["type"] = link.kind
            if link.token:
                export["token_req"] = True
            exports[link.exporter].append(export)
        entry: dict[str, Any] = {
            "name": link.subject,
            "subject": link.subject,
            "account": keys.public(link.exporter),
            "type": link.kind,
        }
        if link.local_subject is not None:
            entry["local_subject"] = link.local_subject
        if link.token:
            entry["token"] = encode_jwt(
                keys.accounts[link.exporter],
                keys.public(link.importer),
                f"{link.importer} imports {link.subject}",
                {"subject": link.subject, "kind": link.kind, "type": "activation"},
            )
        imports[link.importer].append(entry)

    jetstream = {ALLIANCE_ACCOUNT, *nations}
    jwts = {}
    for name, key in keys.accounts.items():
        claims: dict[str, Any] = {
            "type": "account",
            "limits": {**_ACCOUNT_LIMITS, **(_JETSTREAM_LIMITS if name in jetstream else {})},
            "default_permissions": {"pub": {}, "sub": {}},
        }
        if exports[name]:
            claims["exports"] = exports[name]
        if imports[name]:
            claims["imports"] = imports[name]
        if (nation := _gateway_nation(name, nations)) is not None:
            # Ahead of the hub's own mapping of $JS.hub.API.CONSUMER.> to the JetStream
            # API of this (JetStream-less) account, which would answer instead.
            create = f"CONSUMER.CREATE.{ALLIANCE_STREAM}.>"
            claims["mappings"] = {
                f"{HUB_API_PREFIX}.{create}": [
                    {"subject": f"{_hub_api_alias(nation)}.{create}", "weight": 100}
                ]
            }
        jwts[name] = encode_jwt(keys.operator, key.public_key, name, claims)
    return jwts


def operator_jwt(keys: FederationKeys) -> str:
    return encode_jwt(
        keys.operator,
        keys.operator.public_key,
        "hotzone alliance",
        {"type": "operator", "system_account": keys.public(SYSTEM_ACCOUNT)},
    )


def nation_permissions(nation: str) -> dict[str, Any]:
    """What a nation's users may do on their own server: their subjects, their releases,
    their JetStream (the API of their domain, acknowledgements, the owner's lease) and
    replies."""
    domain = nation.lower()
    return {
        "pub": {
            "allow": [
                f"hz.{nation}.>",
                f"hz.share.*.{nation}.>",
                "$JS.API.>",
                f"$JS.{domain}.API.>",
                "$JS.ACK.>",
                # The lease of the nation's owner node (`hotzone.runtime.owner_lease`).
                f"$KV.{lease_bucket(nation)}.>",
            ]
        },
        "sub": {"allow": [f"hz.{nation}.>", "_INBOX.>"]},
    }


def user_credentials(
    account: KeyPair, name: str, permissions: Mapping[str, Any] | None = None
) -> str:
    """A new user of ``account``: the text of its ``.creds`` file."""
    user = KeyPair.create(Role.USER)
    claims: dict[str, Any] = {"type": "user", "subs": -1, "data": -1, "payload": -1}
    claims.update(permissions or {})
    return format_credentials(encode_jwt(account, user.public_key, name, claims), user.seed)


# --- TLS ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsFiles:
    """One server's certificate and key, and the alliance CA that signed it."""

    ca: Path
    cert: Path
    key: Path


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _alternative_names(hosts: Iterable[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _load_or_create_ca(
    directory: Path, now: dt.datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_path, key_path = directory / "ca.pem", directory / "ca-key.pem"
    if cert_path.exists() and key_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{key_path} is not an EC key")
        return x509.load_pem_x509_certificate(cert_path.read_bytes()), key
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "hotzone alliance"),
            x509.NameAttribute(NameOID.COMMON_NAME, "hotzone alliance CA"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=5 * 365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    _write_secret(key_path, _pem_key(key).decode())
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def write_tls(directory: Path, servers: Sequence[str], hosts: Sequence[str]) -> dict[str, TlsFiles]:
    """The alliance CA (kept when ``directory`` has one already) and a certificate per
    server, valid for ``hosts`` (and 127.0.0.1 and localhost) for two years."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_cert, ca_key = _load_or_create_ca(directory, now)
    names = _alternative_names(["127.0.0.1", "localhost", *hosts])
    files = {}
    for server in servers:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "hotzone alliance"),
                        x509.NameAttribute(NameOID.COMMON_NAME, f"nats-server {server}"),
                    ]
                )
            )
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=730))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
            .sign(ca_key, hashes.SHA256())
        )
        # ``server-`` first: Canada's server is ``ca``, whose ``ca.pem`` and ``ca-key.pem``
        # would overwrite the CA's own files.
        files[server] = TlsFiles(
            ca=directory / "ca.pem",
            cert=directory / f"server-{server}.pem",
            key=directory / f"server-{server}-key.pem",
        )
        files[server].cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_secret(files[server].key, _pem_key(key).decode())
    return files


# --- per server ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerSecurity:
    """What one server's config needs: whom it trusts, which accounts it serves, its TLS,
    and (a nation's server) the credentials and local account of its leaf connection."""

    operator_jwt: str
    system_account: str
    accounts: dict[str, str]  # public key -> account JWT
    tls: TlsFiles
    leaf_credentials: Path | None = None
    leaf_account: str | None = None

    def config_lines(self) -> list[str]:
        lines = [
            "tls {",
            f'  cert_file: "{self.tls.cert}"',
            f'  key_file: "{self.tls.key}"',
            "  timeout: 5",
            "}",
            f'operator: "{self.operator_jwt}"',
            f"system_account: {self.system_account}",
            "resolver: MEMORY",
            "resolver_preload: {",
        ]
        lines += [f'  {public}: "{token}"' for public, token in self.accounts.items()]
        return [*lines, "}"]

    def leaf_listen_lines(self) -> list[str]:
        return [
            "  tls {",
            f'    cert_file: "{self.tls.cert}"',
            f'    key_file: "{self.tls.key}"',
            "    timeout: 5",
            "  }",
        ]

    def leaf_remote(self, url: str) -> str:
        return (
            f'{{ url: "{url}", account: {self.leaf_account}, '
            f'credentials: "{self.leaf_credentials}", '
            f'tls: {{ ca_file: "{self.tls.ca}", timeout: 5 }} }}'
        )


@dataclass
class FederationSecrets:
    """Where ``secure`` wrote the credentials and the CA."""

    directory: Path
    ca: Path
    credentials: dict[str, Path] = field(default_factory=dict)  # "hub" or a nation code
    leaf_credentials: dict[str, Path] = field(default_factory=dict)
    keys: FederationKeys | None = None

    def creds(self, name: str) -> Path:
        return self.credentials[name]


def secure_federation(
    plan: FederationPlan, directory: Path, keys: FederationKeys | None = None
) -> FederationSecrets:
    """Give every server of ``plan`` its accounts, TLS and leaf credentials, and write into
    ``directory``: ``keys/`` (operator and account seeds; reused when present, so that
    credentials issued before stay valid), ``tls/`` (the CA, kept when present, and a
    certificate per server), ``hub.creds`` (the hub's ALLIANCE account), ``{n}.creds`` (a
    nation's users) and ``{n}-leaf.creds`` (its server's leaf connection)."""
    nations = list(plan.nations)
    directory = directory.resolve()
    if keys is None:
        key_directory = directory / "keys"
        existing = (key_directory / "operator.nk").exists()
        keys = FederationKeys.read(key_directory) if existing else FederationKeys.create(nations)
    keys = keys.with_nations(nations)
    keys.write(directory / "keys")
    jwts = account_jwts(keys, nations)
    trusted = operator_jwt(keys)
    system = keys.public(SYSTEM_ACCOUNT)
    tls: dict[str, TlsFiles] = {}
    for server in plan.servers:
        # Each certificate names its own server's addresses only (and the loopback ones):
        # one nation's certificate does not pass for another nation's server.
        tls.update(write_tls(directory / "tls", [server.name], server.certificate_names))

    def preload(names: Iterable[str]) -> dict[str, str]:
        return {keys.public(name): jwts[name] for name in names}

    secrets = FederationSecrets(directory, tls[plan.hub.name].ca, keys=keys)
    hub_creds = directory / "hub.creds"
    _write_secret(hub_creds, user_credentials(keys.accounts[ALLIANCE_ACCOUNT], "hub"))
    secrets.credentials["hub"] = hub_creds
    plan.hub.security = ServerSecurity(
        trusted,
        system,
        preload([SYSTEM_ACCOUNT, ALLIANCE_ACCOUNT, *map(gateway_account, nations)]),
        tls[plan.hub.name],
    )
    for nation, server in plan.nations.items():
        creds = directory / f"{server.name}.creds"
        leaf = directory / f"{server.name}-leaf.creds"
        account = keys.accounts[nation]
        _write_secret(creds, user_credentials(account, nation, nation_permissions(nation)))
        gateway = keys.accounts[gateway_account(nation)]
        _write_secret(leaf, user_credentials(gateway, f"{nation} leaf"))
        secrets.credentials[nation] = creds
        secrets.leaf_credentials[nation] = leaf
        server.security = ServerSecurity(
            trusted,
            system,
            preload([SYSTEM_ACCOUNT, nation]),
            tls[server.name],
            leaf_credentials=leaf,
            leaf_account=account.public_key,
        )
    return secrets
