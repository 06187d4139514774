"""Clerk user events applied to users and keys (DESIGN §3, §7).

The route verifies the Svix signature; this module reads the verified event and applies it through
`Accounts`, the one user-creation path. Each delivery is claimed (by svix-id) in the same transaction as
its change, so a retried delivery is applied once and a failed one leaves nothing behind.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from api.accounts import DISPLAY_PREFIX_LEN, Accounts, Unit
from api.models import ClerkEventResult
from api.store import users, webhooks

log = logging.getLogger("llmobserve.api")

TAG = "[Clerk Webhook]"
DEFAULT_USER_TYPE = "individual"
HANDLED = ("user.created", "user.updated", "user.deleted")
ATTEMPTS = 3  # a concurrent delivery of the same event makes one attempt fail; the next sees the winner

ClerkUserId = Annotated[StrictStr, Field(pattern=r"^user_[A-Za-z0-9]{1,59}$")]


class ClerkEventError(ValueError):
    """A correctly signed delivery we cannot read; the message says which field is wrong."""


class ClerkEmail(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: StrictStr | None = None
    email_address: StrictStr | None = None


class ClerkUser(BaseModel):
    """The fields we use of Clerk's User object (`data` of user.created / user.updated)."""

    model_config = ConfigDict(extra="ignore")

    id: ClerkUserId
    email_addresses: list[ClerkEmail] | None = None
    primary_email_address_id: StrictStr | None = None
    first_name: StrictStr | None = None
    last_name: StrictStr | None = None
    public_metadata: dict[str, Any] | None = None
    updated_at: StrictInt | None = None  # milliseconds since the epoch; orders updates

    @property
    def email(self) -> str | None:
        """The primary address; failing that the first one; a phone-only sign-up has none."""
        addresses = [e for e in self.email_addresses or [] if e.email_address]
        primary = next((e for e in addresses if e.id and e.id == self.primary_email_address_id), None)
        chosen = primary or (addresses[0] if addresses else None)
        return chosen.email_address.strip() if chosen and chosen.email_address else None

    @property
    def user_type(self) -> str | None:
        """`public_metadata.user_type` when it is a usable string; None means "not said"."""
        value = (self.public_metadata or {}).get("user_type")
        return value.strip()[:64] if isinstance(value, str) and value.strip() else None


class ClerkDeletedUser(BaseModel):
    """`data` of user.deleted: a deleted-object stub."""

    model_config = ConfigDict(extra="ignore")

    id: ClerkUserId


@dataclass(frozen=True)
class ClerkEvent:
    type: str
    data: dict[str, Any] | None


def parse_event(body: bytes) -> ClerkEvent:
    """The event's type and data from a verified body; ClerkEventError says what is wrong."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ClerkEventError("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise ClerkEventError("the body must be a JSON object with 'type' and 'data'")
    event_type = payload.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise ClerkEventError("'type' must be a non-empty string such as 'user.created'")
    data = payload.get("data")
    if event_type in HANDLED and not isinstance(data, dict):
        raise ClerkEventError(f"'data' of {event_type} must be an object")
    return ClerkEvent(event_type[:100], data if isinstance(data, dict) else None)


def _validate(model: type[BaseModel], data: dict[str, Any], event_type: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in ("data", *first["loc"]))
        raise ClerkEventError(f"{event_type}: {where}: {first['msg']}") from None


def apply_event(accounts: Accounts, *, delivery_id: str, event: ClerkEvent) -> ClerkEventResult:
    """Apply one verified delivery, once per delivery id. Raises ClerkEventError for unreadable data."""
    log.info("%s Received event: %s", TAG, event.type)
    if event.type not in HANDLED:
        log.info("%s Ignored event type %s", TAG, event.type)
        return ClerkEventResult(status="ignored", event_type=event.type, detail=f"{event.type} is not used")
    assert event.data is not None
    model = ClerkDeletedUser if event.type == "user.deleted" else ClerkUser
    subject: ClerkUser | ClerkDeletedUser = _validate(model, event.data, event.type)
    result: ClerkEventResult | None = None
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with accounts.unit_of_work() as unit:
                if not webhooks.claim_delivery(unit.cur, svix_id=delivery_id, event_type=event.type):
                    result = ClerkEventResult(status="duplicate", event_type=event.type, user_id=subject.id,
                                              detail=f"delivery {delivery_id} was already processed")
                elif isinstance(subject, ClerkDeletedUser):
                    result = _delete(accounts, unit, subject)
                else:
                    result = _upsert(accounts, unit, subject, event.type)
            break
        except accounts.db.write_conflicts:
            if attempt == ATTEMPTS:
                raise
            log.info("%s %s for %s met a concurrent write; retrying", TAG, event.type, subject.id)
    assert result is not None
    if result.status == "duplicate":
        log.info("%s Delivery %s already processed; ignored", TAG, delivery_id)
    return result


def _upsert(accounts: Accounts, unit: Unit, clerk: ClerkUser, event_type: str) -> ClerkEventResult:
    """user.created and user.updated alike: create the user if unknown (once), else apply newer data."""
    current = users.get_user(unit.cur, user_id=clerk.id)
    if current is None:
        linkable = users.get_linkable_user(unit.cur, email=clerk.email) if clerk.email else None
        if linkable is not None:
            return _link(accounts, unit, clerk, linkable, event_type)
        return _create(accounts, unit, clerk, event_type)
    stored = current["clerk_updated_at"]
    if clerk.updated_at is not None and stored is not None and clerk.updated_at < stored:
        log.info("%s Ignored %s for %s: older (updated_at %d) than stored (%d)", TAG, event_type, clerk.id,
                 clerk.updated_at, stored)
        return ClerkEventResult(status="stale", event_type=event_type, user_id=clerk.id,
                                detail="an update newer than this one was already applied")
    _update_profile(unit, clerk, current)
    detail = "profile updated" if event_type == "user.updated" else "user already exists: profile refreshed, no new key"
    unit.after_commit.append(lambda: log.info("%s Updated user %s (%s)", TAG, clerk.id, detail))
    return ClerkEventResult(status="updated", event_type=event_type, user_id=clerk.id, detail=detail)


def _create(accounts: Accounts, unit: Unit, clerk: ClerkUser, event_type: str) -> ClerkEventResult:
    _, api_key, _ = accounts.create_user(
        email=clerk.email, first_name=clerk.first_name, last_name=clerk.last_name,
        user_type=clerk.user_type or DEFAULT_USER_TYPE, user_id=clerk.id, source="clerk",
        clerk_updated_at=clerk.updated_at, unit=unit)
    who = clerk.email or f"{clerk.id} (no email)"
    shown = api_key[:DISPLAY_PREFIX_LEN] + "…"  # never the whole key
    unit.after_commit.append(lambda: log.info("%s Created user %s with API key %s", TAG, who, shown))
    return ClerkEventResult(status="created", event_type=event_type, user_id=clerk.id,
                            detail="user and initial API key created")


def _link(accounts: Accounts, unit: Unit, clerk: ClerkUser, existing: dict[str, Any],
          event_type: str) -> ClerkEventResult:
    """An operator created this person before they signed up: adopt the Clerk id, keep keys and events."""
    accounts.relink(existing["id"], clerk.id, unit=unit)
    _update_profile(unit, clerk, existing)
    old_id = existing["id"]
    unit.after_commit.append(lambda: log.info("%s Linked Clerk user %s to existing user %s (was %s; keys kept)",
                                              TAG, clerk.id, clerk.email, old_id))
    return ClerkEventResult(status="linked", event_type=event_type, user_id=clerk.id,
                            detail=f"linked to the operator-created user with this email (was {old_id}); keys kept")


def _update_profile(unit: Unit, clerk: ClerkUser, current: dict[str, Any]) -> None:
    # Clerk sends the whole User object: email and names mirror it. A user type Clerk does not state
    # keeps the stored one (an operator may have set it).
    known = [v for v in (clerk.updated_at, current["clerk_updated_at"]) if v is not None]
    users.update_profile(unit.cur, user_id=clerk.id, email=clerk.email, first_name=clerk.first_name,
                         last_name=clerk.last_name, user_type=clerk.user_type or current["user_type"],
                         clerk_updated_at=max(known) if known else None)


def _delete(accounts: Accounts, unit: Unit, deleted: ClerkDeletedUser) -> ClerkEventResult:
    """Revoke every key and block login at once; usage events stay until an operator purges them."""
    if users.get_user(unit.cur, user_id=deleted.id) is None:
        log.info("%s Ignored user.deleted for unknown user %s", TAG, deleted.id)
        return ClerkEventResult(status="ignored", event_type="user.deleted", user_id=deleted.id,
                                detail="no such user")
    accounts.deactivate_user(deleted.id, unit=unit)
    unit.after_commit.append(lambda: log.info("%s Deactivated user %s and revoked its API keys", TAG, deleted.id))
    return ClerkEventResult(status="deactivated", event_type="user.deleted", user_id=deleted.id,
                            detail="API keys revoked and dashboard login blocked; usage events kept")
