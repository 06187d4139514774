#!/usr/bin/env python3
"""`make demo`: fill a running llmobserve (`make run`) with a demo user and a month of varied LLM traffic.

1. Creates the demo user the way a real sign-up does: a Clerk `user.created` webhook, signed with svix and
   the API's CLERK_WEBHOOK_SECRET (from the environment or `.env`). When the API has no webhook secret it
   falls back to `POST /admin/users`, and says so. An existing demo user (found by email) is reused.
2. Sets a dashboard password for it (`POST /admin/dashboard/signup`) and prints the login.
3. Loads a month of backdated history into `POST /v1/events` (weekday rhythm, growth, a dozen customers,
   OpenAI and Anthropic models, runs, streams, errors, cached tokens, an unpriced fine-tune). On a second
   run only the time since the last recorded call is filled in (`--fresh` starts over).
4. Runs the real `openai` and `anthropic` clients, recorded by the SDK, against a bundled fake provider
   (scripts/fake_provider.py): several customers, named runs, streams, cached tokens and errors.
5. Sets a monthly budget near its limit for the costliest customer and waits for its alert at a local
   receiver that verifies the signature (scripts/demo_budgets.py).

It issues its own API key (`POST /clerk/api-keys`, named "make demo") and leaves the initial key's one-time
reveal for the Settings page. Needs the admin token: LLMOBSERVE_ADMIN_TOKEN, or `data/admin_token`.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import secrets
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from pathlib import Path
from typing import Any

import httpx
from dotenv import dotenv_values
from svix.webhooks import Webhook

sys.path.insert(0, str(Path(__file__).resolve().parent))
from demo_budgets import budgets_and_alerts  # noqa: E402
from demo_history import History  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the llmobserve SDK from this checkout, even without `pip install -e .`
from scripts.fake_provider import FakeProvider  # noqa: E402

DEMO_KEY_NAME = "make demo"
BATCH = 1000
DOTENV = {k: v for k, v in dotenv_values(ROOT / ".env").items() if v} if (ROOT / ".env").exists() else {}


def setting(name: str) -> str | None:
    """The environment first, then `.env`: what `make run` (honcho) gives the API."""
    return os.environ.get(name) or DOTENV.get(name)


def data_dir() -> Path:
    db = Path(setting("LLMOBSERVE_DB") or "data/llmobserve.duckdb")
    return (db if db.is_absolute() else ROOT / db).parent


def fail(message: str) -> None:
    print(f"demo: {message}", file=sys.stderr)
    raise SystemExit(1)


# -- the API ----------------------------------------------------------------------------------------
class Api:
    def __init__(self, url: str, admin_token: str) -> None:
        self.url = url.rstrip("/")
        self.admin_token = admin_token
        self.http = httpx.Client(base_url=self.url, timeout=60)

    def admin(self, user_id: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        return headers | ({"X-LLMObserve-User": user_id} if user_id else {})

    def call(self, method: str, path: str, ok: tuple[int, ...] = (200, 201), **kw: Any) -> httpx.Response:
        answer = self.http.request(method, path, **kw)
        if answer.status_code not in ok:
            fail(f"{method} {path} answered {answer.status_code}: {answer.text[:300]}")
        return answer

    def summary(self, user_id: str, **params: str) -> dict[str, Any]:
        return self.call("GET", "/v1/analytics/summary", headers=self.admin(user_id), params=params).json()


def connect(url: str) -> Api:
    token = setting("LLMOBSERVE_ADMIN_TOKEN")
    token_file = data_dir() / "admin_token"
    if not token and token_file.exists():
        token = token_file.read_text().strip()
    if not token:
        fail(f"no admin token: set LLMOBSERVE_ADMIN_TOKEN, or start the API once (`make run`) so it writes "
             f"{token_file}")
    api = Api(url, token)
    try:
        health = api.http.get("/health", timeout=5)
    except httpx.HTTPError as exc:
        fail(f"the API at {api.url} does not answer ({type(exc).__name__}): start it with `make run` "
             "in another terminal, or pass --api")
    if health.status_code != 200:
        fail(f"the API at {api.url} is not healthy: {health.status_code} {health.text[:200]}")
    if api.http.get("/admin/users", headers=api.admin()).status_code == 401:
        fail(f"the API at {api.url} refused the admin token from "
             f"{'LLMOBSERVE_ADMIN_TOKEN' if setting('LLMOBSERVE_ADMIN_TOKEN') else token_file}")
    return api


# -- the demo user ----------------------------------------------------------------------------------
def find_user(api: Api, email: str) -> dict[str, Any] | None:
    matches = [u for u in api.call("GET", "/admin/users", headers=api.admin()).json()
               if (u["email"] or "").lower() == email.lower()]
    matches.sort(key=lambda u: not u["active"])  # an active account wins, as the API's own lookup does
    return matches[0] if matches else None


def clerk_user_created(email: str, first: str, last: str) -> str:
    clerk_id = "user_demo" + sha256(email.lower().encode()).hexdigest()[:20]
    email_id = "idn_demo" + sha256(email.encode()).hexdigest()[:20]
    now_ms = int(time.time() * 1000)
    return json.dumps({"object": "event", "type": "user.created", "timestamp": now_ms, "data": {
        "id": clerk_id, "object": "user", "first_name": first, "last_name": last,
        "email_addresses": [{"id": email_id, "object": "email_address", "email_address": email,
                             "verification": {"status": "verified", "strategy": "email_code"}}],
        "primary_email_address_id": email_id, "phone_numbers": [], "public_metadata": {"user_type": "team"},
        "created_at": now_ms, "updated_at": now_ms}})


def ensure_user(api: Api, email: str, first: str, last: str) -> tuple[dict[str, Any], str]:
    """(user, how it came to be). Signed webhook first; POST /admin/users when the API has no secret."""
    if (user := find_user(api, email)) is not None:
        if not user["active"]:
            fail(f"{email} exists but was deactivated (user.deleted); pass --email to use another demo user")
        return user, "already there (reused)"
    secret = setting("CLERK_WEBHOOK_SECRET")
    body = clerk_user_created(email, first, last)
    msg_id, now = f"msg_{uuid.uuid4().hex}", datetime.now(UTC)
    # Without a local secret, sign with a throwaway one: the answer still says whether the API has one.
    signature = Webhook(secret or "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()).sign(msg_id, now, body)
    answer = api.http.post("/webhooks/clerk", content=body, headers={
        "svix-id": msg_id, "svix-timestamp": str(int(now.timestamp())), "svix-signature": signature,
        "Content-Type": "application/json"})
    if answer.status_code == 200:
        user = find_user(api, email)
        assert user is not None
        return user, f"signed Clerk webhook user.created → {answer.json()['status']}"
    if answer.status_code == 503:
        why = "the API has no CLERK_WEBHOOK_SECRET (POST /webhooks/clerk answers 503)"
    elif answer.status_code in (400, 401):
        why = (f"the API refused the webhook ({answer.status_code}: {answer.json().get('detail')}); "
               "its CLERK_WEBHOOK_SECRET differs from this shell's or .env's — restart `make run` after editing .env")
    else:
        fail(f"POST /webhooks/clerk answered {answer.status_code}: {answer.text[:300]}")
    print(f"  note: {why}; creating the user with POST /admin/users instead")
    created = api.call("POST", "/admin/users", headers=api.admin(),
                       json={"email": email, "first_name": first, "last_name": last, "user_type": "team"})
    return created.json()["user"], "POST /admin/users (fallback: see note above)"


def ensure_dashboard_login(api: Api, email: str, password: str | None) -> tuple[str, str]:
    """(password to print, remark). The generated password is kept in data/demo_password (0600)."""
    stored = data_dir() / "demo_password"
    given = password is not None
    if password is None:
        password = stored.read_text().strip() if stored.exists() else secrets.token_urlsafe(12)
    answer = api.call("POST", "/admin/dashboard/signup", ok=(200, 409), headers=api.admin(),
                      json={"email": email, "password": password})
    if answer.status_code == 409:
        known = stored.exists() and stored.read_text().strip() == password
        return password, "set on an earlier run" if known else \
            "already set earlier: if this one fails, use the password you chose then"
    if given:
        return password, "new (from --password)"
    stored.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(stored, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    return password, f"new (kept in {stored})"


def issue_demo_key(api: Api, user_id: str) -> str:
    """A fresh key for the demo's own calls; keys an earlier demo run minted (and forgot) are revoked."""
    headers = api.admin(user_id)
    for key in api.call("GET", "/clerk/api-keys", headers=headers).json()["data"]:
        if key["name"] == DEMO_KEY_NAME and not key["revoked"]:
            api.call("DELETE", f"/clerk/api-keys/{key['id']}", headers=headers)
    return api.call("POST", "/clerk/api-keys", headers=headers, json={"name": DEMO_KEY_NAME}).json()["api_key"]


def load_history(api: Api, user_id: str, key: str, *, days: int, target: int, fresh: bool,
                 rng: random.Random) -> int:
    """Post backdated events; on a second run, only for the time since the last recorded call."""
    if fresh:
        deleted = api.call("DELETE", f"/admin/users/{user_id}/events", headers=api.admin()).json()["deleted"]
        print(f"  --fresh: deleted {deleted:,} earlier events")
    end = datetime.now(UTC) - timedelta(seconds=30)
    start = end - timedelta(days=days)
    last = api.summary(user_id)["last_event_at"]
    if last:
        last_at = datetime.fromisoformat(last).replace(tzinfo=UTC)
        if last_at > start:
            target = int(target * (end - last_at) / (end - start))
            start = last_at + timedelta(seconds=1)
            if target < 50:
                print("  history: already loaded and up to date (--fresh starts over)")
                return 0
            print(f"  history: already loaded; filling in the {(end - start) / timedelta(hours=1):.1f} h since "
                  "the last recorded call")
    events = History(start, end, days, rng).events(target)
    batches = [events[i:i + BATCH] for i in range(0, len(events), BATCH)]
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def post(batch: list[dict[str, Any]]) -> int:
        answer = api.call("POST", "/v1/events", headers=headers, content=json.dumps({"events": batch}))
        body = answer.json()
        if body["rejected"]:
            fail(f"the API rejected demo events: {body['rejected'][:3]}")
        return body["accepted"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        return sum(pool.map(post, batches))


# -- live calls through the SDK ---------------------------------------------------------------------
LONG_SYSTEM = ("You are the support assistant of a project-management SaaS. Answer briefly and cite the "
               "help-centre article you used. Never promise refunds. " * 60)
TICKET = "Customer reports that the calendar sync stopped after they changed their SSO provider."


def live_calls(api_url: str, key: str) -> int:
    """The real openai and anthropic clients, recorded by the SDK, against the bundled fake provider."""
    import anthropic
    import openai

    import llmobserve

    calls = 0
    llmobserve.observe(api_key=key, endpoint=api_url, customer_id="acme-corp", tags={"env": "demo"})
    with FakeProvider() as fake:
        oai = openai.OpenAI(base_url=fake.openai_url, api_key="sk-demo-not-a-real-key")
        claude = anthropic.Anthropic(base_url=fake.anthropic_url, api_key="sk-ant-demo-not-a-real-key")
        cached_system = [{"type": "text", "text": LONG_SYSTEM, "cache_control": {"type": "ephemeral"}}]
        ask = [{"role": "user", "content": TICKET}]

        for customer in ("acme-corp", "globex", "initech"):
            with llmobserve.customer(customer):
                for _ in range(2):
                    with llmobserve.run("summarise-ticket"):
                        oai.embeddings.create(model="text-embedding-3-small", input=[TICKET, "SSO calendar"])
                        oai.chat.completions.create(model="gpt-4o-mini", messages=[
                            {"role": "system", "content": LONG_SYSTEM}, *ask])  # ≥ 1,024 tokens: cached
                        with claude.messages.stream(model="claude-3-5-haiku-latest", max_tokens=300,
                                                    system=cached_system, messages=ask) as stream:
                            "".join(stream.text_stream)
                        calls += 3
                with llmobserve.run("draft-reply"):
                    for _ in oai.chat.completions.create(model="gpt-4.1", messages=ask, stream=True):
                        pass
                    claude.messages.create(model="claude-sonnet-4-0", max_tokens=500, system=cached_system,
                                           messages=ask)
                    oai.responses.create(model="gpt-4.1", instructions="Be brief.", input=TICKET)
                    calls += 3

        with llmobserve.customer("umbrella"), llmobserve.run("support-bot"):
            for _ in range(3):  # a self-hosted fine-tune: no known price, shown apart as unpriced
                oai.chat.completions.create(model="ft:acme-support-7b:acme::demo1", messages=ask)
                calls += 1
        with llmobserve.customer("hooli"):
            with oai.responses.stream(model="gpt-4.1", input=TICKET) as stream:
                stream.get_final_response()
            stream = oai.chat.completions.create(model="gpt-4o-mini", messages=ask, stream=True)
            next(iter(stream))
            stream.close()  # abandoned after the first chunk: recorded as incomplete
            oai.chat.completions.create(model="gpt-4o-mini", messages=ask,  # one 429, retried by the client
                                        extra_headers={"X-Fake-Fail-Times": "1"})
            calls += 3
            for client, status in ((oai, 429), (oai, 500), (oai, 400), (claude, 529), (claude, 500)):
                try:
                    if client is oai:
                        oai.chat.completions.create(model="gpt-4.1", messages=ask,
                                                    extra_headers={"X-Fake-Status": str(status)})
                    else:
                        claude.messages.create(model="claude-sonnet-4-0", max_tokens=100, messages=ask,
                                               extra_headers={"X-Fake-Status": str(status)})
                except (openai.APIStatusError, anthropic.APIStatusError):
                    calls += 1
        if not llmobserve.flush(timeout=15):
            print("  warning: some live events were not delivered within 15 s", file=sys.stderr)
    llmobserve.shutdown()
    return calls


# -- main -------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Fill a running llmobserve with a demo user and a month of "
                                                 "traffic (run `make run` in another terminal first).")
    parser.add_argument("--api", default=setting("LLMOBSERVE_API_URL") or "http://localhost:8000",
                        help="the API (default: LLMOBSERVE_API_URL or %(default)s)")
    parser.add_argument("--dashboard-url", default="http://localhost:3000", help="printed for you to open")
    parser.add_argument("--days", type=int, default=30, help="days of history (default: %(default)s)")
    parser.add_argument("--events", type=int, default=30_000, help="history events (default: %(default)s)")
    parser.add_argument("--email", default="demo@llmobserve.local")
    parser.add_argument("--password", help="dashboard password (default: generated once, kept in data/)")
    parser.add_argument("--fresh", action="store_true", help="delete the demo user's events first")
    parser.add_argument("--seed", type=int, help="make the history reproducible")
    parser.add_argument("--no-live", action="store_true", help="skip the live SDK calls")
    args = parser.parse_args(argv)
    if args.days < 1 or args.events < 0:
        parser.error("--days must be ≥ 1 and --events ≥ 0")
    if args.password is not None and len(args.password) < 8:
        parser.error("--password needs at least 8 characters")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    api = connect(args.api)
    print(f"llmobserve demo → {api.url}")
    user, how = ensure_user(api, args.email, "Demo", "User")
    print(f"  user: {user['email']} ({user['id']}): {how}")
    password, remark = ensure_dashboard_login(api, args.email, args.password)
    key = issue_demo_key(api, user["id"])
    print(f"  API key for the demo's calls: {key[:9]}… (named “{DEMO_KEY_NAME}”; the initial key is "
          "waiting in Settings)")
    t0 = time.monotonic()
    accepted = load_history(api, user["id"], key, days=args.days, target=args.events, fresh=args.fresh,
                            rng=random.Random(args.seed))
    if accepted:
        print(f"  history: {accepted:,} events over {args.days} days in {time.monotonic() - t0:.1f} s")
    if not args.no_live:
        t0 = time.monotonic()
        calls = live_calls(api.url, key)
        print(f"  live: {calls} calls through the real openai/anthropic clients and the SDK "
              f"in {time.monotonic() - t0:.1f} s")
    budgets_and_alerts(api, user["id"])
    s = api.summary(user["id"])
    print(f"\nDone in {time.monotonic() - began:.1f} s: {s['calls']:,} calls, ${float(s['total_cost_usd']):,.2f} "
          f"priced, {s['unpriced_calls']:,} unpriced calls ({s['unpriced_tokens']:,} tokens), "
          f"{s['error_calls']:,} errors, {s['customers']} customers.\n")
    print(f"  Dashboard:  {args.dashboard_url}")
    print(f"  Email:      {args.email}")
    print(f"  Password:   {password}   ({remark})")
    if not _dashboard_up(args.dashboard_url):
        print(f"  (the dashboard does not answer at {args.dashboard_url} yet: is `make run` running?)")
    return 0


def _dashboard_up(url: str) -> bool:
    try:
        return httpx.get(url.rstrip("/") + "/_stcore/health", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    sys.exit(main())
