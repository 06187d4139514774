from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from starlette.concurrency import run_in_threadpool

from api.deps import AccountsDep, AdminDep, StoreDep
from api.models import BackupPublic, Message, UserCreate, UserCreated, UserPublic
from api.store import StoreUnsupported, events, users

log = logging.getLogger("llmobserve.api")

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[AdminDep])


@router.post("/users", response_model=UserCreated, status_code=201, responses={409: {"model": Message}})
def create_user(body: UserCreate, db: StoreDep, accounts: AccountsDep) -> UserCreated:
    """Create a user and its initial API key (the same path as a Clerk sign-up); the key is shown once."""
    if users.get_user_by_email(db, email=body.email):
        raise HTTPException(409, f"a user with email {body.email} already exists")
    user, api_key, key_id = accounts.create_user(email=body.email, first_name=body.first_name,
                                                  last_name=body.last_name, user_type=body.user_type)
    log.info("Created user %s with API key %s…", body.email, api_key[:9])
    return UserCreated(user=UserPublic(**user), api_key=api_key, key_id=key_id)


@router.get("/users", response_model=list[UserPublic])
def list_users(db: StoreDep) -> list[UserPublic]:
    """Every user, oldest first."""
    return [UserPublic(**u) for u in users.list_users(db)]


@router.post("/backup", response_model=BackupPublic, status_code=201, responses={501: {"model": Message}})
async def create_backup(db: StoreDep) -> BackupPublic:
    """An online, consistent copy of the DuckDB database into data/backups/ (taken between two commits);
    on PostgreSQL, 501: back up with pg_dump."""
    try:
        target, done = db.backup()
    except StoreUnsupported:
        raise HTTPException(501, "this store is PostgreSQL: back it up with pg_dump (README, production)") from None
    await asyncio.wrap_future(done)
    return BackupPublic(path=str(target), bytes=target.stat().st_size)


@router.delete("/users/{user_id}/events", responses={404: {"model": Message}})
async def purge_user_events(user_id: Annotated[str, Path(max_length=64)], db: StoreDep) -> dict[str, int]:
    """Delete every event of a user (e.g. after a deletion request). Deactivation alone keeps them."""
    if await run_in_threadpool(users.get_user, db, user_id=user_id) is None:
        raise HTTPException(404, f"user {user_id} not found")
    return {"deleted": await asyncio.wrap_future(events.purge_tenant_events(db, tenant_id=user_id))}
