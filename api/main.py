from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api import __version__
from api.config import settings
from api.lifespan import lifespan
from api.middleware import BodyLimitMiddleware
from api.routes import (admin, alerts, analytics, budgets, dashboard_auth, events, forecast, health, keys, me, prices,
                        reconciliation, reprice, runs, traces, webhooks, whatif)
from api.store import BadValue

app = FastAPI(
    title="llmobserve API",
    version=__version__,
    description="LLM cost observability: ingest usage events, price them, and read costs per customer.",
    lifespan=lifespan,
)
app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes,
                   path_limits={"/v1/traces": settings.max_trace_bytes})


@app.exception_handler(BadValue)
async def refuse_bad_value(request: Request, exc: BadValue) -> JSONResponse:
    """A value the store cannot hold is the request's fault: 422 with the reason."""
    return JSONResponse({"detail": f"a value in this request cannot be stored: {exc}"}, status_code=422)


for module in (health, events, traces, webhooks, analytics, whatif, forecast, runs, prices, reprice, reconciliation,
               budgets, alerts, keys, me, admin, dashboard_auth):
    app.include_router(module.router)
