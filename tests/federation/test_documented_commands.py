"""The commands of docs/federation.md ("Running it"), run verbatim: configs with accounts,
credentials and TLS, every server on an address of its own (loopback addresses standing
for separate hosts); the servers they describe (on the documented addresses and ports);
the hub's stream; PL's owner node and a sector node, LT's node; the audit check of PL's
chain. PL's releases for LT reach LT's servers; PL's detections are tracked once.

The documented ports (4222-4226) are fixed, so runs of this test on one host take turns
(a lock file), and a port something else holds is a failure that says so.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import fcntl
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import nats.js.errors
import pytest

from hotzone.bus import NatsBus
from hotzone.cli import main
from hotzone.commands.federation import server_hosts
from hotzone.runtime.federation import federation_streams
from hotzone.runtime.federation_servers import NatsServerProcess, plan_federation
from hotzone.runtime.node import node_stages
from hotzone.runtime.stages import build_stages
from hotzone.sim.scenario import load_scenario
from hotzone.store import SQLiteStore
from tests.federation.helpers import items_in
from tests.federation.servers import nats_server_binary

DOC = Path(__file__).parents[2] / "docs" / "federation.md"
RUN_CLI = "import sys; from hotzone.cli import main; sys.exit(main(sys.argv[1:]))"
NODE_TIMEOUT_S = 300


def documented_commands() -> list[str]:
    section = DOC.read_text().split("## Running it", 1)[1]
    block = section.split("```", 2)[1]
    lines = [line.split("  #", 1)[0].strip() for line in block.splitlines()]
    return [line for line in lines if line]


@contextlib.contextmanager
def documented_ports(addresses: list[tuple[str, int]]) -> Iterator[None]:
    lock_path = Path(tempfile.gettempdir()) / "hotzone-federation-doc-ports.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for host, port in addresses:
            with socket.socket() as probe:
                if probe.connect_ex((host, port)) == 0:
                    pytest.fail(f"{host}:{port} (documented) is in use by another program")
        yield


def _run_cli(line: str, cwd: Path) -> subprocess.Popen[str]:
    args = shlex.split(line)
    assert args[0] == "hotzone"
    return subprocess.Popen(
        [sys.executable, "-c", RUN_CLI, *args[1:]],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _rest(process: subprocess.Popen[str]) -> str:
    """What a process that ended early printed (for the failure message)."""
    process.kill()
    return process.communicate()[0][-2000:]


def _finish(process: subprocess.Popen[str], what: str) -> str:
    try:
        output, _ = process.communicate(timeout=NODE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise AssertionError(f"{what} did not finish: {output[-2000:]}") from None
    assert process.returncode == 0, f"{what}: exit {process.returncode}: {output[-2000:]}"
    return output


async def _consumers_of_pl(url: str, out: Path) -> int:
    bus = await NatsBus.connect(
        url,
        federation_streams("PL", archives=False),
        domain="pl",
        ensure_streams=False,
        user_credentials=out / "pl.creds",
        tls_ca=out / "tls" / "ca.pem",
    )
    try:
        return int((await bus.jetstream.stream_info("HZ_PL")).state.consumer_count)
    except nats.js.errors.NotFoundError:
        return 0  # the node has not made the stream yet
    finally:
        await bus.close()


async def _copies_at_lt(url: str, out: Path, wanted: int, timeout_s: float) -> int:
    """The copies LT's import stream holds, once it holds ``wanted`` (or at the timeout),
    but LT's own NATO items, which come back from the hub with everyone else's."""
    bus = await NatsBus.connect(
        url,
        federation_streams("LT", archives=False),
        domain="lt",
        ensure_streams=False,
        user_credentials=out / "lt.creds",
        tls_ca=out / "tls" / "ca.pem",
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    try:
        while True:
            # Copies addressed to LT (LT's own NATO items come back too: not counted).
            held = await items_in(bus.jetstream, "HZ_LT_IMPORT", exclude_origin="LT")
            if held >= wanted or loop.time() > deadline:
                return held
            await asyncio.sleep(0.5)
    finally:
        await bus.close()


def _tracked(output: str) -> int:
    match = re.search(r"tracked (\d+) \(", output)
    assert match is not None, output
    return int(match.group(1))


def test_the_documented_commands_run_and_share_with_accounts_and_tls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = nats_server_binary()
    commands = [c for c in documented_commands() if "federation-demo" not in c]
    config, servers, hub, *rest = commands
    nodes = [line for line in rest if line.startswith("hotzone node ")]
    (verify,) = [line for line in rest if line.startswith("hotzone audit verify ")]
    assert config.startswith("hotzone federation config --nations PL,LT,RO --out federation ")
    assert servers.startswith("nats-server -c federation/hub.conf")
    assert hub.startswith("hotzone federation hub ") and hub.endswith(" --watch &")
    hub = hub.removesuffix("&").strip()  # in the background: a process of its own
    assert len(nodes) == 3
    sector_node = next(n for n in nodes if "--no-replay" in n)
    replaying = [n for n in nodes if "--no-replay" not in n]
    owner = next(n for n in replaying if "--nation PL" in n)
    assert "--sectors" in sector_node and "--owner" not in sector_node and "--owner" in owner
    monkeypatch.chdir(tmp_path)
    out = Path("federation")

    assert main(shlex.split(config)[1:]) == 0
    default_host, hosts = server_hosts(re.findall(r"--host (\S+)", config))
    plan = plan_federation(["PL", "LT", "RO"], out, host=default_host, base_port=4222, hosts=hosts)
    # Every server on an address of its own, as on separate hosts.
    assert len({server.host for server in plan.servers}) == len(plan.servers)
    for server in plan.servers:
        text = (out / f"{server.name}.conf").read_text()
        assert f"listen: {server.host}:{server.port}\n" in text
    urls = {
        name: f"tls://{s.host}:{s.port}" for name, s in (("hub", plan.hub), *plan.nations.items())
    }
    assert re.findall(r"-c (\S+)", servers) == ["federation/hub.conf", "federation/pl.conf"]
    assert plan.hub.leaf_port is not None
    addresses = [(server.host, server.port) for server in plan.servers]
    with documented_ports([*addresses, (plan.hub.host, plan.hub.leaf_port)]):
        processes = [
            NatsServerProcess(server, tmp_path / "logs", binary, out / f"{server.name}.conf")
            for server in plan.servers
        ]
        started: list[subprocess.Popen[str]] = []
        try:
            for process in processes:
                process.start()
            assert urls["hub"] in hub
            watching = _run_cli(hub, tmp_path)
            started.append(watching)
            assert watching.stdout is not None
            first_line = watching.stdout.readline()  # once the ALLIANCE stream exists
            assert "watching its sources" in first_line, first_line + _rest(watching)
            # The sector node reads from the start: it is subscribed before PL replays.
            started.append(_run_cli(sector_node, tmp_path))
            scenario = load_scenario("suwalki-drones")
            built = build_stages(scenario, seed=1, nation="PL")
            sectors = tuple(shlex.split(sector_node.split("--sectors", 1)[1])[0].split(","))
            consumers = len(node_stages(built.stages, scenario, sectors, owner=False)) + 1
            deadline = time.monotonic() + NODE_TIMEOUT_S
            while asyncio.run(_consumers_of_pl(urls["PL"], out)) < consumers:
                assert started[1].poll() is None, started[1].communicate()[0][-2000:]
                assert time.monotonic() < deadline, "the sector node never subscribed"
                time.sleep(0.2)
            runs = {line: _run_cli(line, tmp_path) for line in replaying}
            started += runs.values()
            outputs = {line: _finish(process, line) for line, process in runs.items()}
            outputs[sector_node] = _finish(started[1], sector_node)
            shared = re.search(r"shared (\{.*?\})", outputs[owner])
            assert shared is not None, outputs[owner]
            released_to_lt = ast.literal_eval(shared.group(1)).get("LT", 0)
            assert released_to_lt > 0, outputs[owner]
            held = asyncio.run(_copies_at_lt(urls["LT"], out, released_to_lt, 60.0))
            watching.send_signal(signal.SIGINT)  # Ctrl-C: the watch ends cleanly
            hub_output = _finish(watching, hub)
            assert "stopped watching" in hub_output, hub_output
        finally:
            for child in started:
                if child.poll() is None:
                    child.kill()
                    child.communicate()
            for process in processes:
                process.stop()
    with capsys.disabled():  # what each node did, for the log
        print("", *(output.strip().splitlines()[-1] for output in outputs.values()), sep="\n")
    # Every copy PL released to LT crossed the hub into LT's servers, and nothing else.
    assert held == released_to_lt
    # ... and LT's node admitted PL's copies while it ran (not "received {}").
    (lt_node,) = [line for line in replaying if "--nation LT" in line]
    received = re.search(r"received (\{.*?\})", outputs[lt_node])
    assert received is not None, outputs[lt_node]
    assert ast.literal_eval(received.group(1)).get("PL", 0) > 0, outputs[lt_node]
    # Every detection and report PL published was tracked once, by one of its two nodes.
    with SQLiteStore(tmp_path / "hotzone-PL.sqlite") as owner_log:
        published = owner_log.count("detection") + owner_log.count("report")
        assert owner_log.count("assessment") > 0 and owner_log.count("c2_state") > 0
    assert _tracked(outputs[sector_node]) > 0 and _tracked(outputs[owner]) > 0
    assert _tracked(outputs[sector_node]) + _tracked(outputs[owner]) == published
    # The owner's audit chain verifies, as documented.
    capsys.readouterr()
    assert main(shlex.split(verify)[1:]) == 0, capsys.readouterr()
