"""Fill a DuckDB file with synthetic, priced events for one tenant, straight through SQL (fast).

The traffic is shaped like a product's: 500 customers with a skewed share of calls (a few heavy ones, a
long tail), each mostly on one model; 2% errors; one model (a private fine-tune) has no known price.
"""

from __future__ import annotations

import sys
import time

from api.store import events, users
from api.store.duckdb import DuckDBStore as Database

MODELS = ["gpt-4o-mini-2024-07-18", "claude-3-5-haiku-20241022", "gpt-4.1-nano-2025-04-14",
          "claude-sonnet-4-5-20250929", "gpt-5-nano-2025-08-07", "acme-finetune-v2"]


# Named, so columns added to the events table later (with defaults) do not break the seed.
SEED_COLUMNS = ("id, tenant_id, timestamp, provider, model, operation, customer_id, run_id, run_name, input_tokens, "
                "cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, latency_ms, "
                "time_to_first_token_ms, stream, status, error_type, http_status, service_tier, tags, sdk_version, "
                "cost_usd, pricing_status, pricing_source, pricing_version, received_at, flush_seq, "
                "cache_write_1h_tokens, cache_savings_usd")

# With tags=True, two calls in three carry {"feature": one of 8, "team": one of 5 (by customer)}; the rest none.
TAGS_SQL = """CASE WHEN i % 3 = 2 THEN NULL
                   ELSE '{"feature": "f' || (i % 8) || '", "team": "t' || (customer % 5) || '"}' END"""


def seed(path: str, *, tenant_id: str, rows: int, days: int = 30, chunk: int = 1_000_000,
         recent: bool = False, tags: bool = False) -> float:
    """Insert `rows` events spread over `days` (from 2026-10-01, or ending now when `recent`);
    returns seconds taken."""
    db = Database(path)
    started = time.perf_counter()
    cur = db.cursor()
    if users.get_user(db, user_id=tenant_id) is None:
        users.insert_user(cur, user_id=tenant_id, email=f"{tenant_id}@bench.invalid", first_name="Bench",
                          last_name=None, user_type="individual", source="admin")
    start = f"(now()::TIMESTAMP - INTERVAL {days} DAY)" if recent else "TIMESTAMP '2026-10-01'"
    models = "[" + ", ".join(f"'{m}'" for m in MODELS) + "]"
    for offset in range(0, rows, chunk):
        n = min(chunk, rows - offset)
        cur.execute(f"""
            INSERT INTO events ({SEED_COLUMNS})
            WITH calls AS (
                SELECT i, CAST(floor(500 * pow(hash(i) / 18446744073709551615.0, 3)) AS INTEGER) AS customer,
                       i % 10 = 0 AS off_model
                FROM range(?, ?) t(i)
            ), shaped AS (
                SELECT *, (customer + CAST(off_model AS INTEGER)) % 6 AS m FROM calls
            )
            SELECT uuid(), ?, {start} + to_seconds((i * {days * 86400} // {rows})::BIGINT),
                   CASE WHEN m % 2 = 1 THEN 'anthropic' ELSE 'openai' END,
                   {models}[m + 1], 'chat', 'cust_' || customer, 'run_' || (i // 3), 'bench-run',
                   1000 + i % 700, (i % 4) * 100, 0, 200 + i % 300, 0, 300 + (i % 1000), NULL, i % 5 = 0,
                   CASE WHEN i % 50 = 0 THEN 'error' ELSE 'ok' END, NULL, NULL, NULL, {TAGS_SQL if tags else 'NULL'},
                   'bench',
                   CASE WHEN m = 5 THEN NULL ELSE CAST(0.000123 + (i % 97) * 0.000001 AS DECIMAL(18, 12)) END,
                   CASE WHEN m = 5 THEN 'unpriced' ELSE 'priced' END, 'genai-prices', 'bench', now(), 0, 0,
                   (i % 4) * 100 * 0.000000075  -- cache savings: the cached tokens at gpt-4o-mini's discount
            FROM shaped
        """, [offset, offset + n, tenant_id]).fetchall()
    events.rebuild_usage_hourly(db)
    cur.execute("CHECKPOINT").fetchall()
    db.close()
    return time.perf_counter() - started


if __name__ == "__main__":
    print(seed(sys.argv[1], tenant_id=sys.argv[2], rows=int(sys.argv[3])))
