"""hotzone's own JSON Lines (docs/formats.md) as an input format.

Lets recorded runs, other hotzone nodes and test tools feed any message type through the
same ingest path (sources, dead letters, counters) as the standards.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from hotzone.ingest.base import DecoderOptions, IngestError, LineDecoder
from hotzone.types import AnyMessage, from_json


class HotzoneJsonlDecoder(LineDecoder):
    source_name = "jsonl"

    def decode_line(self, line: bytes, received_at: datetime) -> list[AnyMessage]:
        try:
            return [from_json(line)]
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            raise IngestError(f"not a hotzone message: {error}") from None

    @classmethod
    def from_options(cls, options: DecoderOptions) -> HotzoneJsonlDecoder:
        return cls()
