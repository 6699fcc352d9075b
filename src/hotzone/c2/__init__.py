"""Command and control: effectors, rules of engagement, proposals, human decisions, audit.

`hotzone.c2.stage.ResponseStage` is the one place that verifies signed human decisions,
issues signed orders and writes the audit chain (docs/c2.md, docs/architecture.md).
Submodules are imported where used; nothing is built at import time.
"""

# The public modules of this package (import them directly; none is imported here).
__all__: list[str] = [
    "audit",
    "authority",
    "config",
    "keys",
    "planner",
    "roe",
    "stage",
    "trust",
    "webauthn",
]
