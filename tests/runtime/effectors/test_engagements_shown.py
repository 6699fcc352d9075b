"""The engagement as the after-action report and the page's API show it, from a run recorded
from the real chain (c2 run by the runtime, SAPIENT gateway, sapient-py node): decision ->
order -> ack -> in progress with times; an order on the bus that c2 never issued is no
engagement; a lifecycle step no trusted gateway signed is shown neither on the page nor in
the report (the report takes the steps c2 put on its audit record, as it takes orders)."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path

import msgspec
from fastapi.testclient import TestClient

from hotzone.api.app import ApiConfig, create_app
from hotzone.c2.trust import GATEWAY_ROLE, trust_node
from hotzone.runtime.report import write_report
from hotzone.sim.scenario import shipped_scenario_path
from hotzone.store import SQLiteStore
from hotzone.types import Event, TaskOrder
from tests.api.conftest import login
from tests.runtime.effectors.rig import C2_NODE, GATEWAY_KEY, proposal
from tests.runtime.effectors.rig import order as signed_order
from tests.runtime.effectors.test_effectors_cli import record_a_drill


def _recorded_run(tmp_path: Path) -> tuple[Path, TaskOrder, TaskOrder]:
    run = tmp_path / "runs" / "drill"
    (run / "inputs").mkdir(parents=True)
    shutil.copy(shipped_scenario_path("suwalki-drones"), run / "inputs" / "scenario.yaml")
    issued = asyncio.run(record_a_drill(run / "hotzone.sqlite"))
    # Validly signed by the c2 key, but never issued by c2 (not on its audit record).
    stray = signed_order(proposal("shorad-augustow", 77), 77, node=C2_NODE)
    with SQLiteStore(run / "hotzone.sqlite") as store:
        store.append("hz.PL.c2.order", stray)
    return run, issued, stray


def _forge_a_settled_step(run: Path, order: TaskOrder) -> None:
    """An ``effect_observed`` for ``order`` on the bus after the gateway failed it: the
    gateway's real ``failed`` step altered (its signature no longer matches) and an unsigned
    copy, as someone publishing on the bus directly would."""
    with SQLiteStore(run / "hotzone.sqlite") as store:
        steps = [
            stored.message
            for stored in store.replay()
            if isinstance(stored.message, Event)
            and stored.message.attributes.get("order_id") == order.order_id
            and stored.message.attributes.get("lifecycle") == "failed"
        ]
        assert steps, "the drill recorded no failed step"
        real = steps[-1]
        altered = {**real.attributes, "lifecycle": "effect_observed"}
        unsigned = {k: v for k, v in altered.items() if k not in ("signature", "signer_key_id")}
        for attributes in (altered, unsigned):
            forged = msgspec.structs.replace(
                real, event_id=f"forged-{uuid.uuid4().hex[:8]}", attributes=attributes
            )
            store.append("hz.PL.event", forged)


def test_the_report_and_the_page_api_show_the_engagement(tmp_path: Path) -> None:
    run, issued, stray = _recorded_run(tmp_path)

    page = write_report(run).read_text()
    table = page[page.index('<table id="engagements">') :]
    table = table[: table.index("</table>")]
    print(table)
    assert table.count("<tr>") == 2  # the header and the one engagement
    assert issued.order_id in table and stray.order_id not in table
    # The node went away when the drill ended, its task open: the gateway failed the
    # order after c2 had stopped, so that step is not on c2's record (the page shows it,
    # verified with the installation's keys; the report shows what c2 recorded).
    assert "shorad-suwalki (sapient)" in table and "<td>open</td>" in table
    assert "failed" not in table
    assert "1 lifecycle step(s) on the bus are not on c2's audit record" in page
    steps = [
        "approved by cdr-kowalski",
        "approved by op-nowak",
        "ordered by c2",
        "delivered",
        "acknowledged",
        "in_progress",
    ]
    positions = [table.index(step) for step in steps]
    assert max(positions[:2]) < positions[2] and positions[2:] == sorted(positions[2:])
    assert "1 order message(s) on the bus are not on c2's audit record" in page

    home = tmp_path / "home"
    trust_node(C2_NODE.public_raw, "PL", home)
    trust_node(GATEWAY_KEY.public_raw, "PL", home, GATEWAY_ROLE)
    _forge_a_settled_step(run, issued)
    page = write_report(run).read_text()
    table = page[page.index('<table id="engagements">') :]
    table = table[: table.index("</table>")]
    assert "<td>open</td>" in table and "effect_observed" not in table
    assert "3 lifecycle step(s) on the bus are not on c2's audit record" in page
    config = ApiConfig(
        store_path=run / "hotzone.sqlite",
        scenario="suwalki-drones",
        runs_directory=tmp_path / "runs",
        home=home,
    )
    with TestClient(create_app(config)) as client:
        rows = client.get("/api/engagements", headers=login(client, "operator1")).json()
    # The stray order verifies (the key is trusted), so the page shows it, and says that no
    # gateway reported on it; the issued one carries its steps.
    by_order = {row["order_id"]: row for row in rows}
    shown = by_order[issued.order_id]
    # The node went away when the drill ended, its task open: the gateway failed the order.
    assert (shown["effector_id"], shown["interface"], shown["state"], shown["outcome"]) == (
        "shorad-suwalki",
        "sapient",
        "failed",
        "failed",
    )
    assert [entry["step"] for entry in shown["timeline"]][2:] == [
        "ordered by c2",
        "ordered",
        "delivered",
        "acknowledged",
        "in_progress",
        "failed",
    ]
    assert by_order[stray.order_id]["interface"] == "effect model"
    assert by_order[stray.order_id]["timeline"][-1]["step"] == "ordered by c2"
