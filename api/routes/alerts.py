from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel

from api.alerts import AlertEngine
from api.budget_models import ChannelCreated, ChannelIn, ChannelPublic, ChannelsPublic, DeliveriesPublic
from api.deps import ReadTenantDep, StoreDep
from api.models import Message
from api.outbound import RefusedTarget
from api.store import alerts

router = APIRouter(tags=["alerts"])


async def get_engine(request: Request) -> AlertEngine:
    return request.app.state.alerts


EngineDep = Annotated[AlertEngine, Depends(get_engine)]


def _public(channel: dict[str, Any]) -> dict[str, Any]:
    return {"id": channel["id"], "type": channel["type"], "url": channel["url_display"],
            "created_at": channel["created_at"]}


def get_owned_channel(tenant: ReadTenantDep, db: StoreDep,
                      channel_id: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
    """The channel if it is the caller's; otherwise 404 naming the id."""
    channel = alerts.get_channel(db, tenant_id=tenant.user_id, channel_id=channel_id)
    if channel is None:
        raise HTTPException(404, f"alert channel {channel_id} not found")
    return channel


OwnedChannel = Annotated[dict[str, Any], Depends(get_owned_channel)]


class TestDelivery(BaseModel):
    delivery_id: str
    status: str
    status_code: int | None
    error: str | None


@router.post("/v1/alert-channels", response_model=ChannelCreated, status_code=201)
def create_channel(body: ChannelIn, tenant: ReadTenantDep, engine: EngineDep) -> dict[str, Any]:
    """Add a webhook (signed, Standard Webhooks) or Slack channel; a webhook's secret is shown only here."""
    try:
        channel, secret = engine.create_channel(tenant_id=tenant.user_id, type=body.type, url=body.url)
    except RefusedTarget as exc:
        raise HTTPException(422, [{"loc": ["body", "url"], "type": "value_error", "msg": str(exc)}]) from exc
    return {**_public(channel), "secret": secret}


@router.get("/v1/alert-channels", response_model=ChannelsPublic)
def list_channels(tenant: ReadTenantDep, db: StoreDep) -> ChannelsPublic:
    """The tenant's alert channels (URLs shown by host only; secrets never)."""
    return ChannelsPublic(data=[_public(c) for c in alerts.list_channels(db, tenant_id=tenant.user_id)])


@router.delete("/v1/alert-channels/{channel_id}", response_model=Message, responses={404: {"model": Message}})
def delete_channel(channel: OwnedChannel, tenant: ReadTenantDep, db: StoreDep) -> Message:
    """Remove a channel; its pending deliveries are given up."""
    alerts.delete_channel(db, tenant_id=tenant.user_id, channel_id=channel["id"])
    return Message(detail=f"alert channel {channel['id']} deleted")


@router.post("/v1/alert-channels/{channel_id}/test", response_model=TestDelivery, responses={404: {"model": Message}})
def test_channel(channel: OwnedChannel, tenant: ReadTenantDep, engine: EngineDep) -> dict[str, Any]:
    """Send one test delivery now and answer how the receiver took it (not retried)."""
    return engine.send_test(tenant_id=tenant.user_id, channel=channel, now=datetime.now(UTC))


@router.get("/v1/alert-deliveries", response_model=DeliveriesPublic)
def list_deliveries(tenant: ReadTenantDep, db: StoreDep,
                    limit: Annotated[int, Query(ge=1, le=500)] = 100) -> DeliveriesPublic:
    """The latest deliveries, newest first, each with every attempt and its status code."""
    return DeliveriesPublic(data=alerts.list_deliveries(db, tenant_id=tenant.user_id, limit=limit))
