"""Users and API keys: the one user-creation path (operators and the Clerk webhook both use it), key
issuing, and the in-memory key cache that authenticates ingest without a database read per request."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from api.store import Store, Transaction, keys, revisions, users
from api.store.base import utcnow

log = logging.getLogger("llmobserve.api")

KEY_PREFIX = "llmo_"
DISPLAY_PREFIX_LEN = len(KEY_PREFIX) + 4  # "llmo_" plus four characters, as the setup guide logs it


def new_user_id() -> str:
    """Operator-created users get ids of the same shape as Clerk's (`user_…`)."""
    return "user_" + secrets.token_urlsafe(18).replace("-", "a").replace("_", "b")


def hash_key(api_key: str) -> str:
    # Keys carry 256 random bits, so a fast hash is enough; no salt is needed against guessing.
    return hashlib.sha256(api_key.encode()).hexdigest()


def generate_key() -> tuple[str, str, str]:
    """A new key: (full key, display prefix, hash)."""
    api_key = KEY_PREFIX + secrets.token_urlsafe(32)
    return api_key, api_key[:DISPLAY_PREFIX_LEN], hash_key(api_key)


# What a key may do (DESIGN §13). The initial sign-up key has both (the setup guide uses it for both);
# a key made later gets only what it is given, `ingest` by default: a key shipped inside an app should
# not also read every customer's costs.
SCOPES = ("ingest", "read")
INITIAL_KEY_SCOPES = SCOPES
UNKNOWN_KEY_SECONDS = 1.0  # within the 1 s a revocation takes to reach every replica (DESIGN §9)
UNKNOWN_KEYS_REMEMBERED = 10_000
DEFAULT_KEY_SCOPES = ("ingest",)


@dataclass
class KeyOwner:
    key_id: str
    user_id: str
    usable: bool
    scopes: frozenset[str]


@dataclass
class Unit:
    """One database transaction shared by several account changes, and what to do once it commits
    (key-cache updates, log lines): a rolled-back change must leave no trace in memory either."""

    cur: Transaction
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    auth_changed: bool = False  # keys or users changed: other replicas must reload their key cache


class Accounts:
    """Owns key checks and user/key creation; `last_used_at` is kept in memory and saved periodically."""

    def __init__(self, db: Store, secret_key: str) -> None:
        self.db = db
        self._fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret_key.encode()).digest()))
        self._lock = threading.Lock()
        self._by_hash: dict[str, KeyOwner] = {}
        self._last_used: dict[str, datetime] = {}
        self._revision: int | None = None
        self._unknown: dict[str, float] = {}  # hash of a key the store did not know → until when (monotonic)
        self._local_changes = 0  # this process's own cache changes, so a reload never undoes one
        self.reload()

    def reload(self, revision: int | None = None) -> None:
        """Rebuild the key cache from the store (at start, and when another replica changed keys). A
        change made here while the rows were read may be missing from them: read again."""
        while True:
            seen = self._local_changes
            by_hash = {key_hash: KeyOwner(key_id, user_id, bool(usable), frozenset(scopes))
                       for key_hash, key_id, user_id, usable, scopes in keys.all_key_hashes(self.db)}
            with self._lock:
                if seen == self._local_changes:
                    self._by_hash, self._revision = by_hash, revision
                    return

    def _change_cache(self, change: Callable[[], None]) -> None:
        with self._lock:
            self._local_changes += 1
            change()

    def refresh(self, revision: int) -> bool:
        """Reload when the auth revision moved (another replica issued, revoked or deactivated)."""
        if revision == self._revision:
            return False
        self.reload(revision)
        return True

    # -- authentication -------------------------------------------------------------------------
    def authenticate(self, api_key: str) -> KeyOwner | None:
        owner = self._by_hash.get(hash_key(api_key))
        if owner is None or not owner.usable:
            return None
        self._last_used[owner.key_id] = utcnow()
        return owner

    def look_up(self, api_key: str) -> KeyOwner | None:
        """A key missing from this replica's cache may have been issued on another replica since the last
        poll: read it from the store, so a new key works on every replica at once. A key the store does
        not know is remembered for a second, so repeating a bad key cannot make every request a query."""
        if not self.db.shared:  # one process: the cache is always current
            return None
        key_hash, now = hash_key(api_key), time.monotonic()
        if key_hash in self._by_hash:  # known revoked, or just added by a request beside this one
            return self.authenticate(api_key)
        if self._unknown.get(key_hash, 0.0) > now:  # just asked
            return None
        cache = self._by_hash
        found = keys.key_owner(self.db, key_hash=key_hash)
        if found is None:
            if len(self._unknown) >= UNKNOWN_KEYS_REMEMBERED:
                self._unknown.clear()
            self._unknown[key_hash] = now + UNKNOWN_KEY_SECONDS
            return None
        owner = KeyOwner(*found)
        with self._lock:
            if self._by_hash is cache:
                cache[key_hash] = owner
            else:  # a reload since the read: its state of the key is newer, if it read the key at all
                owner = self._by_hash.get(key_hash, owner)
        if not owner.usable:
            return None
        # answered from what was read, not from the cache: a reload that started before the key existed
        # may swap in a cache without it at any moment (a new key's first request then got a 401)
        self._last_used[owner.key_id] = utcnow()
        return owner

    def save_last_used(self) -> None:
        with self._lock:
            pending, self._last_used = self._last_used, {}
        keys.save_last_used(self.db, last_used=pending)

    def last_used(self, key_id: str) -> datetime | None:
        return self._last_used.get(key_id)

    # -- transactions ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def unit_of_work(self, unit: Unit | None = None) -> Iterator[Unit]:
        """A transaction for several changes (or the caller's, when `unit` is given); the after-commit
        steps run only once it has committed."""
        if unit is not None:
            yield unit
            return
        with self.db.transaction() as cur:
            unit = Unit(cur)
            yield unit
            if unit.auth_changed and self.db.shared:  # last: the counter's row lock is held until commit
                revisions.bump(cur, name=revisions.AUTH)
        for step in unit.after_commit:
            step()

    # -- users ----------------------------------------------------------------------------------
    def create_user(self, *, email: str | None, first_name: str | None, last_name: str | None,
                    user_type: str = "individual", user_id: str | None = None, source: str = "admin",
                    clerk_updated_at: int | None = None, unit: Unit | None = None) -> tuple[dict[str, Any], str, str]:
        """Create a user and its initial key. Returns (user, full key, key id); the key is also kept
        encrypted for its single reveal on the user's first visit to Settings."""
        user_id = user_id or new_user_id()
        api_key, prefix, key_hash = generate_key()
        key_id = "key_" + secrets.token_hex(8)
        with self.unit_of_work(unit) as work:
            users.insert_user(work.cur, user_id=user_id, email=email, first_name=first_name, last_name=last_name,
                              user_type=user_type, source=source, clerk_updated_at=clerk_updated_at)
            keys.insert_key(work.cur, key_id=key_id, user_id=user_id, name="default", prefix=prefix,
                            key_hash=key_hash, scopes=INITIAL_KEY_SCOPES,
                            reveal_ciphertext=self._fernet.encrypt(api_key.encode()).decode())
            user = users.get_user(work.cur, user_id=user_id)
            work.auth_changed = True
            work.after_commit.append(lambda: self._change_cache(
                lambda: self._by_hash.__setitem__(key_hash, KeyOwner(key_id, user_id, True, frozenset(INITIAL_KEY_SCOPES)))))
        assert user is not None
        return user, api_key, key_id

    def deactivate_user(self, user_id: str, *, unit: Unit | None = None) -> None:
        """Revoke every key at once and block login; events are kept until an operator purges them."""
        def forget_keys() -> None:
            for owner in list(self._by_hash.values()):  # a snapshot: other threads may add keys meanwhile
                if owner.user_id == user_id:
                    owner.usable = False

        with self.unit_of_work(unit) as work:
            users.deactivate_user(work.cur, user_id=user_id)
            keys.revoke_all_keys(work.cur, user_id=user_id)
            work.auth_changed = True
            work.after_commit.append(lambda: self._change_cache(forget_keys))

    def relink(self, old_id: str, new_id: str, *, unit: Unit | None = None) -> None:
        """Give an existing user (its keys and events) a new id: an operator-created user signs up in Clerk."""
        def move_keys() -> None:
            for owner in list(self._by_hash.values()):
                if owner.user_id == old_id:
                    owner.user_id = new_id

        with self.unit_of_work(unit) as work:
            self.db.exclude_roll_up(work.cur)  # it moves events and hourly totals to the new id
            users.relink_user_id(work.cur, old_id=old_id, new_id=new_id)
            work.auth_changed = True
            work.after_commit.append(lambda: self._change_cache(move_keys))
            work.after_commit.append(lambda: self.db.settle_relink(old_id, new_id))

    # -- keys -----------------------------------------------------------------------------------
    def issue_key(self, *, user_id: str, name: str,
                  scopes: tuple[str, ...] = DEFAULT_KEY_SCOPES) -> tuple[str, dict[str, Any]]:
        api_key, prefix, key_hash = generate_key()
        key_id = "key_" + secrets.token_hex(8)
        with self.unit_of_work() as work:
            keys.insert_key(work.cur, key_id=key_id, user_id=user_id, name=name, prefix=prefix, key_hash=key_hash,
                            scopes=scopes)
            work.auth_changed = True
        self._change_cache(lambda: self._by_hash.__setitem__(key_hash, KeyOwner(key_id, user_id, True, frozenset(scopes))))
        record = keys.get_key(self.db, user_id=user_id, key_id=key_id)
        assert record is not None
        return api_key, record

    def revoke_key(self, *, user_id: str, key_id: str) -> None:
        with self.unit_of_work() as work:
            keys.revoke_key(work.cur, user_id=user_id, key_id=key_id)
            work.auth_changed = True

        def forget_key() -> None:
            for owner in list(self._by_hash.values()):  # a snapshot: other threads may add keys meanwhile
                if owner.key_id == key_id:
                    owner.usable = False

        self._change_cache(forget_key)

    def reveal_initial_key(self, user_id: str) -> tuple[str | None, str | None, bool]:
        """(key, prefix, already revealed). The ciphertext is deleted as it is read."""
        ciphertext, prefix, already = keys.take_initial_key(self.db, user_id=user_id)
        if ciphertext is None:
            return None, prefix, already
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode(), prefix, False
        except InvalidToken:  # the server secret changed since the key was issued
            log.warning("initial key of %s cannot be decrypted with the current secret", user_id)
            return None, prefix, True
