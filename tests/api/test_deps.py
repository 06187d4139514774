"""Every tenant route declares the key scope it needs (api/deps.py `require_scope`), so a new route
cannot silently let an ingest-only key read costs."""

from __future__ import annotations

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from api.deps import get_tenant
from api.main import app

# Routes that any valid key may call whatever its scopes (documented in docs/api.md).
ANY_SCOPE: set[tuple[str, str]] = {("GET", "/v1/budgets/status")}


def _calls(dependant: Dependant) -> list:
    found = []
    for sub in dependant.dependencies:
        found.append(sub.call)
        found += _calls(sub)
    return found


def _routes() -> list[APIRoute]:
    """Every API route, inside included routers too (FastAPI ≥ 0.165 keeps them as `_IncludedRouter`)."""
    found = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif (router := getattr(route, "original_router", None)) is not None:
            found += [r for r in router.routes if isinstance(r, APIRoute)]
    return found


def test_every_route_that_takes_a_tenant_declares_a_scope() -> None:
    undeclared, declared = [], {}
    for route in _routes():
        calls = _calls(route.dependant)
        if get_tenant not in calls:
            continue
        scopes = {getattr(call, "scope") for call in calls if hasattr(call, "scope")}
        for method in route.methods:
            if scopes:
                declared[(method, route.path)] = scopes
            elif (method, route.path) not in ANY_SCOPE:
                undeclared.append(f"{method} {route.path}")
    assert not undeclared, f"routes taking a tenant without require_scope(...): {undeclared}"
    assert declared[("POST", "/v1/events")] == {"ingest"}
    assert declared[("GET", "/v1/analytics/summary")] == {"read"}
    assert declared[("GET", "/v1/events/export")] == {"read"}
