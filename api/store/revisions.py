"""Change counters for state every replica keeps in memory (the auth cache, the price book).

A change bumps its counter in the same transaction as the change itself; each replica polls the
counters (one tiny read) and reloads what changed. Reading the counter before reloading means a change
committed in between is seen again on the next poll: at worst one extra reload, never a missed one.
Only stores shared by several processes need it (`Store.shared`): DuckDB's one process updates its
memory directly after each commit."""

from __future__ import annotations

from api.store.base import Queries

AUTH = "auth"  # keys and users: issued, revoked, deactivated, relinked
PRICES = "prices"  # tenants' custom prices


def bump(db: Queries, *, name: str) -> None:
    db.execute("UPDATE revisions SET revision = revision + 1 WHERE name = ?", [name])


def current(db: Queries) -> dict[str, int]:
    return {name: int(revision) for name, revision in db.fetchall("SELECT name, revision FROM revisions")}
