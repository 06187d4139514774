"""Dashboard login: passwords and lockout live in the API's users table, so the dashboard keeps no state."""

from __future__ import annotations

from datetime import timedelta

import bcrypt
from fastapi import APIRouter, HTTPException

from api.deps import AdminDep, StoreDep
from api.models import LoginIn, Message, SignupIn, UserPublic
from api.store import users
from api.store.base import utcnow

router = APIRouter(prefix="/admin/dashboard", tags=["dashboard login"], dependencies=[AdminDep])

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)


@router.post("/signup", response_model=UserPublic, responses={404: {"model": Message}, 409: {"model": Message}})
def sign_up(body: SignupIn, db: StoreDep) -> UserPublic:
    """Set a dashboard password, only for an email the API already knows (Clerk sign-up or operator)."""
    user = users.get_user_by_email(db, email=body.email)
    if user is None:
        raise HTTPException(404, f"no account for {body.email}: sign up through Clerk first, or ask an operator")
    if not user["active"]:
        raise HTTPException(403, "this account has been deactivated")
    if user["password_hash"]:
        raise HTTPException(409, f"{body.email} already has a dashboard password; log in instead")
    hashed = bcrypt.hashpw(body.password.encode(), bcrypt.gensalt()).decode()
    users.set_password_hash(db, user_id=user["id"], password_hash=hashed)
    return UserPublic(**user)


@router.post("/login", response_model=UserPublic,
             responses={401: {"model": Message}, 403: {"model": Message}, 423: {"model": Message}})
def log_in(body: LoginIn, db: StoreDep) -> UserPublic:
    """Check a password; after 5 failures within 15 minutes the account is locked for 15 minutes."""
    user = users.get_user_by_email(db, email=body.email)
    if user is None or not user["password_hash"]:
        bcrypt.checkpw(b"timing", bcrypt.hashpw(b"x", bcrypt.gensalt(4)))  # same work either way
        raise HTTPException(401, "wrong email or password")
    now = utcnow()
    if user["locked_until"] and user["locked_until"] > now:
        minutes = int((user["locked_until"] - now).total_seconds() // 60) + 1
        raise HTTPException(423, f"too many failed logins: try again in {minutes} minute(s)")
    if not user["active"]:
        raise HTTPException(403, "this account has been deactivated")
    ok = bcrypt.checkpw(body.password.encode(), user["password_hash"].encode())
    user = users.record_login(db, user_id=user["id"], success=ok, window_start=now - FAILURE_WINDOW,
                              max_failures=MAX_FAILURES, locked_until_if_exceeded=now + LOCKOUT)
    if not ok:
        raise HTTPException(401, "wrong email or password")
    return UserPublic(**user)


@router.get("/credentials")
def read_credentials(db: StoreDep) -> dict[str, dict[str, dict[str, object]]]:
    """streamlit-authenticator's credentials dict (bcrypt hashes), for active users with a password."""
    now = utcnow()
    return {"usernames": {
        u["email"].lower(): {"email": u["email"], "first_name": u["first_name"] or "", "last_name": u["last_name"] or "",
                             "password": u["password_hash"], "id": u["id"],
                             "locked": bool(u["locked_until"] and u["locked_until"] > now)}
        for u in users.list_users(db) if u["active"] and u["password_hash"] and u["email"]}}
