from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request

from api.deps import ReadTenantDep, StoreDep
from api.models import CustomPriceIn, CustomPricePublic, Message
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
    """The tenant's own prices (USD per million tokens), which override genai-prices."""
    return prices.list_prices(db, tenant_id=tenant.user_id)


@router.put("/{provider}/{model:path}", response_model=CustomPricePublic)
def set_custom_price(provider: Provider, model: Model, body: CustomPriceIn, tenant: ReadTenantDep,
                     book: PriceBookDep) -> dict:
    """Price this provider's model at your own rate from now on (events stored before keep their cost)."""
    return book.set(tenant_id=tenant.user_id, provider=provider, model=model, input_per_mtok=body.input_per_mtok,
                    cached_input_per_mtok=body.cached_input_per_mtok if body.cached_input_per_mtok is not None
                    else body.input_per_mtok,
                    cache_write_per_mtok=body.cache_write_per_mtok if body.cache_write_per_mtok is not None
                    else body.input_per_mtok,
                    output_per_mtok=body.output_per_mtok)


@router.delete("/{provider}/{model:path}", response_model=Message, responses={404: {"model": Message}})
def delete_custom_price(provider: Provider, model: Model, tenant: ReadTenantDep, book: PriceBookDep) -> Message:
    """Go back to genai-prices for this model."""
    if not book.delete(tenant_id=tenant.user_id, provider=provider, model=model):
        raise HTTPException(404, f"no custom price for {provider}/{model}")
    return Message(detail=f"custom price for {provider}/{model} removed")
