"""The alert engine: channels, finding budgets that crossed a line, and delivering with retries.

Webhook deliveries follow Standard Webhooks, signed with the `svix` library (receivers verify with
`svix.webhooks.Webhook(secret).verify`); Slack channels get incoming-webhook JSON. Deliveries are rows
in the store, so a restart resumes them; every attempt re-signs with its own timestamp and keeps the
same `webhook-id`. No FastAPI here: the lifespan runs it, tests drive it with their own clock.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
from svix.webhooks import Webhook

from api import budgets as budget_service
from api.alert_rules import PROJECTED_TO_EXCEED, due_alerts, next_attempt
from api.outbound import RefusedTarget, Resolver, check_url, system_resolver
from api.secret_box import SecretBox
from api.store import Store, alerts, budgets
from api.store.base import utc_naive

log = logging.getLogger("llmobserve.alerts")
# httpx logs every request's full URL at INFO, and a channel URL can carry a token (Slack's do)
logging.getLogger("httpx").setLevel(logging.WARNING)
TEST_TYPE = "alert_channel.test"
TIMEOUT = httpx.Timeout(10.0)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(type(value).__name__)


def iso(value: datetime) -> str:
    """ISO 8601 as the API's answers write it (pydantic): UTC as 'Z'."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def url_display(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}/…"


class AlertEngine:
    def __init__(self, db: Store, box: SecretBox, *, allow_private: bool,
                 resolve: Resolver = system_resolver) -> None:
        self.db = db
        self.box = box
        self.allow_private = allow_private
        self.resolve = resolve
        self.http = httpx.Client(timeout=TIMEOUT, follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    # -- channels -------------------------------------------------------------------------------
    def create_channel(self, *, tenant_id: str, type: str, url: str) -> tuple[dict[str, Any], str | None]:
        """Check the URL (RefusedTarget when it leads somewhere a tenant may not reach), then store it
        and, for webhooks, a new whsec_ signing secret, both encrypted. Answers (channel, secret)."""
        check_url(url, allow_private=self.allow_private, resolve=self.resolve)
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode() if type == "webhook" else None
        channel = alerts.insert_channel(
            self.db, channel_id="ch_" + secrets.token_hex(8), tenant_id=tenant_id, type=type,
            url_ciphertext=self.box.seal(url), url_display=url_display(url),
            secret_ciphertext=self.box.seal(secret) if secret else None)
        return channel, secret

    # -- evaluation -----------------------------------------------------------------------------
    def evaluate(self, *, now: datetime) -> int:
        """Fire every threshold crossed (and every projected overrun) not yet fired this period."""
        fired = 0
        channels_of: dict[str, list[str]] = {}
        for budget in budgets.all_budgets(self.db):
            try:
                fired += self._evaluate_one(budget, now, channels_of)
            except Exception:  # noqa: BLE001 - one bad budget must not stop the others
                log.exception("could not evaluate budget %s", budget["id"])
        return fired

    def _evaluate_one(self, budget: dict[str, Any], now: datetime, channels_of: dict[str, list[str]]) -> int:
        standing = budget_service.standing(self.db, budget, now=now)
        period_start = utc_naive(standing["period_start"])
        done = alerts.fired_in_period(self.db, budget_id=budget["id"], period_start=period_start)
        tenant = budget["tenant_id"]
        if tenant not in channels_of:
            channels_of[tenant] = [c["id"] for c in alerts.list_channels(self.db, tenant_id=tenant)]
        targets = [c for c in channels_of[tenant] if budget["channel_ids"] is None or c in budget["channel_ids"]]
        if not targets:  # nobody to tell: fire once a channel exists, still within the period
            return 0
        fired = 0
        for kind, threshold in due_alerts(standing["state"], done):
            body = json.dumps({"type": kind, "timestamp": iso(now),
                               "data": self._alert_data(standing, threshold)}, default=_json_default)
            deliveries = [{"delivery_id": "msg_" + secrets.token_hex(12), "channel_id": c, "body": body}
                          for c in targets]
            if alerts.fire(self.db, tenant_id=tenant, budget_id=budget["id"], period_start=period_start, type=kind,
                           threshold_percent=threshold, deliveries=deliveries, now=utc_naive(now)):
                fired += 1
                log.info("budget %s: %s at %s%% (%d deliveries queued)", budget["id"], kind, threshold,
                         len(deliveries))
        return fired

    @staticmethod
    def _alert_data(standing: dict[str, Any], threshold: float) -> dict[str, Any]:
        return {"budget_id": standing["id"], "name": standing["name"], "threshold_percent": threshold,
                "spent_usd": standing["spent_usd"], "amount_usd": standing["amount_usd"],
                "projected_usd": standing["projected_usd"], "percent": standing["percent"],
                "period_start": standing["period_start"], "period_end": standing["period_end"],
                "scope": standing["scope"]}

    # -- delivery -------------------------------------------------------------------------------
    def deliver_due(self, *, now: datetime) -> int:
        """Attempt every delivery that is due; answers how many were attempted."""
        due = alerts.due_deliveries(self.db, now=utc_naive(now))
        for delivery in due:
            self.attempt(delivery, now=now, retry=True)
        return len(due)

    def attempt(self, delivery: dict[str, Any], *, now: datetime, retry: bool) -> dict[str, Any]:
        """One attempt: the target is checked again (names can move to private addresses), then
        POSTed; a non-2xx, a timeout or a refusal is retried on the backoff schedule while `retry`."""
        url = self.box.open(delivery["url_ciphertext"])
        started, status_code, error = time.perf_counter(), None, None
        try:
            if url is None:
                raise RefusedTarget("the channel cannot be decrypted: the server secret changed")
            check_url(url, allow_private=self.allow_private, resolve=self.resolve)
            answer = self.http.post(url, content=self._content(delivery), headers=self._headers(delivery))
            status_code = answer.status_code
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except RefusedTarget as exc:
            error = f"refused: {exc}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        duration_ms = (time.perf_counter() - started) * 1000
        first = delivery["first_attempt_at"] or utc_naive(now)
        retry_at = next_attempt(attempts=delivery["attempts"] + 1, first_attempt_at=first,
                                now=utc_naive(now)) if error and retry else None
        outcome = "delivered" if error is None else ("pending" if retry_at else "failed")
        alerts.record_attempt(self.db, delivery=delivery, attempted_at=utc_naive(now), status_code=status_code,
                              error=error, duration_ms=duration_ms, outcome=outcome, next_attempt_at=retry_at)
        if error:
            log.warning("alert delivery %s to channel %s: %s (%s)", delivery["id"], delivery["channel_id"], error,
                        f"retry at {retry_at:%H:%M:%S}" if retry_at else "given up")
        return {"status": outcome, "status_code": status_code, "error": error}

    def _headers(self, delivery: dict[str, Any]) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": "llmobserve-alerts"}
        if delivery["channel_type"] != "webhook":
            return headers
        secret = self.box.open(delivery["secret_ciphertext"] or "")
        if secret is None:
            raise RefusedTarget("the channel's signing secret cannot be decrypted: the server secret changed")
        when = datetime.now(UTC)
        return {**headers, "webhook-id": delivery["id"], "webhook-timestamp": str(int(when.timestamp())),
                "webhook-signature": Webhook(secret).sign(delivery["id"], when, delivery["body"])}

    @staticmethod
    def _content(delivery: dict[str, Any]) -> bytes:
        if delivery["channel_type"] == "slack":
            return json.dumps({"text": slack_text(json.loads(delivery["body"]))}).encode()
        return delivery["body"].encode()

    def send_test(self, *, tenant_id: str, channel: dict[str, Any], now: datetime) -> dict[str, Any]:
        """A test message to one channel, attempted at once and not retried; logged with the rest."""
        delivery_id = "msg_" + secrets.token_hex(12)
        body = json.dumps({"type": TEST_TYPE, "timestamp": iso(now),
                           "data": {"channel_id": channel["id"], "message": "llmobserve test delivery"}})
        alerts.queue_delivery(self.db, delivery_id=delivery_id, tenant_id=tenant_id, channel_id=channel["id"],
                              budget_id=None, type=TEST_TYPE, body=body)
        delivery = alerts.get_delivery(self.db, tenant_id=tenant_id, delivery_id=delivery_id)
        assert delivery is not None
        delivery.update(channel_type=channel["type"], url_ciphertext=channel["url_ciphertext"],
                        secret_ciphertext=channel["secret_ciphertext"])
        return {"delivery_id": delivery_id, **self.attempt(delivery, now=now, retry=False)}


def slack_text(message: dict[str, Any]) -> str:
    """One readable line for Slack's incoming webhooks."""
    data = message.get("data", {})
    if message.get("type") == TEST_TYPE:
        return "llmobserve: test delivery — this channel receives budget alerts."
    what = ("is projected to exceed its amount" if message.get("type") == PROJECTED_TO_EXCEED
            else f"crossed {data.get('threshold_percent'):g}%")
    return (f"llmobserve budget *{data.get('name')}* {what}: spent ${data.get('spent_usd')} of "
            f"${data.get('amount_usd')} (projected ${data.get('projected_usd')}) this period "
            f"({data.get('period_start')} – {data.get('period_end')}).")
