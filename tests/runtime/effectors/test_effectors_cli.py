"""``hotzone effectors list|status``: the commands of docs/effectors.md run as written.

``status`` reads a run recorded from the real chain: c2 run by the runtime, the SAPIENT
gateway with the shipped gateway file's node for ``shorad-suwalki``, a ``sapient-py`` node
acting on an approved order, and the run's recorder.
"""

from __future__ import annotations

import asyncio
import re
import shlex
import shutil
from pathlib import Path

import pytest

from hotzone.cli import main
from hotzone.runtime.effectors.config import load_gateway_spec
from hotzone.sim.scenario import shipped_scenario_path
from hotzone.store import SQLiteStore
from hotzone.types import Event, EventKind, GeoPoint, TaskOrder
from tests.runtime.effectors.test_c2_audits_effectors import c2_with_a_sapient_effector

DOC = Path(__file__).parents[3] / "docs" / "effectors.md"
# 4.6 km east of the SHORAD battery at Suwałki, flying west.
NEAR_THE_BATTERY = GeoPoint(lat_deg=54.09, lon_deg=23.04, height_m=300.0)


async def record_a_drill(store_file: Path) -> TaskOrder:
    link = load_gateway_spec("suwalki-drones").effectors["shorad-suwalki"]
    store = SQLiteStore(store_file)
    try:
        async with c2_with_a_sapient_effector(
            "accept", effector="shorad-suwalki", link=link, commands="look_at", store=store
        ) as (loop, _peer):
            order = await loop.approve(await loop.threat(NEAR_THE_BATTERY))
            await loop.until_engagement(order, "in_progress")
            await loop.until(
                lambda: any(
                    e.kind == EventKind.SENSOR_STATUS
                    and e.attributes.get("active_orders") == order.order_id
                    for e in loop.watch.of_type(Event)
                )
            )
    finally:
        store.close()
    return order


def test_every_effectors_command_in_the_docs_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    commands = re.findall(r"^\$ (hotzone effectors .+)$", DOC.read_text(), flags=re.MULTILINE)
    assert [shlex.split(c)[2] for c in commands] == ["list", "status"]
    run = tmp_path / "runs" / "drill"
    (run / "inputs").mkdir(parents=True)
    shutil.copy(shipped_scenario_path("suwalki-drones"), run / "inputs" / "scenario.yaml")
    order = asyncio.run(record_a_drill(run / "hotzone.sqlite"))

    printed = []
    for command in commands:
        assert main(shlex.split(command)[1:]) == 0, (command, capsys.readouterr())
        printed.append(capsys.readouterr().out)
    with capsys.disabled():
        print(*printed, sep="\n")
    listing, status = ({line.split()[0]: line for line in out.splitlines()} for out in printed)
    assert listing["icpt-suwalki"].split()[3:5] == ["mavlink", "6"]
    assert "udp 127.0.0.1:14551 system 11" in listing["icpt-suwalki"]
    assert listing["shorad-suwalki"].split()[3:5] == ["sapient", "4"]
    assert "node 5c6f0a52-3d2e-4b8e-9a41-0f1d2c3b4a51 (kinetic)" in listing["shorad-suwalki"]
    assert listing["eoir-garrison"].split()[3] == "none"
    assert status["eoir-garrison"].split()[1:5] == ["none", "unreported", "-", "-"]

    # The battery: connected, at its one concurrent task, a round used, the order active.
    assert status["shorad-suwalki"].split()[1:6] == [
        "sapient",
        "connected",
        "busy",
        "3/4",
        f"{order.order_id}:in_progress",
    ]
    # An effector the run never heard of: unreported, all rounds, nothing active.
    assert status["icpt-suwalki"].split()[1:6] == ["mavlink", "unreported", "-", "6/6", "-"]
