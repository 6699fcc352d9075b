"""Suricata EVE JSON alerts -> ``cyber_alert`` `Event`s linked to the site they concern.

EVE is one JSON object per line; every line has ``timestamp`` and ``event_type``. Only
``event_type: "alert"`` lines are cyber alerts; flow, dns, http, stats... lines are skipped
(they are normal traffic records, not refusals). An alert line looks like::

    {"timestamp": "2017-04-07T22:24:37.251547+0100", "flow_id": 586497171462735,
     "event_type": "alert", "src_ip": "192.168.2.14", "src_port": 50096,
     "dest_ip": "209.53.113.5", "dest_port": 80, "proto": "TCP",
     "alert": {"action": "allowed", "gid": 1, "signature_id": 2018358, "rev": 10,
               "signature": "ET HUNTING ...", "category": "Potentially Bad Traffic",
               "severity": 2}}

Suricata's ``alert.severity`` runs from 1 (high) to 3 (low), 4 and up for local rules; it
maps to hotzone's 0-10 scale by `SEVERITY_BY_SURICATA`. The site an alert concerns is found
by IP in a `SiteInventory` (``DecoderOptions.sensors_file``: YAML, site id -> list of IP
addresses or CIDR networks); the destination is tried first, since that is usually the
asset under attack, then the source.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import yaml

from hotzone.ingest.base import DecoderOptions, IngestError, LineDecoder
from hotzone.types import AnyMessage, Event, EventKind

#: Suricata severity (1 = high) -> hotzone severity (0-10, 10 = most severe).
SEVERITY_BY_SURICATA: dict[int, int] = {1: 8, 2: 6, 3: 4}
LOCAL_RULE_SEVERITY = 2  # severities 4 and above, used by local rule sets

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class EveAlertBody(msgspec.Struct, frozen=True):
    signature_id: int
    signature: str = ""
    category: str = ""
    severity: int = 3
    action: str = "allowed"
    gid: int = 1
    rev: int = 0


class EveRecord(msgspec.Struct, frozen=True):
    timestamp: str
    event_type: str
    src_ip: str | None = None
    src_port: int | None = None
    dest_ip: str | None = None
    dest_port: int | None = None
    proto: str | None = None
    flow_id: int | None = None
    host: str | None = None
    in_iface: str | None = None
    app_proto: str | None = None
    community_id: str | None = None
    alert: EveAlertBody | None = None


_RECORD_DECODER = msgspec.json.Decoder(EveRecord)


@dataclass(frozen=True)
class SiteInventory:
    """Which site (sensor site or asset) each IP address belongs to."""

    networks: tuple[tuple[str, IpNetwork], ...] = ()

    @classmethod
    def from_mapping(cls, sites: Mapping[str, Sequence[str]]) -> SiteInventory:
        networks: list[tuple[str, IpNetwork]] = []
        for site, addresses in sites.items():
            if isinstance(addresses, str) or not isinstance(addresses, Sequence):
                raise ValueError(f"site {site!r}: expected a list of IP addresses or networks")
            for address in addresses:
                try:
                    networks.append((str(site), ipaddress.ip_network(str(address), strict=False)))
                except ValueError:
                    raise ValueError(
                        f"site {site!r}: {address!r} is not an IP address or network"
                    ) from None
        # Most specific network first, so a host entry wins over its subnet.
        networks.sort(key=lambda item: -item[1].prefixlen)
        return cls(tuple(networks))

    @classmethod
    def from_yaml(cls, path: Path) -> SiteInventory:
        """YAML mapping site id -> list of IPs/CIDRs (``sites:`` at the top is allowed)."""
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if isinstance(document, dict) and isinstance(document.get("sites"), dict):
            document = document["sites"]
        if not isinstance(document, dict):
            raise ValueError(f"{path}: expected a mapping of site id -> list of IP addresses")
        return cls.from_mapping(document)

    def site_of(self, address: str | None) -> str | None:
        if address is None:
            return None
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        for site, network in self.networks:
            if ip.version == network.version and ip in network:
                return site
        return None


def severity_from_suricata(severity: int) -> int:
    if severity < 1:
        raise IngestError("Suricata severity must be 1 or more", field="alert.severity")
    return SEVERITY_BY_SURICATA.get(severity, LOCAL_RULE_SEVERITY)


def parse_eve_time(text: str) -> datetime:
    """EVE timestamps carry an offset without a colon (``+0100``); they must carry one."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise IngestError("not an ISO 8601 time", field="timestamp", got=text[:40]) from None
    offset = moment.utcoffset()
    if offset is None:
        raise IngestError("timestamp has no UTC offset", field="timestamp", got=text[:40])
    if offset.total_seconds() % 60:
        # ``+00000100`` parses as one second east: no clock writes that, a mangled line does.
        raise IngestError(
            "UTC offset not in whole minutes", field="timestamp", expected="+HHMM", got=text[:40]
        )
    return moment.astimezone(UTC)  # messages carry UTC times


class EveDecoder(LineDecoder):
    """Suricata EVE JSON lines -> ``cyber_alert`` events (non-alert lines are skipped)."""

    source_name = "eve"

    def __init__(
        self,
        inventory: SiteInventory | None = None,
        source_id: str = "suricata",
        releasability: str = "NATO",
    ) -> None:
        super().__init__()
        self.inventory = inventory if inventory is not None else SiteInventory()
        self.source_id = source_id
        self.releasability = releasability
        self.skipped = 0

    @classmethod
    def from_options(cls, options: DecoderOptions) -> EveDecoder:
        inventory = (
            SiteInventory.from_yaml(options.sensors_file)
            if options.sensors_file is not None
            else None
        )
        return cls(inventory, options.source_id or "suricata", options.releasability)

    def decode_line(self, line: bytes, received_at: datetime) -> list[AnyMessage]:
        try:
            record = _RECORD_DECODER.decode(line)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            raise IngestError(f"not an EVE record: {error}") from None
        if record.event_type != "alert":
            self.skipped += 1
            return []
        if record.alert is None:
            raise IngestError("alert record without its alert object", field="alert")
        return [self.event_of(record, record.alert)]

    def event_of(self, record: EveRecord, alert: EveAlertBody) -> Event:
        time = parse_eve_time(record.timestamp)
        dest_site = self.inventory.site_of(record.dest_ip)
        src_site = self.inventory.site_of(record.src_ip)
        site = dest_site or src_site
        attributes = {
            "signature_id": str(alert.signature_id),
            "signature": alert.signature,
            "category": alert.category,
            "suricata_severity": str(alert.severity),
            "action": alert.action,
            "gid": str(alert.gid),
            "rev": str(alert.rev),
        }
        optional = {
            "src_ip": record.src_ip,
            "src_port": record.src_port,
            "dest_ip": record.dest_ip,
            "dest_port": record.dest_port,
            "proto": record.proto,
            "flow_id": record.flow_id,
            "app_proto": record.app_proto,
            "community_id": record.community_id,
            "sensor_host": record.host,
            "site": site,
            "site_role": None if site is None else ("target" if dest_site else "source"),
        }
        attributes.update({key: str(value) for key, value in optional.items() if value is not None})
        flow = f"{record.src_ip}:{record.src_port} -> {record.dest_ip}:{record.dest_port}"
        where = f" at site {site}" if site is not None else ""
        return Event(
            event_id=f"eve:{record.flow_id}:{alert.gid}:{alert.signature_id}:{record.timestamp}",
            time=time,
            source_id=record.host or self.source_id,
            kind=EventKind.CYBER_ALERT,
            severity=severity_from_suricata(alert.severity),
            summary=f"{alert.signature or alert.signature_id} ({flow}){where}",
            subject_id=site,
            attributes=attributes,
            releasability=self.releasability,
        )
