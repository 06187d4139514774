"""Helpers shared by the reliability tests (the general factories live in tests/factories.py)."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pyarrow as pa

from tests.server import ApiServer


def exported(api: ApiServer, headers: dict[str, str], timeout: float = 60) -> pa.Table:
    """The caller's events, read back through GET /v1/events/export as Arrow."""
    answer = httpx.get(f"{api.url}/v1/events/export", headers=headers, params={"format": "arrow"}, timeout=timeout)
    answer.raise_for_status()
    return pa.ipc.open_stream(io.BytesIO(answer.content)).read_all()


def stored_ids(api: ApiServer, headers: dict[str, str]) -> set[str]:
    return set(exported(api, headers).column("id").to_pylist())


def admin_users(api: ApiServer) -> list[dict[str, Any]]:
    answer = httpx.get(f"{api.url}/admin/users", headers=api.admin(), timeout=30)
    answer.raise_for_status()
    return answer.json()


def table(rows: list[list[str]], header: list[str]) -> str:
    """A plain text table for `-s` output."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: " | ".join(str(c).ljust(w) for c, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(header), "-+-".join("-" * w for w in widths), *map(line, rows)])
