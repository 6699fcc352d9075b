"""Allied copies in a nation's picture, named after their origin (``PL:suwalki-1``).

The rule lives in `hotzone.types.allied`, because the node's alliance fusion names them
the same way; the picture applies it to every message it takes from the bus or a store,
so an ally's track never overwrites an own track, live or replayed.
"""

from __future__ import annotations

from hotzone.types.allied import allied_origin, name_allied_copy

__all__ = ["allied_origin", "name_allied_copy"]
