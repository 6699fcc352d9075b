"""Sharing out: CoT, ASTERIX CAT062, STIX, GeoJSON and APP-6 symbols, and the
releasability check at the boundary (docs/formats.md, docs/architecture.md).
"""

# The public modules of this package (import them directly; none is imported here).
__all__: list[str] = ["asterix062", "cot", "geojson", "releasability", "stix", "symbols"]
