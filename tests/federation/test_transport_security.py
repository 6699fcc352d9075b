"""Releasability enforced by the transport: NATS accounts, permissions and TLS per nation.

Real nats-servers run the configs ``hotzone federation config`` writes (hub, PL, LT, RO)
and the hub's stream is made by ``hotzone federation hub``. While PL publishes national,
``REL PL LT``, ``REL PL RO`` and ``NATO`` messages and the share path runs, two clients
with Romania's credentials try to read and write Poland's data:

* the client as issued (``ro.creds``): it subscribes to ``>`` and calls the JetStream API
  of every domain; every such attempt is a permission violation, counted;
* a client of a user Romania's account could issue itself, without any permission limit
  (signed with ``keys/RO.nk``): it subscribes to ``>``, calls every domain's JetStream API
  and makes streams sourcing Poland's log and Lithuania's copies. Only the account
  boundaries stand in its way.

Neither receives one byte of a message not releasable to Romania (each secret message
carries a unique marker, searched for in every byte either client received), Poland's log
holds no forged order, and Lithuania and Romania receive exactly what is released to them.
A client without credentials, or without TLS, gets nothing at all.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import nats
import nats.errors
import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import api

from hotzone.bus import NatsBus
from hotzone.bus.nats import carried_messages, close_abandoned, connect_options
from hotzone.cli import main
from hotzone.runtime.federation import (
    ShareBatch,
    ShareExporter,
    ShareImporter,
    federation_streams,
)
from hotzone.runtime.federation_security import FederationKeys, user_credentials
from hotzone.runtime.routing import subject_for
from hotzone.share.releasability import releasable_to
from hotzone.types import Alert, AnyMessage, from_json, to_json
from tests.federation.helpers import EPOCH, collect, detection, items_in, wait_for
from tests.federation.servers import ConfiguredFederation, configured_federation

NATIONS = ["PL", "LT", "RO"]
LABELS = ("NATIONAL PL", "REL PL LT", "REL PL RO", "NATO")
ALERTS = 40
SPIES = ("SPY_PL_LOG", "SPY_PL_SHARE", "SPY_LT_COPIES", "SPY_ALL_COPIES", "SPY_ANY_RECIPIENT")


@pytest.fixture
def configured(tmp_path: Path) -> Iterator[ConfiguredFederation]:
    with configured_federation(NATIONS, tmp_path) as federation:
        yield federation


def _alert(marker: str, index: int, label: str) -> Alert:
    return Alert(
        alert_id=marker,
        time=EPOCH + timedelta(milliseconds=index),
        kind="test",
        summary=f"alert {index} of PL",
        priority=3,
        releasability=label,
    )


@dataclass
class Spy:
    """A client holding Romania's credentials: what it received, what it was refused."""

    received: list[Msg] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)

    async def error(self, error: Exception) -> None:
        if "permissions violation" in str(error).lower():
            self.violations.append(str(error))

    async def take(self, message: Msg) -> None:
        self.received.append(message)


async def _connect(
    url: str, spy: Spy | None = None, client: NatsClient | None = None, **options: Any
) -> NatsClient:
    async def ignore(_: Exception) -> None:
        return None

    client = client or NatsClient()
    await client.connect(
        url,
        allow_reconnect=False,
        connect_timeout=5,
        error_cb=spy.error if spy is not None else ignore,
        **options,
    )
    return client


async def _refusal(url: str, **options: Any) -> str:
    """Why ``url`` refused the connection (the test fails if it was accepted)."""
    client = NatsClient()
    try:
        await _connect(url, client=client, **options)
    except Exception as error:  # nats-py raises several types; the reason is the point
        # Refused, nats-py raises without closing the stream it opened (with reconnection
        # off it does not tidy up): closed here, or the garbage collector finds an open
        # TLS writer later, in whichever test runs then.
        await close_abandoned(client)
        return f"{type(error).__name__}: {error}"
    await client.close()
    raise AssertionError(f"{url} accepted a client it should refuse ({options.keys()})")


def _plaintext_client(host: str, port: int) -> tuple[dict[str, Any], bytes]:
    """A client that speaks NATS without TLS: the server's INFO, then everything it sent
    back after CONNECT, SUB > and PING, until it closed the connection."""
    with socket.create_connection((host, port), timeout=30) as connection:
        stream = connection.makefile("rb")
        info = json.loads(stream.readline().split(b" ", 1)[1])
        connection.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\nSUB > 1\r\nPING\r\n')
        answer = b""
        while chunk := connection.recv(4096):
            answer += chunk
        return info, answer


async def _attempts_of_issued_credentials(
    federation: ConfiguredFederation, spy: Spy
) -> tuple[NatsClient, int]:
    """Romania's client as issued: subscribe to everything, write into Poland's log, use
    every domain's JetStream API. Returns the client and how many attempts it made."""
    client = await _connect(
        federation.url("RO"), spy, **connect_options(federation.creds("RO"), federation.ca)
    )
    for pattern in (">", "hz.PL.>", "hz.share.>", "hz.LT.>", "jsdeliver.>"):
        await client.subscribe(pattern, cb=spy.take)
    writes = [
        ("hz.PL.c2.order", b'{"forged": "order"}'),
        ("hz.share.LT.PL.alert", b'{"forged": "copy"}'),
        ("$JS.pl.API.STREAM.INFO.HZ_PL", b""),
        ("$JS.pl.API.STREAM.MSG.GET.HZ_PL", b'{"seq": 1}'),
        ("$JS.pl.API.STREAM.CREATE.HZ_PL", b'{"name": "HZ_PL"}'),
        ("$JS.pl.API.CONSUMER.CREATE.HZ_PL", b'{"stream_name": "HZ_PL"}'),
        ("$JS.hub.API.STREAM.INFO.ALLIANCE", b""),
        ("$JS.hub.API.CONSUMER.CREATE.ALLIANCE.spy.hz.share.LT.>", b"{}"),
        ("$JS.lt.API.STREAM.INFO.HZ_LT_IMPORT", b""),
    ]
    for subject, payload in writes:
        await client.publish(subject, payload, reply=client.new_inbox())
    await client.flush()
    # It is a working client inside its own account.
    own = await client.request("$JS.ro.API.INFO", b"", timeout=10)
    spy.answers["$JS.ro.API.INFO"] = own.data.decode()
    await client.subscribe("hz.RO.>", cb=spy.take)
    await client.subscribe("_INBOX.>", cb=spy.take)
    return client, 5 + len(writes)


def _spy_consumer(name: str, **filters: object) -> bytes:
    """A request for a push consumer on ALLIANCE delivering to Romania's prefix."""
    config = {"name": name, "deliver_subject": f"jsdeliver.RO.{name}", "ack_policy": "none"}
    return json.dumps({"stream_name": "ALLIANCE", "config": {**config, **filters}}).encode()


async def _attempts_of_unrestricted_user(federation: ConfiguredFederation, spy: Spy) -> NatsClient:
    """A user Romania's account signs for itself, with no permission limits: everything it
    can reach is in Romania's account."""
    keys = FederationKeys.read(federation.out / "keys")
    creds = federation.out / "ro-unrestricted.creds"
    creds.write_text(user_credentials(keys.accounts["RO"], "ro-unrestricted"))
    options = connect_options(creds, federation.ca)
    client = await _connect(federation.url("RO"), spy, **options)
    requests = {
        "$JS.pl.API.STREAM.INFO.HZ_PL": b"",
        "$JS.pl.API.STREAM.MSG.GET.HZ_PL": b'{"seq": 1}',
        "$JS.pl.API.STREAM.INFO.HZ_PL_C2": b"",
        "$JS.pl.API.STREAM.INFO.HZ_PL_AUDIT": b"",
        "$JS.hub.API.STREAM.INFO.ALLIANCE": b"",
        "$JS.hub.API.STREAM.MSG.GET.ALLIANCE": b'{"seq": 1}',
        "$JS.hub.API.CONSUMER.CREATE.ALLIANCE.spy.hz.share.LT.>": json.dumps(
            {
                "stream_name": "ALLIANCE",
                "config": {
                    "name": "spy",
                    "filter_subject": "hz.share.LT.>",
                    "deliver_subject": "jsdeliver.RO.spy",
                    "ack_policy": "none",
                },
            }
        ).encode(),
        # The NATO share's consumer, asked for with more in its body than its subject says.
        "$JS.hub.API.CONSUMER.CREATE.ALLIANCE.spy2.hz.share.NATO.>": _spy_consumer(
            "spy2", filter_subject="hz.share.LT.>"
        ),
        "$JS.hub.API.CONSUMER.CREATE.ALLIANCE.spy3.hz.share.NATO.>": _spy_consumer(
            "spy3", filter_subjects=["hz.share.NATO.>", "hz.share.LT.>"]
        ),
        "$JS.lt.API.STREAM.INFO.HZ_LT_IMPORT": b"",
    }
    for subject, payload in requests.items():
        try:
            answer = await client.request(subject, payload, timeout=3)
            spy.answers[subject] = answer.data.decode()
        except (nats.errors.NoRespondersError, nats.errors.TimeoutError) as error:
            spy.answers[subject] = type(error).__name__
    # Streams in its own domain that try to copy Poland's log and Lithuania's copies
    # (`SPIES`).
    js = client.jetstream(domain="ro")
    spies = {
        "SPY_PL_LOG": api.StreamSource(
            name="HZ_PL", external=api.ExternalStream(api="$JS.pl.API", deliver="jsdeliver.RO")
        ),
        "SPY_PL_SHARE": api.StreamSource(
            name="HZ_PL_SHARE",
            external=api.ExternalStream(api="$JS.pl.API", deliver="jsdeliver.RO"),
        ),
        "SPY_LT_COPIES": api.StreamSource(
            name="ALLIANCE",
            filter_subject="hz.share.LT.>",
            external=api.ExternalStream(api="$JS.hub.API", deliver="jsdeliver.RO"),
        ),
        # Every copy at the hub: no filter, or one wider than NATO's one copy per hop.
        "SPY_ALL_COPIES": api.StreamSource(
            name="ALLIANCE",
            external=api.ExternalStream(api="$JS.hub.API", deliver="jsdeliver.RO"),
        ),
        "SPY_ANY_RECIPIENT": api.StreamSource(
            name="ALLIANCE",
            filter_subject="hz.share.*.PL.>",
            external=api.ExternalStream(api="$JS.hub.API", deliver="jsdeliver.RO"),
        ),
    }
    for name, source in spies.items():
        await js.add_stream(api.StreamConfig(name=name, sources=[source]))
    # Forged orders and copies, published where it can publish: its own account.
    await client.publish("hz.PL.c2.order", b'{"forged": "order"}')
    await client.publish("hz.share.LT.PL.alert", b'{"forged": "copy"}')
    await client.flush()
    await client.close()
    # Listens to everything from before Poland publishes (not before asking: a listener
    # on ">" would be a responder to every request in its account, itself included).
    listener = await _connect(federation.url("RO"), spy, **options)
    await listener.subscribe(">", cb=spy.take)
    await listener.flush()
    return listener


@dataclass
class Outcome:
    issued: Spy
    unrestricted: Spy
    attempts: int
    received: dict[str, list[AnyMessage]]
    spy_streams: dict[str, int]
    pl_log: int
    pl_c2: int
    published_at_pl: int
    refusals: dict[str, str]
    own_returned: dict[str, int]
    accepted: dict[str, int]
    hub_nato_copies: int


async def _scenario(federation: ConfiguredFederation, sent: list[Alert]) -> Outcome:
    buses = {
        nation: await NatsBus.connect(
            federation.url(nation),
            federation_streams(nation, archives=False),
            domain=nation.lower(),
            name=f"test-{nation}",
            user_credentials=federation.creds(nation),
            tls_ca=federation.ca,
        )
        for nation in NATIONS
    }
    stop = asyncio.Event()
    received: dict[str, list[AnyMessage]] = {nation: [] for nation in NATIONS}
    tasks = []
    importers = {}
    for nation, bus in buses.items():
        watcher = await bus.subscribe(f"hz.{nation}.ally.>")
        tasks.append(asyncio.create_task(collect(watcher, received[nation], stop)))
        importers[nation] = ShareImporter(bus, nation)
        for service in (ShareExporter(bus, nation, NATIONS), importers[nation]):
            ready = asyncio.Event()
            tasks.append(asyncio.create_task(service.run(ready, stop)))
            await ready.wait()

    issued, unrestricted = Spy(), Spy()
    issued_client, attempts = await _attempts_of_issued_credentials(federation, issued)
    unrestricted_client = await _attempts_of_unrestricted_user(federation, unrestricted)
    # Romania's credentials open no other server; no credentials open none.
    refusals = {}
    ro_options = connect_options(federation.creds("RO"), federation.ca)
    anonymous = connect_options(None, federation.ca)
    for name in ("hub", "PL", "LT"):
        refusals[f"RO creds at {name}"] = await _refusal(federation.url(name), **ro_options)
    for name in ("hub", *NATIONS):
        refusals[f"no creds at {name}"] = await _refusal(federation.url(name), **anonymous)

    poland = buses["PL"]
    published = 0
    for index, message in enumerate(sent):
        await poland.publish(subject_for(message, "PL"), to_json(message))
        found = detection(index, "suwalki", "NATIONAL PL")
        await poland.publish(subject_for(found, "PL"), to_json(found))
        published += 2
    expected = {
        nation: {m.alert_id for m in sent if releasable_to(m.releasability, nation)}
        for nation in ("LT", "RO")
    }
    await wait_for(
        lambda: all(len(received[n]) >= len(expected[n]) for n in expected),
        120,
        "LT and RO to receive what PL released to them",
    )
    await wait_for(lambda: len(issued.violations) >= attempts, 30, "every refusal reported")
    nato = sum(1 for m in sent if m.releasability == "NATO")
    await wait_for(
        lambda: importers["PL"].counters.own_returned >= nato, 60, "PL's NATO items back at PL"
    )
    await asyncio.sleep(1.0)  # anything extra would show up now
    spy_streams = {}
    js = unrestricted_client.jetstream(domain="ro")
    for name in SPIES:
        spy_streams[name] = (await js.stream_info(name)).state.messages
    hub_client = await _connect(
        federation.url("hub"), **connect_options(federation.creds("hub"), federation.ca)
    )
    hub_nato = await items_in(
        hub_client.jetstream(domain="hub"), "ALLIANCE", filter_subject="hz.share.NATO.>"
    )
    await hub_client.close()
    log = await poland.jetstream.stream_info("HZ_PL", subjects_filter="hz.PL.c2.>")
    pl_c2 = sum((log.state.subjects or {}).values())
    stop.set()
    await asyncio.gather(*tasks)
    for client in (issued_client, unrestricted_client):
        await client.close()
    for bus in buses.values():
        await bus.close()
    return Outcome(
        issued=issued,
        unrestricted=unrestricted,
        attempts=attempts,
        received=received,
        spy_streams=spy_streams,
        pl_log=log.state.messages,
        pl_c2=pl_c2,
        published_at_pl=published,
        refusals=refusals,
        own_returned={
            nation: importer.counters.own_returned for nation, importer in importers.items()
        },
        accepted={nation: importer.counters.accepted for nation, importer in importers.items()},
        hub_nato_copies=hub_nato,
    )


def test_romanias_credentials_reach_nothing_not_releasable_to_romania(
    configured: ConfiguredFederation,
) -> None:
    hub = ["federation", "hub", "--nations", ",".join(NATIONS), "--nats", configured.url("hub")]
    assert (
        main([*hub, "--creds", str(configured.creds("hub")), "--tls-ca", str(configured.ca)]) == 0
    )
    sent = [
        _alert(f"{LABELS[i % 4].replace(' ', '-')}-{uuid.uuid4().hex}", i, LABELS[i % 4])
        for i in range(ALERTS)
    ]
    outcome = asyncio.run(_scenario(configured, sent))

    # The share path works with accounts and TLS: each ally has exactly its releases.
    for nation in ("LT", "RO"):
        got = [m.alert_id for m in outcome.received[nation] if isinstance(m, Alert)]
        wanted = [m.alert_id for m in sent if releasable_to(m.releasability, nation)]
        assert sorted(got) == sorted(wanted), nation
    # A NATO item travels once per hop: the hub holds it once, LT and RO each receive it
    # exactly once, and PL, whose import stream takes it back, does not import it again.
    nato = [m.alert_id for m in sent if m.releasability == "NATO"]
    assert outcome.hub_nato_copies == len(nato)
    for nation in ("LT", "RO"):
        got = Counter(m.alert_id for m in outcome.received[nation] if isinstance(m, Alert))
        assert [got[key] for key in nato] == [1] * len(nato), nation
    assert outcome.received["PL"] == []
    assert outcome.own_returned == {"PL": len(nato), "LT": 0, "RO": 0}
    # ... and each importer handled each copy once (the log's duplicate window would hide
    # a second admission from the lists above).
    assert outcome.accepted == {
        "PL": 0,
        **{n: sum(releasable_to(m.releasability, n) for m in sent) for n in ("LT", "RO")},
    }
    # Not one byte of a message not releasable to Romania reached either Romanian client.
    secrets = [m.alert_id.encode() for m in sent if not releasable_to(m.releasability, "RO")]
    secrets.append(b"det-suwalki-")  # PL's detections never leave Poland
    for spy in (outcome.issued, outcome.unrestricted):
        for message in spy.received:
            raw = message.subject.encode() + b"\0" + message.data
            assert not any(secret in raw for secret in secrets), message.subject
            if message.data.startswith(b'{"forged"'):
                continue  # what the spy published itself, in its own account
            if message.subject.startswith("hz.share.") and message.subject.endswith(".batch"):
                batch = msgspec.msgpack.decode(message.data, type=ShareBatch)
                for item in batch.items:
                    assert releasable_to(from_json(item.payload).releasability, "RO")
            elif message.subject.startswith("hz."):
                # What Romania's importer admitted from one shared batch is one bus batch.
                for carried in carried_messages(message):
                    decoded = from_json(carried.payload)
                    assert releasable_to(decoded.releasability, "RO")
    # The unrestricted client saw Romania's own traffic (it was listening) ...
    assert any(m.subject.startswith("hz.RO.ally.PL.") for m in outcome.unrestricted.received)
    # ... and every attempt of the issued credentials was refused by the server.
    assert len(outcome.issued.violations) == outcome.attempts, outcome.issued.violations
    assert '"type":"io.nats.jetstream.api.v1.account_info_response"' in outcome.issued.answers[
        "$JS.ro.API.INFO"
    ].replace(" ", "")
    # Poland's, Lithuania's and the hub's JetStream answer nothing but "not here".
    # The NATO share's export answers, but only for the filter its subject names: a body
    # asking for LT's copies, or for several filters, is refused by the hub's JetStream.
    create = "$JS.hub.API.CONSUMER.CREATE.ALLIANCE"
    answers = outcome.unrestricted.answers
    assert '"err_code":10131' in answers[f"{create}.spy2.hz.share.NATO.>"]  # filter mismatch
    assert '"err_code":10137' in answers[f"{create}.spy3.hz.share.NATO.>"]  # several filters
    for subject, answer in outcome.unrestricted.answers.items():
        assert answer in ("NoRespondersError", "TimeoutError") or '"error"' in answer, (
            subject,
            answer,
        )
    assert outcome.spy_streams == dict.fromkeys(SPIES, 0)
    # Poland's log holds what Poland published, no forged order.
    assert outcome.pl_c2 == 0
    assert outcome.pl_log == outcome.published_at_pl
    # Credentials open their own nation's server only; none open nothing.
    for what, why in outcome.refusals.items():
        assert "authorization" in why.lower(), (what, why)


def test_a_client_without_tls_gets_nothing(configured: ConfiguredFederation) -> None:
    for server in configured.plan.servers:
        info, answer = _plaintext_client(server.host, server.port)
        assert info["tls_required"] is True
        assert info.get("auth_required") is True
        assert b"PONG" not in answer and b"MSG" not in answer, answer
    hub = configured.plan.hub
    assert hub.leaf_port is not None
    with socket.create_connection((hub.host, hub.leaf_port), timeout=30) as leaf:
        info = json.loads(leaf.makefile("rb").readline().split(b" ", 1)[1])
    assert info["tls_required"] is True
    # And a TLS client that does not trust the alliance CA does not connect either.
    why = asyncio.run(_refusal(configured.url("PL"), tls=ssl.create_default_context()))
    assert "certificate" in why.lower(), why
