"""c2 run on a stored run: how ``hotzone decide`` and ``hotzone abort`` reach c2 without a
live node.

The decision goes through the same `ResponseStage` a live node runs (never a second
decision engine): the stage is restored from what the run published (proposals and their
status, decisions seen, abort state, the audit chain, the latest tracks and assessments),
takes the decision as one step at the wall clock, and its outputs (the decision, c2's
`DecisionOutcome`, audit records, an order if one is issued, a new final checkpoint) are
appended to the run's store on the subjects a live node would use.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hotzone.c2.stage import ResponseStage
from hotzone.runtime.routing import subject_for
from hotzone.runtime.stages import build_stages
from hotzone.sim.scenario import load_scenario
from hotzone.store import Store
from hotzone.types import (
    AnyMessage,
    Assessment,
    C2State,
    Decision,
    DecisionOutcome,
    RunMode,
    Track,
)

# Alerts and events too: the cues c2 raised (a restarted c2 neither cues a live threat
# again nor leaves a cue open once its track ends), the acknowledgements on the record, and
# the effectors' reports (each on the record once, across a restart too).
_RESTORED_TYPES = (
    "alert",
    "audit",
    "c2_state",
    "decision",
    "event",
    "proposal",
    "proposal_status",
    "task_order",
)


class OfflineC2Error(ValueError):
    """A stored run that c2 cannot be restored from, with the reason."""


@dataclass(frozen=True)
class OfflineDecision:
    outcome: DecisionOutcome
    outputs: list[AnyMessage]


def _stored(store: Store, types: tuple[str, ...]) -> Iterator[AnyMessage]:
    for stored in store.replay(types=list(types)):
        yield stored.message


def _latest_picture(store: Store) -> list[AnyMessage]:
    """The latest track and assessment of every track id: what c2 checks a proposal
    against (a track gone since, or changed class, voids the approval)."""
    tracks: dict[str, Track] = {}
    assessments: dict[str, Assessment] = {}
    for message in _stored(store, ("track", "assessment")):
        if isinstance(message, Track):
            tracks[message.track_id] = message
        elif isinstance(message, Assessment):
            assessments[message.track_id] = message
    return [*tracks.values(), *assessments.values()]


def restored_stage(
    store: Store, scenario: str | Path, nation: str, home: Path | None
) -> ResponseStage:
    """The run's c2 stage as it was when the run stopped (mode as the run recorded it)."""
    restored = list(_stored(store, _RESTORED_TYPES))
    states = [message for message in restored if isinstance(message, C2State)]
    if not states:
        raise OfflineC2Error("the run has no c2 (no c2 state was published): nothing to decide")
    mode = RunMode(states[-1].mode)
    run = build_stages(load_scenario(scenario), mode=mode, nation=nation, home=home)
    if run.response is None:
        raise OfflineC2Error(run.response_note or "the scenario has no c2 config")
    stage = run.response
    stage.restore([*restored, *_latest_picture(store)])
    return stage


def restore_from_store(stage: ResponseStage, store: Store) -> bool:
    """Restore a restarted node's c2 from what it recorded before, if it recorded anything:
    its audit chain goes on (no second chain in one store), decisions seen stay replays,
    and the abort state holds. Whether there was anything to restore."""
    if store.count("audit") == 0:
        return False
    stage.restore([*_stored(store, _RESTORED_TYPES), *_latest_picture(store)])
    return True


def decide_on_store(
    store: Store,
    decision: Decision,
    scenario: str | Path,
    nation: str,
    home: Path | None = None,
) -> OfflineDecision:
    """Put ``decision`` to the run's c2 and append everything c2 answers to the store."""
    stage = restored_stage(store, scenario, nation, home)
    now = datetime.now(UTC)
    outputs: list[AnyMessage] = [decision]
    outputs += stage.take_decisions(now, [decision])
    outputs += stage.finish(now)
    for message in outputs:
        store.append(subject_for(message, nation), message)
    outcome = next(
        m
        for m in outputs
        if isinstance(m, DecisionOutcome) and m.decision_id == decision.decision_id
    )
    return OfflineDecision(outcome, outputs)
