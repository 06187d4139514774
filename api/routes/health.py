from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api import __version__
from api.deps import StoreDep
from api.models import HealthPublic

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthPublic, responses={503: {"model": HealthPublic}})
def read_health(db: StoreDep):  # type: ignore[no-untyped-def]
    """200 with status ok when the database answers, 503 otherwise."""
    try:
        ok = db.ping()
    except Exception:  # noqa: BLE001 - any database failure means "not healthy"
        ok = False
    body = HealthPublic(status="ok" if ok else "unavailable", database="ok" if ok else "error", store=db.name,
                        version=__version__)
    return body if ok else JSONResponse(body.model_dump(), status_code=503)
