"""What can be wrong with ASTERIX input, as a small hierarchy with structured fields.

Every class subclasses `IngestError`, so the decoder turns each into a `Rejected` whose
reason names the category, the item and the byte offset where decoding stopped.
"""

from __future__ import annotations

from hotzone.ingest.base import IngestError


class AsterixError(IngestError):
    """Root of every ASTERIX decoding error."""


class DataBlockError(AsterixError):
    """The data block header (CAT, LEN) is inconsistent with the bytes."""


class TruncatedError(AsterixError):
    """An item or FSPEC runs past the end of its data block."""


class FspecError(AsterixError):
    """The FSPEC names a field reference number the category's UAP does not define."""


class UnsupportedCategoryError(AsterixError):
    """A data block of a category hotzone does not decode."""


class ItemValueError(AsterixError):
    """An item is well framed but its value is invalid (e.g. an illegal character code)."""


class MissingItemError(AsterixError):
    """A record lacks an item hotzone needs to place or time it."""


class UnknownSiteError(AsterixError):
    """A radar plot from a SAC/SIC the sensors file does not list: it cannot be placed."""
