"""The tests' throwaway PostgreSQL (common/local_postgres.py): one server per test session, on a free
port under /tmp, started on first use and removed at exit; each API or store gets a database of its own."""

from __future__ import annotations

import atexit
import threading

from common.local_postgres import PostgresServer

_shared: PostgresServer | None = None
_shared_lock = threading.Lock()


def shared_server() -> PostgresServer:
    """One server for the whole test session, started on first use and stopped at exit."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = PostgresServer().start()
            atexit.register(_shared.stop)
        return _shared
