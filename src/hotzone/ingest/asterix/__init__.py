"""ASTERIX (EUROCONTROL surveillance data exchange) in: CAT021, CAT034, CAT048, CAT062, CAT065.

One module per category (``cat048`` ...) holds its UAP and item decoders; `datablock`
frames blocks and records; `mapping` turns typed records into hotzone messages;
`AsterixDecoder` is the `Decoder` the runtime and ``hotzone decode asterix`` use.
"""

from hotzone.ingest.asterix.decoder import CATEGORIES, AsterixDecoder, decode_records
from hotzone.ingest.asterix.errors import AsterixError
from hotzone.ingest.asterix.sites import RadarSite, SiteTable

__all__ = [
    "CATEGORIES",
    "AsterixDecoder",
    "AsterixError",
    "RadarSite",
    "SiteTable",
    "decode_records",
]
