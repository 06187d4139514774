"""The background loop that runs the alert engine, in whichever replica holds the lease.

Due deliveries are looked for every second (the first retry is 5 s after a failure); budgets are
evaluated every LLMOBSERVE_ALERT_INTERVAL_S. The lease is renewed each second and lasts LEASE; a
replica that stops is replaced by another within LEASE.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
from datetime import UTC, datetime, timedelta

from api.alerts import AlertEngine
from api.store import alerts
from api.store.base import utc_naive

log = logging.getLogger("llmobserve.alerts")
TICK_SECONDS = 1.0
LEASE = timedelta(seconds=15)


class AlertWorker:
    def __init__(self, engine: AlertEngine, *, interval_s: float) -> None:
        self.engine = engine
        self.interval = timedelta(seconds=interval_s)
        self.holder = f"{socket.gethostname()}-{secrets.token_hex(4)}"
        self._last_evaluation: datetime | None = None
        self._leading = False

    def tick(self, now: datetime) -> None:
        """One round (blocking; run in a thread): hold the lease, evaluate when due, deliver what is due."""
        db = self.engine.db
        leading = alerts.take_lease(db, holder=self.holder, now=utc_naive(now), until=utc_naive(now + LEASE))
        if leading != self._leading:
            log.info("alert worker %s: %s", self.holder, "leading" if leading else "standing by")
            self._leading = leading
        if not leading:
            return
        if self._last_evaluation is None or now - self._last_evaluation >= self.interval:
            self._last_evaluation = now
            self.engine.evaluate(now=now)
        self.engine.deliver_due(now=now)

    async def run_forever(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.tick, datetime.now(UTC))
            except Exception:  # noqa: BLE001 - the next tick retries
                log.exception("alert worker round failed")
            await asyncio.sleep(TICK_SECONDS)

    def stop(self) -> None:
        try:
            alerts.release_lease(self.engine.db, holder=self.holder)
        except Exception:  # noqa: BLE001 - the lease expires by itself
            log.exception("could not release the alert-worker lease")
        self.engine.close()
