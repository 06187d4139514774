"""The in-memory index of stored id hashes: an absent hash proves an event new; every stored one is found."""

from __future__ import annotations

import numpy as np

from api.store import id_index
from api.store.id_index import IdIndex


def hashes(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2**64 - 1, n, dtype=np.uint64)


def test_every_stored_hash_is_a_suspect_and_new_ones_are_not() -> None:
    stored, fresh = hashes(50_000, 1), hashes(1_000, 2)
    index = IdIndex(stored)
    assert index.suspects(fresh).tolist() == []
    assert index.suspects(stored[:1000]).tolist() == list(range(1000))


def test_added_hashes_are_found_before_and_after_they_are_merged(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(id_index, "MERGE_EVERY", 3_000)
    index = IdIndex(hashes(10_000, 3))
    batches = [hashes(1_000, 10 + n) for n in range(5)]
    for batch in batches[:2]:
        index.add(batch)
    mixed = np.concatenate([hashes(5, 99), batches[1][:5]])
    assert index.suspects(mixed).tolist() == [5, 6, 7, 8, 9]  # from the recent set
    for batch in batches[2:]:
        index.add(batch)  # the third add merged
    assert len(index) == 15_000
    assert all(len(index.suspects(batch)) == 1_000 for batch in batches)
    assert np.all(np.diff(index._sorted.astype(np.float64)) >= 0)


def test_reset_forgets_what_is_no_longer_stored() -> None:
    index = IdIndex(hashes(100, 4))
    index.add(hashes(100, 5))
    index.reset(hashes(10, 6))
    assert len(index) == 10 and len(index.suspects(hashes(100, 5))) == 0
