from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path

from api.deps import AccountsDep, StoreDep
from api.models import KeyCreate, KeyCreated, KeyPublic, KeysPublic, Message
from api.session import KeyManagerDep
from api.store import keys

router = APIRouter(prefix="/clerk/api-keys", tags=["api-keys"])


def _public(record: dict[str, Any], accounts: AccountsDep) -> dict[str, Any]:
    # last use is kept in memory between periodic saves; show the freshest value
    return {**record, "last_used_at": accounts.last_used(record["id"]) or record["last_used_at"]}


def get_owned_key(user_id: KeyManagerDep, db: StoreDep, key_id: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
    """The key, if it exists and belongs to the caller; otherwise 404 (never 'forbidden': that would leak)."""
    record = keys.get_key(db, user_id=user_id, key_id=key_id)
    if record is None:
        raise HTTPException(404, f"API key {key_id} not found")
    return record


@router.get("", response_model=KeysPublic)
def list_keys(user_id: KeyManagerDep, db: StoreDep, accounts: AccountsDep) -> KeysPublic:
    """The caller's keys: name, prefix, created, last used, revoked. Never the key itself."""
    return KeysPublic(data=[_public(k, accounts) for k in keys.list_keys(db, user_id=user_id)])


@router.post("", response_model=KeyCreated, status_code=201)
def create_key(body: KeyCreate, user_id: KeyManagerDep, accounts: AccountsDep) -> KeyCreated:
    """Issue a new key (scopes default to ingest only); the full key is in this answer only."""
    api_key, record = accounts.issue_key(user_id=user_id, name=body.name, scopes=tuple(sorted(set(body.scopes))))
    return KeyCreated(**record, api_key=api_key)


@router.delete("/{key_id}", response_model=KeyPublic, responses={404: {"model": Message}})
def revoke_key(
    key: Annotated[dict[str, Any], Depends(get_owned_key)], user_id: KeyManagerDep, db: StoreDep,
    accounts: AccountsDep,
) -> KeyPublic:
    """Revoke a key; the next request made with it is refused."""
    accounts.revoke_key(user_id=user_id, key_id=key["id"])
    record = keys.get_key(db, user_id=user_id, key_id=key["id"])
    assert record is not None
    return KeyPublic(**_public(record, accounts))
