"""The ICD's rules that protobuf itself does not enforce.

Dstl's .proto files mark fields and oneofs with ``(field_options).is_mandatory`` /
``(oneof_options).is_mandatory`` and identifiers with ``is_uuid`` / ``is_ulid``. Proto3
accepts a message missing all of them, so this module walks a decoded message and its
sub-messages and lists every violation by its field path, e.g.
``detection_report.range_bearing.coordinate_system: mandatory field missing``.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from hotzone.ingest.sapient.proto.sapient_msg import proto_options_pb2

# Crockford base32, 26 characters, first one at most 7 (a 128-bit value).
_ULID_RE = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$", re.IGNORECASE)


def icd_violations(message: Message, path: str = "") -> list[str]:
    """Every mandatory field or oneof left empty, and every malformed UUID/ULID."""
    violations: list[str] = []
    descriptor = message.DESCRIPTOR
    for oneof in descriptor.oneofs:
        rule = _validation_options(oneof.GetOptions(), proto_options_pb2.oneof_options)
        if rule is not None and rule.is_mandatory and message.WhichOneof(oneof.name) is None:
            names = "|".join(item.name for item in oneof.fields)
            violations.append(f"{path}{oneof.name} ({names}): mandatory choice missing")
    for field in descriptor.fields:
        violations.extend(_field_violations(message, field, path))
    return violations


def _validation_options(
    options: Message, extension: Any
) -> proto_options_pb2.ValidationOptions | None:
    # The generated stubs type extensions loosely, hence ``Any`` for the handle.
    if not options.HasExtension(extension):
        return None
    rule: proto_options_pb2.ValidationOptions = options.Extensions[extension]
    return rule


def _field_violations(message: Message, field: Any, path: str) -> list[str]:
    name = f"{path}{field.name}"
    rule = _validation_options(field.GetOptions(), proto_options_pb2.field_options)
    repeated = bool(field.is_repeated)
    if repeated:
        values = list(getattr(message, field.name))
        present = bool(values)
    elif field.has_presence:
        present = message.HasField(field.name)
        values = [getattr(message, field.name)] if present else []
    else:
        # Implicit-presence proto3 scalars: the default value is all the wire can say.
        value = getattr(message, field.name)
        present = value != field.default_value
        values = [value] if present else []
    violations: list[str] = []
    if rule is not None and rule.is_mandatory and not present:
        violations.append(f"{name}: mandatory field missing")
    for index, value in enumerate(values):
        item_name = f"{name}[{index}]" if repeated else name
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            violations.extend(icd_violations(value, f"{item_name}."))
        elif rule is not None and isinstance(value, str):
            violations.extend(_identifier_violations(item_name, value, rule))
    return violations


def _identifier_violations(
    name: str, value: str, rule: proto_options_pb2.ValidationOptions
) -> list[str]:
    if rule.is_uuid:
        try:
            uuid.UUID(value)
        except ValueError:
            return [f"{name}: not a UUID (got {value[:40]!r})"]
    if rule.is_ulid and not _ULID_RE.match(value):
        return [f"{name}: not a ULID (got {value[:40]!r})"]
    return []
