"""STIX 2.1 sightings in (bundles, parsed with the ``stix2`` library) -> cyber `Event`s.

Allies and CTI platforms share what they saw as bundles: a ``sighting`` says that
something (``sighting_of_ref``: an indicator, malware, attack pattern...) was seen, where
(``where_sighted_refs``: identities or locations) and in which data (``observed_data_refs``
whose objects are IP addresses, network traffic...). Each sighting becomes one
``cyber_alert`` `Event`; the site it concerns is the first IP of its observed data found in
the `SiteInventory`, else the name of the first identity where it was sighted.

Input may hold one bundle, several concatenated, or one per line. Severity: the sighting's
``confidence`` (0-100), else its target's, divided by ten; 5 if neither says.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import stix2
import stix2.exceptions

from hotzone.ingest.base import Decoder, DecodeResult, DecoderOptions, IngestError, Rejected
from hotzone.ingest.eve import SiteInventory
from hotzone.ingest.jsonframing import FramedJson, JsonDocumentFramer, parse_json_document
from hotzone.types import AnyMessage, Event, EventKind

DEFAULT_SEVERITY = 5
MAX_BUNDLE_BYTES = 16 << 20
#: Bundle, objects, object, property, and room for extensions; stix2 recurses per level.
MAX_BUNDLE_DEPTH = 32


class StixDecoder(Decoder):
    """STIX 2.1 bundles -> one cyber_alert `Event` per sighting.

    Bundles are cut from the stream by `JsonDocumentFramer` and refused before parsing
    when larger than ``max_bundle_bytes`` or nested deeper than ``MAX_BUNDLE_DEPTH``;
    integers longer than 20 digits are refused by the parser before conversion.
    """

    source_name = "stix"

    def __init__(
        self,
        inventory: SiteInventory | None = None,
        source_id: str = "stix",
        releasability: str = "NATO",
        max_bundle_bytes: int = MAX_BUNDLE_BYTES,
    ) -> None:
        super().__init__()
        self.inventory = inventory if inventory is not None else SiteInventory()
        self.source_id = source_id
        self.releasability = releasability
        self._framer = JsonDocumentFramer(max_bundle_bytes, MAX_BUNDLE_DEPTH)

    @property
    def max_frame_bytes(self) -> int:
        return self._framer.max_document_bytes

    @classmethod
    def from_options(cls, options: DecoderOptions) -> StixDecoder:
        inventory = (
            SiteInventory.from_yaml(options.sensors_file)
            if options.sensors_file is not None
            else None
        )
        return cls(inventory, options.source_id or "stix", options.releasability)

    def feed(self, data: bytes, received_at: datetime) -> DecodeResult:
        return self._decode(self._framer.push(data))

    def flush(self, received_at: datetime) -> DecodeResult:
        return self._decode(self._framer.flush())

    def _decode(self, documents: list[FramedJson]) -> DecodeResult:
        result = DecodeResult()
        for document in documents:
            self.counters.frames += 1
            if document.reason is not None:
                result.rejected.append(Rejected(document.raw, document.reason))
                continue
            try:
                result.messages.extend(self.decode_bundle(parse_json_document(document.raw)))
            except IngestError as error:
                result.rejected.append(Rejected(document.raw, error.describe()))
            except (ValueError, KeyError, TypeError, AttributeError) as error:
                # stix2 objects that parse but break hotzone's message invariants.
                result.rejected.append(Rejected(document.raw, f"{type(error).__name__}: {error}"))
        return self._count(result)

    def decode_bundle(self, document: Any) -> list[AnyMessage]:
        if not isinstance(document, dict) or document.get("type") != "bundle":
            got = document.get("type") if isinstance(document, dict) else type(document).__name__
            raise IngestError("not a STIX bundle", field="type", expected="bundle", got=str(got))
        try:
            bundle = stix2.parse(document, allow_custom=True, version="2.1")
        except (stix2.exceptions.STIXError, ValueError, TypeError, KeyError) as error:
            raise IngestError(f"invalid STIX 2.1: {error}"[:500]) from None
        objects = {item["id"]: item for item in bundle.get("objects", []) if "id" in item}
        return [
            self._event_of(item, objects)
            for item in objects.values()
            if item.get("type") == "sighting"
        ]

    def _event_of(self, sighting: Any, objects: dict[str, Any]) -> Event:
        target = objects.get(sighting["sighting_of_ref"])
        addresses = [
            str(objects[ref]["value"])
            for observed_ref in sighting.get("observed_data_refs", [])
            for ref in objects.get(observed_ref, {}).get("object_refs", [])
            if ref in objects and objects[ref].get("type") in ("ipv4-addr", "ipv6-addr")
        ]
        site = next(
            (s for s in (self.inventory.site_of(a) for a in addresses) if s is not None), None
        )
        where = [
            str(objects[ref].get("name", ref))
            for ref in sighting.get("where_sighted_refs", [])
            if ref in objects
        ]
        subject = site or (where[0] if where else None)
        confidence = sighting.get("confidence")
        if confidence is None and target is not None:
            confidence = target.get("confidence")
        severity = DEFAULT_SEVERITY if confidence is None else min(10, round(confidence / 10))
        name = str(target.get("name") or target["id"]) if target else sighting["sighting_of_ref"]
        stix_time = sighting.get("last_seen") or sighting.get("first_seen") or sighting["modified"]
        # stix2 hands out its own datetime subclass; messages hold plain aware datetimes.
        time = datetime.fromisoformat(stix_time.isoformat())
        attributes = {
            "stix_sighting": sighting["id"],
            "sighting_of": sighting["sighting_of_ref"],
            "count": str(sighting.get("count", 1)),
        }
        if addresses:
            attributes["addresses"] = ",".join(addresses)
        if where:
            attributes["where_sighted"] = ",".join(where)
        if site is not None:
            attributes["site"] = site
        return Event(
            event_id=f"stix:{sighting['id']}",
            time=time,
            source_id=self.source_id,
            kind=EventKind.CYBER_ALERT,
            severity=severity,
            summary=f"sighting of {name}" + (f" at {subject}" if subject else ""),
            subject_id=subject,
            attributes=attributes,
            releasability=self.releasability,
        )
