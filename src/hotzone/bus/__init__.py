"""The message bus: the `Bus` protocol and its in-process implementation."""

from hotzone.bus.base import Bus, BusMessage, Subscription
from hotzone.bus.inprocess import BusClosedError, InProcessBus, InProcessSubscription

__all__ = [
    "Bus",
    "BusClosedError",
    "BusMessage",
    "InProcessBus",
    "InProcessSubscription",
    "Subscription",
]
