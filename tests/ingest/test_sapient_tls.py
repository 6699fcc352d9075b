"""Mutual TLS on the SAPIENT port: a sensor without a valid client certificate is refused
(and counted) before any of its bytes are decoded; a sensor with one registers.

Certificates are made here with ``cryptography``: a CA for the fusion node and its
sensors, and a second CA nobody trusts (a sensor certificate the attacker signed himself).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hotzone.bus import InProcessBus
from hotzone.cli import main
from hotzone.runtime.sapient_server import SapientServer, server_tls_context
from hotzone.runtime.sources import SourcePublisher
from tests.ingest.test_sapient import SENSOR, registration
from tests.ingest.test_sapient_server import SensorClient

TIMEOUT_S = 10.0


class Authority:
    """A CA that signs certificates into ``directory`` as PEM files."""

    def __init__(self, name: str, directory: Path) -> None:
        self.name = name
        self.directory = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.certificate = (
            self._builder(subject, self.key.public_key())
            .issuer_name(subject)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.path = directory / f"{name}.pem"
        self.path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))

    @staticmethod
    def _builder(
        subject: x509.Name, public_key: ec.EllipticCurvePublicKey
    ) -> x509.CertificateBuilder:
        now = datetime.now(UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
        )

    def issue(self, common_name: str, server: bool = False) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        builder = self._builder(subject, key.public_key()).issuer_name(self.certificate.subject)
        if server:
            names = [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        certificate = builder.sign(self.key, hashes.SHA256())
        certificate_path = self.directory / f"{common_name}.crt"
        key_path = self.directory / f"{common_name}.key"
        certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return certificate_path, key_path


def _client_context(ca: Authority, identity: tuple[Path, Path] | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca.path)
    if identity is not None:
        context.load_cert_chain(*identity)
    return context


async def _register(port: int, context: ssl.SSLContext) -> bool:
    """Whether a sensor connecting with ``context`` gets its registration accepted."""
    try:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=context, server_hostname="localhost"
        )
    except (ssl.SSLError, ConnectionError):
        return False
    client = SensorClient(reader, writer)
    try:
        await client.send(registration())
        answer = await client.receive()
        return answer.WhichOneof("content") == "registration_ack" and bool(
            answer.registration_ack.acceptance
        )
    except (ssl.SSLError, ConnectionError, asyncio.IncompleteReadError):
        return False  # TLS 1.3: the server's refusal arrives after the client's handshake
    finally:
        writer.close()
        with contextlib.suppress(ssl.SSLError, ConnectionError):
            await writer.wait_closed()


def test_only_a_sensor_with_a_certificate_of_the_clients_ca_registers(tmp_path: Path) -> None:
    trusted = Authority("hotzone-sapient-ca", tmp_path)
    rogue = Authority("rogue-ca", tmp_path)
    server_identity = trusted.issue("fusion-node", server=True)
    sensor_identity = trusted.issue("sensor-1")
    forged_identity = rogue.issue("sensor-1-forged")

    async def scenario() -> tuple[list[bool], int, list[str]]:
        bus = InProcessBus()
        publisher = SourcePublisher(bus, "pl")
        context = server_tls_context(*server_identity, client_ca=trusted.path)
        server = SapientServer(publisher, host="127.0.0.1", port=0, tls=context)
        await server.start()
        try:
            outcomes = [
                await _register(server.port, _client_context(trusted, None)),
                await _register(server.port, _client_context(trusted, forged_identity)),
                await _register(server.port, _client_context(trusted, sensor_identity)),
            ]
            # The refused handshakes are counted once their handlers have run.
            for _ in range(100):
                if publisher.counters.connections_refused_tls >= 2:
                    break
                await asyncio.sleep(0.05)
            registered = server.counters.registrations * [SENSOR]
        finally:
            await server.close()
            await bus.close()
        return outcomes, publisher.counters.connections_refused_tls, registered

    outcomes, refused, registered = asyncio.run(scenario())
    assert outcomes == [False, False, True]
    assert refused == 2
    assert registered == [SENSOR]


def test_a_plain_tcp_sensor_is_refused_by_a_tls_port(tmp_path: Path) -> None:
    trusted = Authority("hotzone-sapient-ca", tmp_path)
    server_identity = trusted.issue("fusion-node", server=True)

    async def scenario() -> tuple[bytes, int]:
        bus = InProcessBus()
        publisher = SourcePublisher(bus, "pl")
        context = server_tls_context(*server_identity, client_ca=trusted.path)
        server = SapientServer(publisher, host="127.0.0.1", port=0, tls=context)
        await server.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"\x10\x00\x00\x00not a TLS client hello")
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), TIMEOUT_S)
            writer.close()
            for _ in range(100):
                if publisher.counters.connections_refused_tls:
                    break
                await asyncio.sleep(0.05)
        finally:
            await server.close()
            await bus.close()
        return answer, publisher.counters.connections_refused_tls

    answer, refused = asyncio.run(scenario())
    assert SENSOR.encode() not in answer  # nothing of SAPIENT was answered
    assert refused == 1


def test_ingest_sapient_with_client_ca_registers_only_certified_sensors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The options of "Mutual TLS on the SAPIENT port" (docs/ingest/limits.md), end to end."""
    trusted = Authority("hotzone-sapient-ca", tmp_path)
    certificate, key = trusted.issue("fusion-node", server=True)
    sensor_identity = trusted.issue("sensor-1")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    args = ["ingest", "sapient", "--tcp", f"127.0.0.1:{port}", "--sapient-tls-cert"]
    args += [str(certificate), "--sapient-tls-key", str(key)]
    args += ["--sapient-client-ca", str(trusted.path), "--duration", "6"]
    codes: list[int] = []
    command = threading.Thread(target=lambda: codes.append(main(args)))
    command.start()

    async def sensors() -> list[bool]:
        for _ in range(200):  # until the server listens
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except ConnectionRefusedError:
                await asyncio.sleep(0.05)
        return [
            await _register(port, _client_context(trusted, None)),
            await _register(port, _client_context(trusted, sensor_identity)),
        ]

    try:
        outcomes = asyncio.run(sensors())
    finally:
        command.join(timeout=60)
    out = capsys.readouterr().out
    assert codes == [0], out
    assert outcomes == [False, True]
    assert "(mutual TLS)" in out
    # The probe for the listening port (no handshake at all) and the sensor without a
    # certificate were both refused.
    assert "2 connections refused (no valid client certificate)" in out


def test_sapient_tls_options_are_checked_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trusted = Authority("hotzone-sapient-ca", tmp_path)
    certificate, key = trusted.issue("fusion-node", server=True)
    only_ca = ["ingest", "sapient", "--sapient-client-ca", str(trusted.path)]
    assert main(only_ca) == 2
    assert "--sapient-tls-cert and --sapient-tls-key go together" in capsys.readouterr().err
    wrong_key = ["ingest", "sapient", "--sapient-tls-cert", str(certificate)]
    assert main([*wrong_key, "--sapient-tls-key", str(trusted.path)]) == 2
    assert "SAPIENT TLS:" in capsys.readouterr().err
    not_sapient = ["ingest", "sbs", "--file", str(certificate), "--sapient-tls-cert"]
    assert main([*not_sapient, str(certificate), "--sapient-tls-key", str(key)]) == 2
    assert "go with the sapient format" in capsys.readouterr().err
