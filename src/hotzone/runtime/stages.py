"""Which pipeline stages a run has: every stage that exists, in data-flow order."""

from __future__ import annotations

from hotzone.runtime.services import Stage
from hotzone.sim.scenario import Scenario


def build_stages(scenario: Scenario) -> list[Stage]:
    """The stages for a run of ``scenario``, lowest first (fusion, then assessment, ...)."""
    return []
