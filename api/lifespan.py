"""Start-up and shut-down: open the database, load secrets and keys, save key last-use periodically."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator

from fastapi import FastAPI

from api import price_data
from api.accounts import Accounts
from api.alert_worker import AlertWorker
from api.alerts import AlertEngine
from api.config import settings
from api.price_book import PriceBook
from api.secret_box import SecretBox
from api.store import Store, events, open_store, revisions

log = logging.getLogger("llmobserve.api")
LAST_USED_SAVE_SECONDS = 10
ROLL_UP_SECONDS = 1.0
# Replicas: how often each one looks for changes made through another (DESIGN §9 allows 1 s).
SHARED_STATE_POLL_SECONDS = 0.25


async def _save_last_used_forever(accounts: Accounts) -> None:
    while True:
        await asyncio.sleep(LAST_USED_SAVE_SECONDS)
        try:
            await asyncio.to_thread(accounts.save_last_used)
        except Exception:  # noqa: BLE001 - a missed save only delays last_used_at
            log.exception("could not save key last-use times")


async def _roll_up_forever(db: Store) -> None:
    """Fold new events into the hourly totals; reads are exact either way, this keeps them fast."""
    while True:
        await asyncio.sleep(ROLL_UP_SECONDS)
        try:
            await asyncio.wrap_future(events.roll_up(db))
        except Exception:  # noqa: BLE001 - the next round retries; reads stay exact meanwhile
            log.exception("could not roll up usage")


def _refresh_shared_state(accounts: Accounts, book: PriceBook) -> None:
    current = revisions.current(accounts.db)
    if accounts.refresh(current[revisions.AUTH]):
        log.info("reloaded the key cache (auth revision %d)", current[revisions.AUTH])
    book.refresh(current[revisions.PRICES])


async def _follow_other_replicas(accounts: Accounts, book: PriceBook) -> None:
    """Keys revoked, users deleted and prices set through another replica take effect here."""
    while True:
        await asyncio.sleep(SHARED_STATE_POLL_SECONDS)
        try:
            await asyncio.to_thread(_refresh_shared_state, accounts, book)
        except Exception:  # noqa: BLE001 - the next poll retries
            log.exception("could not refresh shared state from the store")


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The writer thread gives up the GIL for every DuckDB call and then waits to get it back; with the
    # default 5 ms switch interval a busy validation thread makes it wait that long each time (convoy).
    sys.setswitchinterval(0.0005)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s")
    settings.check_shared_secrets()  # replicas cannot each generate their own: refuse, naming the variable
    db = open_store(database_url=settings.database_url, duckdb_path=settings.llmobserve_db,
                    commit_interval_ms=settings.commit_interval_ms, duckdb_memory_limit=settings.duckdb_memory_limit,
                    duckdb_threads=settings.duckdb_threads, pool_size=settings.pg_pool_size)
    app.state.db = db
    app.state.admin_token = settings.admin_token()
    app.state.accounts = accounts = Accounts(db, settings.secret_key())
    app.state.price_book = book = PriceBook(db)
    app.state.alerts = engine = AlertEngine(db, SecretBox(settings.secret_key()),
                                            allow_private=settings.llmobserve_alert_allow_private_targets)
    worker = AlertWorker(engine, interval_s=settings.llmobserve_alert_interval_s)
    updater = price_data.start(file=settings.llmobserve_prices_file, url=settings.llmobserve_prices_url,
                               interval_s=settings.llmobserve_prices_interval_s)
    where = "the environment" if settings.llmobserve_admin_token else f"{settings.data_dir / 'admin_token'}"
    log.info("store: %s", db.describe())
    log.info("admin token: read from %s (never logged)", where)
    if not settings.clerk_webhook_secret:
        log.warning("CLERK_WEBHOOK_SECRET is not set: POST /webhooks/clerk refuses every delivery")
    token = "$LLMOBSERVE_ADMIN_TOKEN" if settings.llmobserve_admin_token else f"$(cat {settings.data_dir / 'admin_token'})"
    log.info("create a first user: curl -X POST localhost:8000/admin/users -H \"Authorization: Bearer %s\""
             " -H 'Content-Type: application/json' -d '{\"email\": \"you@example.com\"}'", token)
    background = [asyncio.create_task(_save_last_used_forever(accounts)), asyncio.create_task(_roll_up_forever(db)),
                  asyncio.create_task(worker.run_forever())]
    if db.shared:
        background.append(asyncio.create_task(_follow_other_replicas(accounts, book)))
    try:
        yield
    finally:
        for task in background:
            task.cancel()
        if updater is not None:
            updater.stop()
        accounts.save_last_used()
        worker.stop()
        db.close()
