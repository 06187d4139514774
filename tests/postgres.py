"""A throwaway PostgreSQL server for tests and benchmarks: its own data directory, a free port, run as
the `postgres` system user when we are root (initdb refuses root; CI runs as root). Started once per
test session, on first use, and removed at exit. `make test` installs Debian's PostgreSQL when missing."""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path

from tests.server import free_port

INSTALL_HINT = "install it with `apt-get install postgresql` (make test does this when it is missing)"


def find_bindir() -> Path:
    """The newest PostgreSQL server binaries: $LLMOBSERVE_PG_BINDIR, Debian's layout, or the PATH."""
    if os.environ.get("LLMOBSERVE_PG_BINDIR"):
        return Path(os.environ["LLMOBSERVE_PG_BINDIR"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise RuntimeError(f"PostgreSQL server binaries (initdb, pg_ctl) not found: {INSTALL_HINT}")


def _as_server_user() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


class PostgresServer:
    """initdb + pg_ctl in a fresh directory; `create_database()` hands out an empty database each time."""

    def __init__(self, *, durable: bool = False) -> None:
        self.bindir = find_bindir()
        self.root = Path(tempfile.mkdtemp(prefix="llmobserve-pg-"))
        self.port = free_port()
        self.durable = durable
        self._lock = threading.Lock()

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _run(self, *args: str) -> None:
        subprocess.run([*_as_server_user(), *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> PostgresServer:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-sync", "--no-instructions")
        # Tests kill API processes, never the database: its own crash safety can be traded for speed.
        fast = "" if self.durable else " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=300"
                   f" -c shared_buffers=256MB{fast}")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                  str(self.root / "server.log"), "-w", "-t", "60", "start")
        return self

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self) -> str:
        import psycopg

        name = "llmo_" + uuid.uuid4().hex[:12]
        with self._lock, psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run([*_as_server_user(), str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                            "-w", "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.root, ignore_errors=True)


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
