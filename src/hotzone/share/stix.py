"""hotzone cyber events -> STIX 2.1 bundles, for sharing with allies' CTI platforms.

Each ``cyber_alert`` `Event` becomes:

- an ``indicator`` (what was matched: the signature, as a STIX pattern on the source IP),
- an ``observed-data`` with the ``ipv4-addr``/``ipv6-addr`` and ``network-traffic`` objects
  of the flow,
- a ``sighting`` of the indicator, seen by hotzone at the site it concerns,

plus one ``identity`` for the producer and one per site, and a statement marking with the
releasability label. Identifiers are UUIDv5 of the event id, so exporting the same events
twice gives the same bundle (allies deduplicate by id).
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterable
from typing import Any

import stix2

from hotzone.types import Event, EventKind

#: Namespace of hotzone's deterministic STIX identifiers.
HOTZONE_STIX_NAMESPACE = uuid.UUID("6f0f4b55-0f55-4e1c-9a5e-2f4b8c1d7e10")


def _id(kind: str, *parts: str) -> str:
    # STIX 2.1 wants UUIDv4 for objects other than cyber observables; a v5 hash with the
    # version bits set to 4 keeps that form and stays the same for the same event.
    digest = uuid.uuid5(HOTZONE_STIX_NAMESPACE, "|".join((kind, *parts))).bytes
    return f"{kind}--{uuid.UUID(bytes=digest, version=4)}"


def _address(text: str | None) -> Any:
    if text is None:
        return None
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    kind = stix2.IPv4Address if ip.version == 4 else stix2.IPv6Address
    return kind(value=str(ip))


def events_to_bundle(events: Iterable[Event], producer: str = "hotzone") -> stix2.Bundle:
    """Cyber events -> one STIX 2.1 bundle (other event kinds are left out)."""
    producer_identity = stix2.Identity(
        id=_id("identity", producer), name=producer, identity_class="system"
    )
    objects: dict[str, Any] = {producer_identity.id: producer_identity}
    markings: dict[str, stix2.MarkingDefinition] = {}
    for event in events:
        if event.kind is not EventKind.CYBER_ALERT:
            continue
        label = event.releasability
        if label not in markings:
            markings[label] = stix2.MarkingDefinition(
                id=_id("marking-definition", label),
                definition_type="statement",
                definition=stix2.StatementMarking(statement=f"Releasability: {label}"),
                created_by_ref=producer_identity.id,
            )
        marking_refs = [markings[label].id]
        for item in _event_objects(event, producer_identity.id, marking_refs):
            objects[item.id] = item
    return stix2.Bundle(objects=[*markings.values(), *objects.values()], allow_custom=False)


def _event_objects(event: Event, producer_id: str, marking_refs: list[str]) -> list[Any]:
    attributes = event.attributes
    common = {"created_by_ref": producer_id, "object_marking_refs": marking_refs}
    created = event.time
    site = event.subject_id or attributes.get("site")
    site_identity = (
        stix2.Identity(
            id=_id("identity", "site", site),
            name=site,
            identity_class="system",
            description="hotzone sensor site or asset",
            created=created,
            modified=created,
            **common,
        )
        if site
        else None
    )
    src = _address(attributes.get("src_ip"))
    dest = _address(attributes.get("dest_ip"))
    addresses = [item for item in (src, dest) if item is not None]
    traffic = []
    if src is not None and dest is not None:
        traffic.append(
            stix2.NetworkTraffic(
                src_ref=src.id,
                dst_ref=dest.id,
                src_port=_port(attributes.get("src_port")),
                dst_port=_port(attributes.get("dest_port")),
                protocols=[attributes.get("proto", "ip").lower()],
            )
        )
    observed_refs: list[str] = []
    observed_objects: list[Any] = [*addresses, *traffic]
    if observed_objects:
        observed = stix2.ObservedData(
            id=_id("observed-data", event.event_id),
            first_observed=event.time,
            last_observed=event.time,
            number_observed=1,
            object_refs=[item.id for item in observed_objects],
            created=created,
            modified=created,
            **common,
        )
        observed_refs.append(observed.id)
    else:
        observed = None
    watched = attributes.get("src_ip")
    if watched is not None and src is not None:
        pattern = f"[{src.type}:value = '{src.value}']"
    else:
        signature = attributes.get("signature_id", event.event_id).replace("'", "")
        pattern = f"[x-hotzone-alert:signature_id = '{signature}']"
    indicator = stix2.Indicator(
        id=_id("indicator", event.event_id),
        name=attributes.get("signature") or event.summary,
        description=event.summary,
        pattern=pattern,
        pattern_type="stix",
        valid_from=event.time,
        indicator_types=["malicious-activity"],
        confidence=min(100, event.severity * 10),
        created=created,
        modified=created,
        **common,
    )
    sighting = stix2.Sighting(
        id=_id("sighting", event.event_id),
        sighting_of_ref=indicator.id,
        observed_data_refs=observed_refs or None,
        where_sighted_refs=[site_identity.id] if site_identity is not None else None,
        first_seen=event.time,
        last_seen=event.time,
        count=1,
        description=event.summary,
        confidence=min(100, event.severity * 10),
        created=created,
        modified=created,
        **common,
    )
    result: list[Any] = [indicator, sighting, *observed_objects]
    if observed is not None:
        result.append(observed)
    if site_identity is not None:
        result.append(site_identity)
    return result


def _port(text: str | None) -> int | None:
    if text is None or not text.isdigit():
        return None
    port = int(text)
    return port if 0 <= port <= 65535 else None


def bundle_json(events: Iterable[Event], producer: str = "hotzone") -> str:
    """The bundle as STIX 2.1 JSON text."""
    text: str = events_to_bundle(events, producer).serialize(pretty=True)
    return text
