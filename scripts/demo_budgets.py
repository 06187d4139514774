"""The budgets part of `make demo`: a budget near its limit, and an alert delivered to a local receiver
that checks its Standard Webhooks signature with svix, as a real receiver would.

Re-run safe: the demo's earlier budgets and channels (named "demo: …") are replaced, so each run alerts
afresh. The local receiver is a loopback address, which the API accepts only with
LLMOBSERVE_ALERT_ALLOW_PRIVATE_TARGETS=1 (`make run` sets it: it is for local work).
"""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from svix.webhooks import Webhook, WebhookVerificationError

PREFIX = "demo: "


class _Receiver:
    def __init__(self) -> None:
        self.messages: list[tuple[dict[str, str], str]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                owner.messages.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/llmobserve-alerts"


def _clear_previous(api: Any, user_id: str) -> None:
    headers = api.admin(user_id)
    for budget in api.call("GET", "/v1/budgets", headers=headers).json()["data"]:
        if budget["name"].startswith(PREFIX):
            api.call("DELETE", f"/v1/budgets/{budget['id']}", headers=headers)
    for channel in api.call("GET", "/v1/alert-channels", headers=headers).json()["data"]:
        if channel["url"].startswith("http://127.0.0.1:"):
            api.call("DELETE", f"/v1/alert-channels/{channel['id']}", headers=headers)


def budgets_and_alerts(api: Any, user_id: str, *, wait_s: float = 40.0) -> None:
    """Create a monthly budget at ~85 % for the costliest customer this month, and wait for its alert."""
    headers = api.admin(user_id)
    _clear_previous(api, user_id)
    month = api.call("GET", "/v1/analytics/forecast", headers=headers, params={"period": "month"}).json()
    rows = api.call("GET", "/v1/analytics/breakdown", headers=headers,
                    params={"by": "customer_id", "start": month["period_start"]}).json()["data"]
    top = next((r for r in rows if r["key"] and Decimal(r["cost_usd"]) > 0), None)
    if top is None:
        print("  budgets: no priced calls this month yet; skipped")
        return
    spent = Decimal(top["cost_usd"])
    receiver = _Receiver()
    answer = api.call("POST", "/v1/alert-channels", ok=(201, 422), headers=headers,
                      json={"type": "webhook", "url": receiver.url})
    if answer.status_code == 422:
        print("  budgets: the API refuses local alert targets (start it with "
              "LLMOBSERVE_ALERT_ALLOW_PRIVATE_TARGETS=1, as `make run` does); no alert demo")
        secret = None
    else:
        secret = answer.json()["secret"]
    amount = (spent / Decimal("0.85")).quantize(Decimal("0.01"))
    budget = api.call("POST", "/v1/budgets", headers=headers, json={
        "name": f"{PREFIX}{top['key']} monthly", "amount_usd": str(amount), "period": "month",
        "scope": {"customer_id": top["key"]}}).json()
    api.call("POST", "/v1/budgets", headers=headers, json={
        "name": f"{PREFIX}all calls today", "amount_usd": "1000", "period": "day", "enforce": False})
    print(f"  budgets: “{budget['name']}” at {budget['percent']:.0f}% (${Decimal(budget['spent_usd']):,.2f} of "
          f"${amount:,}, projected ${Decimal(budget['projected_usd']):,.2f}), status {budget['status']}")
    if secret is None:
        return
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and not any(
            json.loads(b).get("type") == "budget.threshold_crossed" for _, b in receiver.messages):
        time.sleep(0.5)
    verified = []
    for headers_in, body in receiver.messages:
        try:
            Webhook(secret).verify(body, headers_in)
            verified.append(json.loads(body))
        except WebhookVerificationError:
            print("  alerts: a delivery failed its signature check")
    if verified:
        kinds = ", ".join(f"{m['type']} {m['data']['threshold_percent']:g}%" for m in verified)
        print(f"  alerts: {len(verified)} delivered to {receiver.url}, svix signature verified ({kinds})")
    else:
        print(f"  alerts: none arrived within {wait_s:.0f} s (LLMOBSERVE_ALERT_INTERVAL_S on the API is "
              "longer?); see GET /v1/alert-deliveries")
    receiver.server.shutdown()
