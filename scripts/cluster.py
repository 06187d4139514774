"""`make cluster`: scale-out on one machine. A PostgreSQL of its own under data/cluster/ (run as the
`postgres` system user), two API replicas, Debian's nginx in front of them on :8000, and the dashboard
on :3000 — the layout of a production deployment, in one command. Ctrl-C stops everything; the data
stays in data/cluster/ for the next start (`rm -rf data/cluster` starts afresh).

Secrets come from the environment, as in production (LLMOBSERVE_ADMIN_TOKEN, LLMOBSERVE_SECRET_KEY,
LLMOBSERVE_COOKIE_KEY); those not set are generated once into data/cluster/ (mode 0600) and handed to
every process through its environment. Ports: LLMOBSERVE_API_PORT (8000), LLMOBSERVE_DASHBOARD_PORT (3000).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.local_postgres import PostgresServer, free_port  # noqa: E402
from common.secret_files import load_or_create_secret  # noqa: E402

HERE = ROOT / "data" / "cluster"
NGINX_CONF = """
daemon off;
pid {here}/nginx.pid;
error_log stderr warn;
worker_processes 1;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {here}/nginx/body;
    proxy_temp_path {here}/nginx/proxy;
    fastcgi_temp_path {here}/nginx/fastcgi;
    uwsgi_temp_path {here}/nginx/uwsgi;
    scgi_temp_path {here}/nginx/scgi;
    client_max_body_size 6m;
    client_body_buffer_size 6m;
    upstream llmobserve_api {{
        {servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://llmobserve_api;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_next_upstream error timeout;
        }}
    }}
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not found:
        sys.exit("nginx is not installed: `make cluster` installs Debian's package (apt-get install nginx)")
    return found


def shared_secrets() -> dict[str, str]:
    """The secrets every replica (and dashboard) must share, from the environment or generated once."""
    names = {"LLMOBSERVE_ADMIN_TOKEN": "admin_token", "LLMOBSERVE_SECRET_KEY": "secret_key",
             "LLMOBSERVE_COOKIE_KEY": "cookie_key"}
    return {var: os.environ.get(var) or load_or_create_secret(HERE / file) for var, file in names.items()}


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{url} exited with {proc.returncode} before it answered (see data/cluster/*.log)")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    sys.exit(f"{url} did not answer within {timeout}s")


def main() -> None:
    api_port = int(os.environ.get("LLMOBSERVE_API_PORT", "8000"))
    dashboard_port = int(os.environ.get("LLMOBSERVE_DASHBOARD_PORT", "3000"))
    HERE.mkdir(parents=True, exist_ok=True)
    nginx = nginx_binary()
    pg_port_file = HERE / "pg_port"
    pg_port = int(pg_port_file.read_text()) if pg_port_file.exists() else free_port()
    pg_port_file.write_text(str(pg_port))
    postgres = PostgresServer(HERE / "pg", port=pg_port, durable=True).start()
    processes: list[subprocess.Popen] = []
    try:
        url = postgres.create_database("llmobserve")
        env = {**os.environ, **shared_secrets(), "DATABASE_URL": url, "PYTHONUNBUFFERED": "1",
               "LLMOBSERVE_API_URL": f"http://127.0.0.1:{api_port}"}
        replica_ports = [free_port(), free_port()]
        for n, port in enumerate(replica_ports, 1):
            log = open(HERE / f"api-{n}.log", "ab")
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(port)],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        for port, proc in zip(replica_ports, processes):
            wait_healthy(f"http://127.0.0.1:{port}", proc)
        (HERE / "nginx").mkdir(exist_ok=True)
        servers = "\n        ".join(f"server 127.0.0.1:{port};" for port in replica_ports)
        (HERE / "nginx.conf").write_text(NGINX_CONF.format(here=HERE, servers=servers, port=api_port))
        processes.append(subprocess.Popen([nginx, "-c", str(HERE / "nginx.conf"), "-p", str(HERE)], cwd=ROOT, env=env))
        wait_healthy(f"http://127.0.0.1:{api_port}", processes[-1])
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(dashboard_port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
             "--client.toolbarMode", "viewer"], cwd=ROOT, env=env,
            stdout=open(HERE / "dashboard.log", "ab"), stderr=subprocess.STDOUT))
        print(f"PostgreSQL {url} (data in data/cluster/pg)")
        print(f"API replicas on :{replica_ports[0]} and :{replica_ports[1]}, behind nginx on :{api_port}")
        print(f"dashboard on http://localhost:{dashboard_port}; admin token: data/cluster/admin_token "
              f"(or your LLMOBSERVE_ADMIN_TOKEN). Ctrl-C stops everything.", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while all(proc.poll() is None for proc in processes):
            time.sleep(0.5)
        print("a process of the cluster exited; stopping the rest (logs in data/cluster/)", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in reversed(processes):
            if proc.poll() is None:
                proc.terminate()
        for proc in processes:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        postgres.stop(remove=False)


if __name__ == "__main__":
    main()
