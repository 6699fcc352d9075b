"""Every input format hotzone decodes, by the name the CLI uses.

The table is a literal of real factories (greppable, no dotted-path strings); it is built
inside a function so that importing hotzone does not import every decoder.
"""

from __future__ import annotations

from collections.abc import Callable

from hotzone.ingest.base import Decoder, DecoderOptions

__all__ = ["DecoderFactory", "DecoderOptions", "decoder_factories", "known_formats"]

DecoderFactory = Callable[[DecoderOptions], Decoder]


def decoder_factories() -> dict[str, DecoderFactory]:
    """Format name -> factory. Each ingest module adds its own entry here."""
    from hotzone.ingest import cot, jsonl
    from hotzone.ingest.ais import AisDecoder
    from hotzone.ingest.asterix import AsterixDecoder
    from hotzone.ingest.eve import EveDecoder
    from hotzone.ingest.gmti import GmtiDecoder
    from hotzone.ingest.readsb import ReadsbDecoder
    from hotzone.ingest.sapient import decoder as sapient
    from hotzone.ingest.satellite import SatelliteDecoder
    from hotzone.ingest.sbs import SbsDecoder
    from hotzone.ingest.stix import StixDecoder

    return {
        "jsonl": jsonl.HotzoneJsonlDecoder.from_options,
        "asterix": AsterixDecoder.from_options,
        "cot": cot.CotDecoder.from_options,
        "sbs": SbsDecoder.from_options,
        "readsb": ReadsbDecoder.from_options,
        "ais": AisDecoder.from_options,
        "gmti": GmtiDecoder.from_options,
        "sapient": sapient.SapientDecoder.from_options,
        "eve": EveDecoder.from_options,
        "stix": StixDecoder.from_options,
        "satellite": SatelliteDecoder.from_options,
    }


def known_formats() -> list[str]:
    return sorted(decoder_factories())
