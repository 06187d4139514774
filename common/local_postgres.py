"""A PostgreSQL server of our own, for tests, benchmarks and `make cluster`: its own data directory and
port, run as the `postgres` system user when we are root (initdb refuses root; CI runs as root).
`make test` and `make cluster` install Debian's PostgreSQL when it is missing."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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

    def __init__(self, root: Path | None = None, *, port: int | None = None, durable: bool = False) -> None:
        """`root`: a directory the `postgres` user may enter (default: a new one under /tmp)."""
        self.bindir = find_bindir()
        self.root = root or Path(tempfile.mkdtemp(prefix="llmobserve-pg-"))
        self.port = port or free_port()
        self.durable = durable
        self._lock = threading.Lock()

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _run(self, *args: str) -> None:
        subprocess.run([*_as_server_user(), *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> PostgresServer:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        if not (self.data / "PG_VERSION").exists():
            self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                      "-E", "UTF8", "--no-instructions", *([] if self.durable else ["--no-sync"]))
        # Tests kill API processes, never the database: its own crash safety can be traded for speed.
        fast = "" if self.durable else " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=300"
                   f" -c shared_buffers=256MB{fast}")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                  str(self.root / "server.log"), "-w", "-t", "60", "start")
        return self

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database (or `name`, created when missing); its URL."""
        import psycopg

        name = name or "llmo_" + uuid.uuid4().hex[:12]
        with self._lock, psycopg.connect(self.url(), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self, *, remove: bool = True) -> None:
        """Stop the server; `remove` deletes its data too (a throwaway server)."""
        if self.data.exists():
            mode = "immediate" if remove else "fast"
            subprocess.run([*_as_server_user(), str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode,
                            "-w", "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)
