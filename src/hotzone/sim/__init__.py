"""Scenario simulator: targets, sensor models and ground truth, deterministic under a seed;
the simulated effect model and operators, and the classifier's training data (simulation
only, docs/architecture.md).
"""

# The public modules of this package (import them directly; none is imported here).
__all__: list[str] = [
    "effects",
    "operator",
    "scenario",
    "sensors",
    "simulator",
    "targets",
    "training_data",
    "truth",
    "units",
]
