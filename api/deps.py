"""Request dependencies: the store, and who is calling (DESIGN §3)."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Query, Request, status
from starlette.concurrency import run_in_threadpool

from api.accounts import KEY_PREFIX, SCOPES, Accounts
from api.store import Store, users
from api.store.base import utc_naive
from api.store.filters import EventFilters

BEARER = {"WWW-Authenticate": "Bearer"}


# Dependencies that do no blocking work are `async def`: FastAPI runs a plain `def` dependency in the
# thread pool, and those hops cost more than the work on a busy ingest path.
async def get_db(request: Request) -> Store:
    return request.app.state.db


async def get_accounts(request: Request) -> Accounts:
    return request.app.state.accounts


StoreDep = Annotated[Store, Depends(get_db)]
AccountsDep = Annotated[Accounts, Depends(get_accounts)]


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing Authorization header (Bearer llmo_… key)", BEARER)
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Authorization header must be 'Bearer <token>'", BEARER)
    return token.strip()


def _is_admin(request: Request, token: str) -> bool:
    return hmac.compare_digest(token.encode(), request.app.state.admin_token.encode())


@dataclass(frozen=True)
class Tenant:
    user_id: str
    via: str  # "key" or "admin"
    scopes: frozenset[str] = frozenset(SCOPES)  # a key's own; the admin token (dashboard) may do both


async def get_tenant(
    request: Request,
    accounts: AccountsDep,
    authorization: Annotated[str | None, Header()] = None,
    x_llmobserve_user: Annotated[str | None, Header()] = None,
) -> Tenant:
    """An `llmo_` key acts for its owner; the admin token acts for the user named in X-LLMObserve-User."""
    token = _bearer(authorization)
    if token.startswith(KEY_PREFIX):
        owner = accounts.authenticate(token)
        if owner is None and accounts.db.shared:  # issued on another replica since this one's last poll?
            owner = await run_in_threadpool(accounts.look_up, token)
        if owner is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "API key is unknown or revoked", BEARER)
        if x_llmobserve_user and x_llmobserve_user != owner.user_id:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "an API key can only act for its own user")
        return Tenant(owner.user_id, "key", owner.scopes)
    if not _is_admin(request, token):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid token", BEARER)
    if not x_llmobserve_user:
        raise HTTPException(status.HTTP_400_BAD_REQUEST,
                            "the admin token needs an X-LLMObserve-User header naming the user to act for")
    user = await run_in_threadpool(users.get_user, request.app.state.db, user_id=x_llmobserve_user)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"user {x_llmobserve_user} not found")
    return Tenant(user["id"], "admin")


TenantDep = Annotated[Tenant, Depends(get_tenant)]


def check_scope(tenant: Tenant, scope: str) -> Tenant:
    """The tenant, if its key may do `scope`; else 403 naming the scope."""
    if scope not in tenant.scopes:
        has = ", ".join(sorted(tenant.scopes)) or "none"
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"this API key lacks the '{scope}' scope (it has: {has}); create a key with the "
                            f"'{scope}' scope in Settings")
    return tenant


def require_scope(scope: str) -> Callable[[Tenant], Awaitable[Tenant]]:
    """A dependency a route declares to say what a key must be allowed to do (DESIGN §13): `ingest` for
    sending events, `read` for reading costs back. 403 names the missing scope. TenantDep alone (any
    valid key) is for the few reads an ingest-only key needs, such as budget status for the SDK."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    async def tenant_with_scope(tenant: TenantDep) -> Tenant:
        return check_scope(tenant, scope)

    tenant_with_scope.scope = scope  # type: ignore[attr-defined]  # for the test that every route declares one
    return tenant_with_scope


IngestTenantDep = Annotated[Tenant, Depends(require_scope("ingest"))]
ReadTenantDep = Annotated[Tenant, Depends(require_scope("read"))]


async def require_admin(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_llmobserve_user: Annotated[str | None, Header()] = None,
) -> None:
    """Operator endpoints: the admin token alone. With X-LLMObserve-User the caller asked to act for one
    user, and these endpoints reach every user: refuse rather than silently act beyond that scope."""
    if not _is_admin(request, _bearer(authorization)):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "this endpoint needs the admin token", BEARER)
    if x_llmobserve_user:
        raise HTTPException(status.HTTP_400_BAD_REQUEST,
                            "operator endpoints act for no single user: drop the X-LLMObserve-User header")


AdminDep = Depends(require_admin)


async def get_filters(
    start: Annotated[datetime | None, Query(description="ISO 8601, inclusive")] = None,
    end: Annotated[datetime | None, Query(description="ISO 8601, exclusive")] = None,
    provider: Annotated[str | None, Query(max_length=64)] = None,
    model: Annotated[str | None, Query(max_length=256)] = None,
    customer_id: Annotated[str | None, Query(max_length=256)] = None,
    status_: Annotated[str | None, Query(alias="status", pattern="^(ok|error|incomplete)$")] = None,
    tag: Annotated[list[str] | None, Query(
        max_length=20, description="`key:value`, repeatable: only calls carrying every one of these tags")] = None,
) -> EventFilters:
    if start and end and utc_naive(end) <= utc_naive(start):
        raise HTTPException(422, "end must be after start")
    for name, value in (("provider", provider), ("model", model), ("customer_id", customer_id)):
        if value and "\x00" in value:
            raise HTTPException(422, f"query parameter {name}: a NUL character (\\u0000) is not allowed")
    return EventFilters(start=utc_naive(start) if start else None, end=utc_naive(end) if end else None,
                        provider=provider, model=model, customer_id=customer_id, status=status_,
                        tags=parse_tags(tag or []))


def parse_tags(values: list[str]) -> tuple[tuple[str, str], ...]:
    """`tag=key:value` → (key, value); the key ends at the first colon, so values may hold colons."""
    pairs = []
    for index, text in enumerate(values):
        key, colon, value = text.partition(":")
        if not colon or not key:
            raise HTTPException(422, f"tag filter {index + 1} ({text[:80]!r}) must be key:value, e.g. tag=team:search")
        if len(key) > 256 or len(value) > 256:
            raise HTTPException(422, f"tag filter {index + 1}: key and value are at most 256 characters each")
        if "\x00" in text:
            raise HTTPException(422, f"tag filter {index + 1}: a NUL character is not allowed")
        pairs.append((key, value))
    return tuple(dict.fromkeys(pairs))


FiltersDep = Annotated[EventFilters, Depends(get_filters)]
