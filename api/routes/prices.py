from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request

from api import price_data
from api.deps import ReadTenantDep, StoreDep
from api.models import CustomPriceIn, CustomPricePublic, Message
from api.price_models import CatalogPublic
from api.price_book import PriceBook
from api.store import prices

router = APIRouter(prefix="/v1/prices", tags=["prices"])


async def get_price_book(request: Request) -> PriceBook:
    return request.app.state.price_book


PriceBookDep = Annotated[PriceBook, Depends(get_price_book)]
Provider = Annotated[str, Path(min_length=1, max_length=64)]
Model = Annotated[str, Path(min_length=1, max_length=256)]


@router.get("", response_model=list[CustomPricePublic])
def list_custom_prices(tenant: ReadTenantDep, db: StoreDep) -> list[dict]:
    """Every version of the tenant's own prices, each in force from effective_from to effective_to."""
    return prices.list_versions(db, tenant_id=tenant.user_id)


@router.get("/catalog", response_model=CatalogPublic)
def read_catalog(
    tenant: ReadTenantDep,
    provider: Annotated[str | None, Query(max_length=64, description="genai-prices' provider id")] = None,
    q: Annotated[str | None, Query(max_length=256, description="part of the model's id or name")] = None,
) -> CatalogPublic:
    """Models the price data in force knows, with their list prices now (USD per million tokens)."""
    return CatalogPublic(snapshot_version=price_data.snapshot_version(),
                         data=price_data.catalog(provider=provider, q=q, when=datetime.now(UTC)))


@router.put("/{provider}/{model:path}", response_model=CustomPricePublic, responses={422: {"model": Message}})
def set_custom_price(provider: Provider, model: Model, body: CustomPriceIn, tenant: ReadTenantDep,
                     book: PriceBookDep) -> dict:
    """Price this model at your own rate from effective_from (default now). Stored costs change only by
    re-pricing (POST /v1/reprice); a version at the same effective_from is replaced."""
    return book.set(tenant_id=tenant.user_id, provider=provider, model=model, price=body)


@router.delete("/{provider}/{model:path}", response_model=Message, responses={404: {"model": Message}})
def delete_custom_price(provider: Provider, model: Model, tenant: ReadTenantDep, book: PriceBookDep,
                        version: Annotated[str | None, Query(max_length=64, description="only this version")] = None
                        ) -> Message:
    """Remove one version, or every version of this model (back to genai-prices)."""
    removed = book.delete(tenant_id=tenant.user_id, provider=provider, model=model, version=version)
    if not removed:
        what = f"version {version} of " if version else ""
        raise HTTPException(404, f"no custom price {what}for {provider}/{model}")
    return Message(detail=f"{removed} custom price version(s) for {provider}/{model} removed")
