"""The message bus: the `Bus` protocol, the in-process bus and the NATS JetStream bus."""

from hotzone.bus.base import Bus, BusMessage, Subscription
from hotzone.bus.inprocess import BusClosedError, InProcessBus, InProcessSubscription
from hotzone.bus.nats import (
    BusPublishError,
    NatsBus,
    NatsSubscription,
    NoStreamError,
    StreamSource,
    StreamSpec,
    nation_streams,
)

__all__ = [
    "Bus",
    "BusClosedError",
    "BusMessage",
    "BusPublishError",
    "InProcessBus",
    "InProcessSubscription",
    "NatsBus",
    "NatsSubscription",
    "NoStreamError",
    "StreamSource",
    "StreamSpec",
    "Subscription",
    "nation_streams",
]
