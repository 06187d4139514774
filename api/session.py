"""Who may manage API keys: the dashboard (admin token + X-LLMObserve-User) or a browser holding a Clerk
session JWT, verified offline with CLERK_JWT_KEY. An `llmo_` key may not: a leaked key must not mint more."""

from __future__ import annotations

from typing import Annotated

import jwt
from fastapi import Depends, Header, HTTPException, Request

from api.accounts import KEY_PREFIX
from api.config import settings
from api.deps import BEARER, _bearer, _is_admin
from api.store import users


def _clerk_subject(token: str) -> str:
    if not settings.clerk_jwt_key:
        raise HTTPException(401, "invalid token (Clerk session tokens are not enabled: CLERK_JWT_KEY is not set)",
                            BEARER)
    try:
        claims = jwt.decode(token, settings.clerk_jwt_key.replace("\\n", "\n"), algorithms=["RS256"],
                            options={"require": ["sub", "exp"]}, leeway=5)
    except jwt.PyJWTError as exc:
        raise HTTPException(401, f"invalid Clerk session token: {exc}", BEARER) from None
    return str(claims["sub"])


def get_key_manager(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_llmobserve_user: Annotated[str | None, Header()] = None,
) -> str:
    """The id of the user whose keys this request manages."""
    token = _bearer(authorization)
    if token.startswith(KEY_PREFIX):
        raise HTTPException(403, "an API key cannot manage API keys; use the dashboard or a Clerk session")
    if _is_admin(request, token):
        if not x_llmobserve_user:
            raise HTTPException(400, "the admin token needs an X-LLMObserve-User header naming the user to act for")
        user_id = x_llmobserve_user
    else:
        user_id = _clerk_subject(token)
    user = users.get_user(request.app.state.db, user_id=user_id)
    if user is None or not user["active"]:
        raise HTTPException(404, f"user {user_id} not found")
    return user_id


KeyManagerDep = Annotated[str, Depends(get_key_manager)]
