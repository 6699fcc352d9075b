"""Releasability of tracks, kept as small integers next to the track arrays.

Every measurement row carries the id of its message's label in the tracker's `LabelTable`
(met with the stage's own label by `MessageConverter`). A track remembers, per label id,
when a measurement with that label last contributed to it (`TrackBatch.label_seen`), and
which labels gave it its transponder identity (`TrackBatch.identity_labels`).

**The rule.** A track's label is the meet of

* the labels of the measurements that contributed to it within ``window_s`` of its
  latest labelled contribution, and
* the labels of the inputs its ``icao24`` and ``callsign`` came from (for as long as it
  shows them).

So a track seen by a ``NATIONAL PL`` sensor is ``NATIONAL PL`` while that sensor updates
it and for ``window_s`` of updates by other inputs afterwards; a coasting track keeps the
labels it had (its estimate is still what those inputs made it). A track with no labelled
contribution takes the stage's label. Measurements are only associated with tracks they
share a nation with (see `MultiTargetTracker`), so the meet always exists.
"""

from __future__ import annotations

import numpy as np

from hotzone.fusion.estimates import TrackBatch
from hotzone.types.arrays import BoolArray, IntArray
from hotzone.types.labels import LabelConflict, LabelTable, most_restrictive

NO_LABEL = -1
_ID_BITS = 20  # with fewer than 2**20 labels interned, ...
_KEY_BITS = 62 - 2 * _ID_BITS  # ... masks of up to 22 label ids share an int64 with two ids


class TrackLabels:
    """Computes tracks' label ids, cached per combination of contributing labels."""

    def __init__(self, table: LabelTable, window_s: float) -> None:
        if not window_s >= 0.0:
            raise ValueError(f"label window must be zero or more seconds, got {window_s}")
        self.table = table
        self.window_s = window_s
        self._combinations: dict[tuple[object, int, int], int] = {}
        self._compatibility = np.ones((1, 1), dtype=np.bool_)

    def current(self, tracks: TrackBatch) -> IntArray:
        """The label id of every track of ``tracks`` (`NO_LABEL`: no labelled input)."""
        size = tracks.size
        result = np.full(size, NO_LABEL, dtype=np.int64)
        if size == 0:
            return result
        seen = tracks.label_seen
        columns = seen.shape[1]
        if columns:
            latest = seen.max(axis=1)
            active = np.isfinite(seen) & (seen >= (latest - self.window_s)[:, None])
        else:
            active = np.zeros((size, 0), dtype=np.bool_)
        identity = tracks.identity_labels
        if columns <= _KEY_BITS and len(self.table) < 1 << _ID_BITS:
            # One int64 key per track: active-label mask and the two identity label ids.
            masks = active.astype(np.int64) @ (np.int64(1) << np.arange(columns, dtype=np.int64))
            keys = (
                (masks << (2 * _ID_BITS))
                | ((identity[:, 0] + 1) << _ID_BITS)
                | (identity[:, 1] + 1)
            )
            unique, inverse = np.unique(keys, return_inverse=True)
            id_mask = (1 << _ID_BITS) - 1
            ids = np.array(
                [
                    self._combination(
                        key >> (2 * _ID_BITS), (key >> _ID_BITS & id_mask) - 1, (key & id_mask) - 1
                    )
                    for key in unique.tolist()
                ],
                dtype=np.int64,
            )
            return ids[inverse]
        for row in range(size):
            mask = active[row].tobytes()
            result[row] = self._combination(mask, int(identity[row, 0]), int(identity[row, 1]))
        return result

    def _combination(self, mask: int | bytes, icao_label: int, callsign_label: int) -> int:
        key = (mask, icao_label, callsign_label)
        found = self._combinations.get(key)
        if found is not None:
            return found
        if isinstance(mask, int):
            members = [bit for bit in range(mask.bit_length()) if mask >> bit & 1]
        else:
            members = [int(i) for i in np.flatnonzero(np.frombuffer(mask, dtype=np.bool_))]
        members += [label for label in (icao_label, callsign_label) if label != NO_LABEL]
        result = NO_LABEL
        try:
            for member in members:
                result = self.table.meet(result, member)
        except LabelConflict:
            # Not reached: association keeps inputs with no common nation apart. Should it
            # happen, the documented rule of `most_restrictive` decides.
            texts = [self.table.text(member) for member in members]
            result = self.table.intern(most_restrictive(texts[1:], texts[0]))
        self._combinations[key] = result
        return result

    def compatible(self, first: IntArray, second: IntArray) -> BoolArray:
        """Elementwise: do labels ``first[i]`` and ``second[i]`` share a nation?"""
        size = len(self.table)
        if self._compatibility.shape[0] != size + 1:
            matrix = np.ones((size + 1, size + 1), dtype=np.bool_)  # last row/column: none
            for a in range(size):
                for b in range(a + 1, size):
                    matrix[a, b] = matrix[b, a] = self.table.compatible(a, b)
            self._compatibility = matrix
        first = np.where(first < 0, size, first)
        second = np.where(second < 0, size, second)
        result: BoolArray = self._compatibility[first, second]
        return result

    def texts(self, ids: IntArray, ceiling: str) -> list[str]:
        """Label texts for ids; `NO_LABEL` takes ``ceiling``."""
        return [ceiling if i == NO_LABEL else self.table.text(int(i)) for i in ids.tolist()]
