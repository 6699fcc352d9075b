"""The numpy array aliases every layer above ``geo`` annotates with (one definition).

``geo`` keeps its own copy in `hotzone.geo._checks`: it sits beside ``types`` at the bottom
of the layers and imports nothing of ours (docs/architecture.md, "Layers").
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

__all__ = ["BoolArray", "FloatArray", "IntArray"]
