"""Which (tenant, id) pairs are stored, answered in memory: the ingest-time idempotency check.

A re-sent event must be stored once whatever timestamp it carries (DESIGN §7, §15), but looking every
incoming id up among 10M stored ones costs ~0.3 s a flush in DuckDB (no index: a PRIMARY KEY would cost
~46 bytes/row of RAM and make inserts ~7x slower). So the writer keeps the 64-bit hashes of every stored
(tenant_id, id): a sorted numpy array (8 bytes/event) plus a set of the hashes added since the last merge. A hash that is absent proves the event is new; a hash that is present only makes it a suspect,
which the writer confirms against the table (a true repeat, or a 1-in-10^12 hash collision).
False suspects cost time, never correctness, so nothing here must be undone when a transaction rolls back.
"""

from __future__ import annotations

import numpy as np

MERGE_EVERY = 250_000  # recent hashes before they are merged into the big array (~0.1 s at 10M)


def _contains(haystack: np.ndarray, needles: np.ndarray) -> np.ndarray:
    if not len(haystack):
        return np.zeros(len(needles), dtype=bool)
    at = np.minimum(np.searchsorted(haystack, needles), len(haystack) - 1)
    return haystack[at] == needles


def _insert_sorted(haystack: np.ndarray, new: np.ndarray) -> np.ndarray:
    """One O(n) insert of sorted `new` into sorted `haystack` (no full sort)."""
    return np.insert(haystack, np.searchsorted(haystack, new), new)


class IdIndex:
    """A sorted uint64 array of every hash as of the last merge (binary search), and a set of the ones
    added since (an insert into a sorted array costs O(n) each time; a set add is O(1))."""

    def __init__(self, hashes: np.ndarray | None = None) -> None:
        self.reset(hashes)

    def reset(self, hashes: np.ndarray | None) -> None:
        """Start again from every stored hash (at start-up, or after a bulk load past the writer)."""
        self._sorted = np.sort(np.asarray(hashes if hashes is not None else [], dtype=np.uint64))
        self._recent: set[int] = set()
        self._recent_arrays: list[np.ndarray] = []  # the same hashes, for a cheap merge

    def __len__(self) -> int:
        return len(self._sorted) + len(self._recent)

    def suspects(self, hashes: np.ndarray) -> np.ndarray:
        """The positions of `hashes` that may already be stored."""
        hashes = np.asarray(hashes, dtype=np.uint64)
        order = np.argsort(hashes)  # sorted needles walk the big array in order: far fewer cache misses
        needles = hashes[order]
        found = _contains(self._sorted, needles)
        if self._recent:
            recent = self._recent
            found |= np.fromiter((h in recent for h in needles.tolist()), dtype=bool, count=len(needles))
        return np.sort(order[found])

    def add(self, hashes: np.ndarray) -> None:
        hashes = np.asarray(hashes, dtype=np.uint64)
        self._recent.update(hashes.tolist())
        self._recent_arrays.append(hashes)
        if len(self._recent) >= MERGE_EVERY:
            self.merge()

    def merge(self) -> None:
        """Fold the recent hashes into the big array."""
        if self._recent:
            self._sorted = _insert_sorted(self._sorted, np.sort(np.concatenate(self._recent_arrays)))
            self._recent, self._recent_arrays = set(), []
