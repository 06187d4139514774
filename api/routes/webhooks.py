"""Clerk webhooks, delivered by Svix: verify the signature first, then hand the event to `api.clerk`."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from svix.webhooks import Webhook, WebhookVerificationError

from api import clerk
from api.config import settings
from api.deps import AccountsDep
from api.models import ClerkEventResult, Message

log = logging.getLogger("llmobserve.api")

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

SVIX_HEADERS = ("svix-id", "svix-timestamp", "svix-signature")


async def verified_delivery(
    request: Request,
    svix_id: Annotated[str | None, Header(description="Delivery id; a retry carries the same one")] = None,
    svix_timestamp: Annotated[str | None, Header(description="Seconds since the epoch; ±5 minutes allowed")] = None,
    svix_signature: Annotated[str | None, Header(description="`v1,<base64>`, space-separated when several")] = None,
) -> tuple[str, bytes]:
    """(delivery id, raw body) of a delivery signed with CLERK_WEBHOOK_SECRET; anything else is refused."""
    secret = settings.clerk_webhook_secret
    if not secret:
        raise HTTPException(503, "Clerk webhooks are not configured on this server: set CLERK_WEBHOOK_SECRET "
                                 "(the whsec_… signing secret of the Clerk endpoint) and restart the API")
    if not (svix_id and svix_timestamp and svix_signature):
        missing = ", ".join(name for name, value in zip(SVIX_HEADERS, (svix_id, svix_timestamp, svix_signature))
                            if not value)
        _reject(f"missing Svix header(s): {missing}", status=400)
    body = await request.body()
    headers = {"svix-id": svix_id, "svix-timestamp": svix_timestamp, "svix-signature": svix_signature}
    try:
        Webhook(secret).verify(body, headers)  # returns None in svix >= 1.x: the body is parsed by us
    except WebhookVerificationError as exc:
        _reject(f"invalid signature: {exc}")  # svix's reasons name no secret: "Message timestamp too old", …
    except Exception:  # noqa: BLE001 - garbage headers make svix raise ValueError and friends
        _reject("invalid signature: malformed Svix headers")
    assert svix_id is not None
    return svix_id[:200], body


def _reject(reason: str, status: int = 401) -> None:
    log.warning("%s Rejected a delivery: %s", clerk.TAG, reason)  # never the body, never the secret
    raise HTTPException(status, reason)


@router.post(
    "/clerk",
    response_model=ClerkEventResult,
    responses={400: {"model": Message}, 401: {"model": Message}, 503: {"model": Message}},
    openapi_extra={"requestBody": {"required": True, "description": "A Clerk event: {type, data, …}",
                                   "content": {"application/json": {"schema": {"type": "object"}}}}},
)
def receive_clerk_event(delivery: Annotated[tuple[str, bytes], Depends(verified_delivery)],
                        accounts: AccountsDep) -> ClerkEventResult:
    """Apply a signed Clerk event (user.created / user.updated / user.deleted) once per svix-id."""
    delivery_id, body = delivery
    try:
        event = clerk.parse_event(body)
        return clerk.apply_event(accounts, delivery_id=delivery_id, event=event)
    except clerk.ClerkEventError as exc:
        log.warning("%s Refused delivery %s: %s", clerk.TAG, delivery_id, exc)
        raise HTTPException(400, str(exc)) from None
