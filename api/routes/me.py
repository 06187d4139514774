from __future__ import annotations

from fastapi import APIRouter, HTTPException

from api.deps import AccountsDep, ReadTenantDep, StoreDep
from api.models import InitialKeyReveal, UserPublic
from api.store import users

router = APIRouter(prefix="/v1/me", tags=["me"])


@router.get("", response_model=UserPublic)
def read_me(tenant: ReadTenantDep, db: StoreDep) -> UserPublic:
    """The acting user's profile (email, names, user type)."""
    user = users.get_user(db, user_id=tenant.user_id)
    if user is None:
        raise HTTPException(404, f"user {tenant.user_id} not found")
    return UserPublic(**user)


@router.post("/initial-key", response_model=InitialKeyReveal)
def reveal_initial_key(tenant: ReadTenantDep, accounts: AccountsDep) -> InitialKeyReveal:
    """The initial API key, in full, exactly once; afterwards only its prefix."""
    if tenant.via != "admin":
        raise HTTPException(403, "the initial key is revealed only to the dashboard")
    api_key, prefix, already = accounts.reveal_initial_key(tenant.user_id)
    return InitialKeyReveal(api_key=api_key, prefix=prefix, already_revealed=already)
