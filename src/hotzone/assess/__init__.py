"""Assessment: features of track histories, the classifier, identity, threat, anomaly and
alert rules, and the stage that runs them (docs/assess.md, docs/architecture.md).
"""

# The public modules of this package (import them directly; none is imported here).
__all__: list[str] = [
    "alerts",
    "anomaly",
    "classifier",
    "context",
    "features",
    "history",
    "identity",
    "stage",
    "threat",
    "training",
]
