"""Start the real API process (uvicorn) on a temporary DuckDB file or a throwaway PostgreSQL database,
for tests over HTTP."""

from __future__ import annotations

import base64
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


STORES = ("duckdb", "postgresql")


def backends_under_test() -> list[str]:
    """Both stores, unless LLMOBSERVE_TEST_BACKENDS narrows it (e.g. "duckdb" for a quick local run)."""
    wanted = os.environ.get("LLMOBSERVE_TEST_BACKENDS", ",".join(STORES))
    return [b for b in STORES if b in wanted.split(",")]


# Every API and store test runs on both stores (DESIGN §9); test ids say which: test_x[postgresql].
BACKENDS = backends_under_test()


@dataclass
class ApiServer:
    data_dir: Path
    backend: str = "duckdb"
    #: PostgreSQL only: the database to use (several servers given the same one are replicas).
    database_url: str | None = None
    port: int = field(default_factory=free_port)
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    workers: int = 1
    webhook_secret: str = field(default_factory=lambda: "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode())
    extra_env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "llmobserve.duckdb"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("LLMOBSERVE_", "CLERK_")) and k != "DATABASE_URL"}
        env.update(LLMOBSERVE_DB=str(self.db_path), LLMOBSERVE_ADMIN_TOKEN=self.admin_token,
                   CLERK_WEBHOOK_SECRET=self.webhook_secret, PYTHONUNBUFFERED="1")
        if self.backend == "postgresql":
            if self.database_url is None:
                from tests.postgres import shared_server

                self.database_url = shared_server().create_database()
            env.update(DATABASE_URL=self.database_url)
            if self.secret_key:  # "" leaves it unset, as a misconfigured replica would be
                env.update(LLMOBSERVE_SECRET_KEY=self.secret_key)
        else:
            env["DATABASE_URL"] = ""  # not even from a .env file
        env.update(self.extra_env)
        return env

    def start(self) -> ApiServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / f"api-{self.port}.log"
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(self.workers)],
            cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        wait_for(self.url + "/health", timeout=90, proc=self.proc)  # a loaded machine starts slowly
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path and self.log_path.exists() else ""

    def admin(self, user_id: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        if user_id:
            headers["X-LLMObserve-User"] = user_id
        return headers
