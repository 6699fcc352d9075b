"""Ingest: one module per standard; bytes -> Detection, Report, Event; refusals -> dead letters."""

from hotzone.ingest.base import (
    Decoder,
    DecoderCounters,
    DecodeResult,
    IngestError,
    LineDecoder,
    Rejected,
)

__all__ = ["DecodeResult", "Decoder", "DecoderCounters", "IngestError", "LineDecoder", "Rejected"]
