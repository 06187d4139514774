"""Versioned schema. Each entry runs once, in order, inside a transaction; never edit a shipped entry."""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE users (
            id VARCHAR PRIMARY KEY,
            email VARCHAR,
            first_name VARCHAR,
            last_name VARCHAR,
            user_type VARCHAR NOT NULL DEFAULT 'individual',
            active BOOLEAN NOT NULL DEFAULT TRUE,
            password_hash VARCHAR,
            failed_logins INTEGER NOT NULL DEFAULT 0,
            first_failed_login_at TIMESTAMP,
            locked_until TIMESTAMP,
            source VARCHAR NOT NULL,
            clerk_updated_at BIGINT,
            created_at TIMESTAMP NOT NULL,
            updated_at TIMESTAMP NOT NULL,
            deactivated_at TIMESTAMP
        );
        CREATE TABLE api_keys (
            id VARCHAR PRIMARY KEY,
            user_id VARCHAR NOT NULL,
            name VARCHAR NOT NULL,
            prefix VARCHAR NOT NULL,
            key_hash VARCHAR NOT NULL UNIQUE,
            -- the initial key, encrypted with the server secret, until its single reveal
            reveal_ciphertext VARCHAR,
            created_at TIMESTAMP NOT NULL,
            last_used_at TIMESTAMP,
            revoked_at TIMESTAMP
        );
        CREATE TABLE webhook_deliveries (
            svix_id VARCHAR PRIMARY KEY,
            event_type VARCHAR NOT NULL,
            received_at TIMESTAMP NOT NULL
        );
        -- No primary key on events: on 10M rows it costs ~46 bytes/row of RAM and slows inserts ~7x.
        -- Re-sent ids are removed at insert time instead (see store/events.py).
        CREATE TABLE events (
            id UUID NOT NULL,
            tenant_id VARCHAR NOT NULL,
            timestamp TIMESTAMP NOT NULL,
            provider VARCHAR NOT NULL,
            model VARCHAR NOT NULL,
            operation VARCHAR,
            customer_id VARCHAR,
            run_id VARCHAR NOT NULL,
            run_name VARCHAR,
            input_tokens BIGINT NOT NULL,
            cached_input_tokens BIGINT NOT NULL,
            cache_write_tokens BIGINT NOT NULL,
            output_tokens BIGINT NOT NULL,
            reasoning_tokens BIGINT NOT NULL,
            latency_ms DOUBLE,
            time_to_first_token_ms DOUBLE,
            stream BOOLEAN NOT NULL,
            status VARCHAR NOT NULL,
            error_type VARCHAR,
            http_status INTEGER,
            service_tier VARCHAR,
            tags VARCHAR,
            sdk_version VARCHAR,
            cost_usd DECIMAL(18, 12),
            pricing_status VARCHAR NOT NULL,
            pricing_source VARCHAR,
            pricing_version VARCHAR,
            received_at TIMESTAMP NOT NULL
        );
        """,
    ),
    (
        2,
        """
        -- A tenant's own prices (negotiated rates, fine-tunes, self-hosted models), per million tokens.
        CREATE TABLE custom_prices (
            tenant_id VARCHAR NOT NULL,
            provider VARCHAR NOT NULL,
            model VARCHAR NOT NULL,
            input_per_mtok DECIMAL(18, 6) NOT NULL,
            cached_input_per_mtok DECIMAL(18, 6) NOT NULL,
            cache_write_per_mtok DECIMAL(18, 6) NOT NULL,
            output_per_mtok DECIMAL(18, 6) NOT NULL,
            updated_at TIMESTAMP NOT NULL,
            PRIMARY KEY (tenant_id, provider, model)
        );
        """,
    ),
    (
        3,
        """
        -- Hourly totals per (tenant, provider, model, customer, status, pricing status), kept in the same
        -- transaction as the events, so analytics read ~1 row per group-hour instead of every call.
        -- customer_key is customer_id with '' for none: a key column cannot be NULL.
        CREATE TABLE usage_hourly (
            tenant_id VARCHAR NOT NULL,
            hour TIMESTAMP NOT NULL,
            provider VARCHAR NOT NULL,
            model VARCHAR NOT NULL,
            customer_key VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            pricing_status VARCHAR NOT NULL,
            calls BIGINT NOT NULL,
            cost_usd DECIMAL(38, 12),
            input_tokens BIGINT NOT NULL,
            cached_input_tokens BIGINT NOT NULL,
            cache_write_tokens BIGINT NOT NULL,
            output_tokens BIGINT NOT NULL,
            reasoning_tokens BIGINT NOT NULL,
            latency_sum DOUBLE NOT NULL,
            latency_count BIGINT NOT NULL,
            first_at TIMESTAMP NOT NULL,
            last_at TIMESTAMP NOT NULL,
            PRIMARY KEY (tenant_id, hour, provider, model, customer_key, status, pricing_status)
        );
        INSERT INTO usage_hourly
        SELECT tenant_id, date_trunc('hour', timestamp), provider, model, coalesce(customer_id, ''), status,
               pricing_status, count(*), sum(cost_usd), sum(input_tokens), sum(cached_input_tokens),
               sum(cache_write_tokens), sum(output_tokens), sum(reasoning_tokens), coalesce(sum(latency_ms), 0),
               count(latency_ms), min(timestamp), max(timestamp)
        FROM events GROUP BY ALL;
        """,
    ),
    (
        4,
        """
        -- The rollup is brought up to date every second by the writer, not in each ingest transaction
        -- (which cost ~7 ms per flush). flush_seq numbers group commits; usage_state.rolled_up_to is the
        -- last flush included in usage_hourly. Events already there (migration 3) have flush_seq 0.
        ALTER TABLE events ADD COLUMN flush_seq BIGINT NOT NULL DEFAULT 0;
        CREATE TABLE usage_state (id INTEGER PRIMARY KEY, rolled_up_to BIGINT NOT NULL);
        INSERT INTO usage_state VALUES (1, 0);
        """,
    ),
    (
        5,
        """
        -- DESIGN §15: the 1-hour part of cache writes, priced at its own rate; costs up to $1,000,000 per
        -- event held exactly (DECIMAL(18, 12) stopped just short of it); "" as a customer is no customer.
        ALTER TABLE events ADD COLUMN cache_write_1h_tokens BIGINT NOT NULL DEFAULT 0;
        ALTER TABLE events ALTER cost_usd TYPE DECIMAL(19, 12);
        UPDATE events SET customer_id = NULL WHERE customer_id = '';
        """,
    ),
    (
        6,
        """
        -- Budgets (DESIGN §11). Scope columns are NULL when the budget does not narrow on them;
        -- thresholds and channel ids are JSON lists.
        CREATE TABLE budgets (
            id VARCHAR PRIMARY KEY,
            tenant_id VARCHAR NOT NULL,
            name VARCHAR NOT NULL,
            amount_usd DECIMAL(18, 6) NOT NULL,
            period VARCHAR NOT NULL,
            timezone VARCHAR NOT NULL,
            customer_id VARCHAR,
            provider VARCHAR,
            model VARCHAR,
            tag_key VARCHAR,
            tag_value VARCHAR,
            thresholds_percent VARCHAR NOT NULL,
            enforce BOOLEAN NOT NULL,
            channel_ids VARCHAR,
            created_at TIMESTAMP NOT NULL,
            updated_at TIMESTAMP NOT NULL
        );
        -- Where alerts go. The URL and the signing secret are encrypted with the server secret;
        -- url_display is the scheme and host only, for lists.
        CREATE TABLE alert_channels (
            id VARCHAR PRIMARY KEY,
            tenant_id VARCHAR NOT NULL,
            type VARCHAR NOT NULL,
            url_ciphertext VARCHAR NOT NULL,
            url_display VARCHAR NOT NULL,
            secret_ciphertext VARCHAR,
            created_at TIMESTAMP NOT NULL
        );
        -- One row per alert sent in a budget period: the "once per period" record.
        CREATE TABLE alerts_fired (
            tenant_id VARCHAR NOT NULL,
            budget_id VARCHAR NOT NULL,
            period_start TIMESTAMP NOT NULL,
            type VARCHAR NOT NULL,
            threshold_percent DOUBLE NOT NULL,
            fired_at TIMESTAMP NOT NULL,
            PRIMARY KEY (budget_id, period_start, type, threshold_percent)
        );
        -- One message to one channel; its id is the webhook-id every attempt repeats. Pending ones
        -- survive a restart: the worker picks up whatever is due.
        CREATE TABLE alert_deliveries (
            id VARCHAR PRIMARY KEY,
            tenant_id VARCHAR NOT NULL,
            channel_id VARCHAR NOT NULL,
            budget_id VARCHAR,
            type VARCHAR NOT NULL,
            body VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            attempts INTEGER NOT NULL,
            next_attempt_at TIMESTAMP,
            created_at TIMESTAMP NOT NULL,
            first_attempt_at TIMESTAMP,
            last_attempt_at TIMESTAMP,
            last_status_code INTEGER,
            last_error VARCHAR
        );
        CREATE TABLE alert_attempts (
            delivery_id VARCHAR NOT NULL,
            tenant_id VARCHAR NOT NULL,
            attempt INTEGER NOT NULL,
            attempted_at TIMESTAMP NOT NULL,
            status_code INTEGER,
            error VARCHAR,
            duration_ms DOUBLE,
            PRIMARY KEY (delivery_id, attempt)
        );
        -- A leased row elects the one alert worker among replicas.
        CREATE TABLE alert_worker_lease (
            id INTEGER PRIMARY KEY,
            holder VARCHAR,
            expires_at TIMESTAMP
        );
        INSERT INTO alert_worker_lease VALUES (1, NULL, NULL);
        """,
    ),
    (
        7,
        """
        -- Change counters for what API processes keep in memory (see store/revisions.py).
        CREATE TABLE revisions (name VARCHAR PRIMARY KEY, revision BIGINT NOT NULL);
        INSERT INTO revisions VALUES ('auth', 0), ('prices', 0);
        """,
    ),
    (
        8,
        """
        -- What a provider's usage or cost export says per (day, model), and which days each import
        -- covered (an empty day is a day the provider billed nothing). Re-importing a day replaces it.
        CREATE TABLE reconciliation_rows (
            tenant_id VARCHAR NOT NULL,
            provider VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            day DATE NOT NULL,
            model VARCHAR NOT NULL,
            input_tokens BIGINT NOT NULL,
            cached_input_tokens BIGINT NOT NULL,
            output_tokens BIGINT NOT NULL,
            requests BIGINT,
            cost_usd DECIMAL(38, 12) NOT NULL,
            PRIMARY KEY (tenant_id, provider, kind, day, model)
        );
        CREATE TABLE reconciliation_days (
            tenant_id VARCHAR NOT NULL,
            provider VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            day DATE NOT NULL,
            import_id VARCHAR NOT NULL,
            imported_at TIMESTAMP NOT NULL,
            PRIMARY KEY (tenant_id, provider, kind, day)
        );
        """,
    ),
    (
        9,
        """
        -- Key scopes (DESIGN §13): what a key may do, a non-empty subset of {ingest, read}, stored as a
        -- comma-separated list. Every key made before scopes existed keeps doing what it could: both.
        ALTER TABLE api_keys ADD COLUMN scopes VARCHAR NOT NULL DEFAULT 'ingest,read';
        """,
    ),
    (
        10,
        """
        -- Effective-dated custom prices (DESIGN §10): each version is in force from its effective_from
        -- until the next version's effective_from (docs/cost-truth.md). Either per-million-token prices or
        -- a discount off the list price at the event's time.
        CREATE TABLE custom_price_versions (
            tenant_id VARCHAR NOT NULL,
            provider VARCHAR NOT NULL,
            model VARCHAR NOT NULL,
            effective_from TIMESTAMP NOT NULL,
            version VARCHAR NOT NULL,
            input_per_mtok DECIMAL(18, 6),
            cached_input_per_mtok DECIMAL(18, 6),
            cache_write_per_mtok DECIMAL(18, 6),
            output_per_mtok DECIMAL(18, 6),
            discount_percent DECIMAL(9, 6),
            created_at TIMESTAMP NOT NULL,
            PRIMARY KEY (tenant_id, provider, model, effective_from)
        );
        -- Prices set before versions existed apply from when they were set, under the version name
        -- their events already carry.
        INSERT INTO custom_price_versions
        SELECT tenant_id, provider, model, updated_at, strftime(date_trunc('second', updated_at), '%Y-%m-%dT%H:%M:%S'),
               input_per_mtok, cached_input_per_mtok, cache_write_per_mtok, output_per_mtok, NULL, updated_at
        FROM custom_prices;
        DROP TABLE custom_prices;

        -- Re-pricing runs (DESIGN §10), and the costs each one replaced (one row per changed event), so
        -- no cost is ever lost: GET /v1/reprice/history lists the runs.
        CREATE TABLE reprice_runs (
            id VARCHAR PRIMARY KEY,
            tenant_id VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            start_at TIMESTAMP NOT NULL,
            end_at TIMESTAMP NOT NULL,
            filters VARCHAR NOT NULL,
            current_cost_usd DECIMAL(38, 12) NOT NULL,
            new_cost_usd DECIMAL(38, 12) NOT NULL,
            changed_events BIGINT NOT NULL
        );
        CREATE TABLE reprice_old_costs (
            run_id VARCHAR NOT NULL,
            tenant_id VARCHAR NOT NULL,
            event_id VARCHAR NOT NULL,
            timestamp TIMESTAMP NOT NULL,
            cost_usd DECIMAL(19, 12),
            pricing_status VARCHAR NOT NULL,
            pricing_source VARCHAR,
            pricing_version VARCHAR,
            pricing_fallback VARCHAR
        );

        -- "service_tier": priced at the standard rate because the price data has no rate for the call's
        -- tier at its time (DESIGN §10); counted per hour beside the other totals.
        ALTER TABLE events ADD COLUMN pricing_fallback VARCHAR;
        ALTER TABLE usage_hourly ADD COLUMN tier_fallback_calls BIGINT NOT NULL DEFAULT 0;
        """,
    ),
    (
        11,
        """
        -- Cache savings (DESIGN §13): what an event's cache reads saved against paying the uncached input
        -- price for them, computed at ingest with the same prices as its cost (api/cache_savings.py), and
        -- summed into the hourly totals. Events stored before this migration count 0.
        ALTER TABLE events ADD COLUMN cache_savings_usd DECIMAL(19, 12) DEFAULT 0;
        ALTER TABLE usage_hourly ADD COLUMN cache_savings_usd DECIMAL(38, 12) DEFAULT 0;
        -- Tags and run names as dimensions (DESIGN §13; see api/store/labels.py). Hourly totals per label
        -- (`tag:<key>` or `run_name`) and value, kept by the roll-up beside usage_hourly ...
        CREATE TABLE usage_labels_hourly (
            tenant_id VARCHAR NOT NULL,
            hour TIMESTAMP NOT NULL,
            label VARCHAR NOT NULL,
            value VARCHAR NOT NULL,
            provider VARCHAR NOT NULL,
            model VARCHAR NOT NULL,
            customer_key VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            pricing_status VARCHAR NOT NULL,
            calls BIGINT NOT NULL,
            cost_usd DECIMAL(38, 12),
            input_tokens BIGINT NOT NULL,
            cached_input_tokens BIGINT NOT NULL,
            cache_write_tokens BIGINT NOT NULL,
            output_tokens BIGINT NOT NULL,
            reasoning_tokens BIGINT NOT NULL,
            latency_sum DOUBLE NOT NULL,
            latency_count BIGINT NOT NULL,
            first_at TIMESTAMP NOT NULL,
            last_at TIMESTAMP NOT NULL,
            tier_fallback_calls BIGINT NOT NULL,
            cache_savings_usd DECIMAL(38, 12) NOT NULL,
            PRIMARY KEY (tenant_id, hour, label, value, provider, model, customer_key, status, pricing_status)
        );
        -- ... and one narrow row per (call, label), for latency percentiles by label and part-hours.
        CREATE TABLE event_labels (
            tenant_id VARCHAR NOT NULL,
            timestamp TIMESTAMP NOT NULL,
            label VARCHAR NOT NULL,
            value VARCHAR NOT NULL,
            provider VARCHAR NOT NULL,
            model VARCHAR NOT NULL,
            customer_id VARCHAR,
            status VARCHAR NOT NULL,
            latency_ms DOUBLE
        );
        -- The labels of every event already in usage_hourly (the roll-up adds the rest as usual).
        INSERT INTO usage_labels_hourly
        SELECT tenant_id, date_trunc('hour', timestamp), label, value, provider, model, coalesce(customer_id, ''),
               status, pricing_status, count(*), sum(cost_usd), sum(input_tokens), sum(cached_input_tokens),
               sum(cache_write_tokens), sum(output_tokens), sum(reasoning_tokens), coalesce(sum(latency_ms), 0),
               count(latency_ms), min(timestamp), max(timestamp),
               count(*) FILTER (WHERE pricing_fallback IS NOT NULL), 0
        FROM (
            SELECT e.*, 'tag:' || t.key AS label, t.value ->> '$' AS value FROM events e, json_each(e.tags) AS t
            WHERE e.tags IS NOT NULL AND e.flush_seq <= (SELECT rolled_up_to FROM usage_state WHERE id = 1)
            UNION ALL
            SELECT e.*, 'run_name' AS label, e.run_name AS value FROM events e WHERE e.run_name IS NOT NULL AND e.flush_seq <= (SELECT rolled_up_to FROM usage_state WHERE id = 1)
        ) AS l
        GROUP BY tenant_id, date_trunc('hour', timestamp), label, value, provider, model, coalesce(customer_id, ''),
                 status, pricing_status;
        INSERT INTO event_labels
        SELECT tenant_id, timestamp, label, value, provider, model, customer_id, status, latency_ms FROM (
            SELECT e.*, 'tag:' || t.key AS label, t.value ->> '$' AS value FROM events e, json_each(e.tags) AS t
            WHERE e.tags IS NOT NULL AND e.flush_seq <= (SELECT rolled_up_to FROM usage_state WHERE id = 1)
            UNION ALL
            SELECT e.*, 'run_name' AS label, e.run_name AS value FROM events e WHERE e.run_name IS NOT NULL AND e.flush_seq <= (SELECT rolled_up_to FROM usage_state WHERE id = 1)
        ) AS l ORDER BY timestamp;
        """,
    ),
    (
        12,
        """
        -- The label roll-up without the customer (see api/store/labels.py): with it, an hour of 500
        -- customers' traffic hardly folded (1M calls made 1.1M label rows, so a by-tag breakdown read as
        -- many rows as calls, and its primary key outgrew DuckDB's memory in a rebuild). Without it, an
        -- hour holds one row per (label, value, model, status, pricing status). A by-tag read for one
        -- customer reads that customer's calls instead. The existing totals fold into the new key.
        -- Plus every call under label '*': the by-tag remainder and any total without a customer read it.
        CREATE TABLE usage_labels_hourly_folded (
            tenant_id VARCHAR NOT NULL,
            hour TIMESTAMP NOT NULL,
            label VARCHAR NOT NULL,
            value VARCHAR NOT NULL,
            provider VARCHAR NOT NULL,
            model VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            pricing_status VARCHAR NOT NULL,
            calls BIGINT NOT NULL,
            cost_usd DECIMAL(38, 12),
            input_tokens BIGINT NOT NULL,
            cached_input_tokens BIGINT NOT NULL,
            cache_write_tokens BIGINT NOT NULL,
            output_tokens BIGINT NOT NULL,
            reasoning_tokens BIGINT NOT NULL,
            latency_sum DOUBLE NOT NULL,
            latency_count BIGINT NOT NULL,
            first_at TIMESTAMP NOT NULL,
            last_at TIMESTAMP NOT NULL,
            tier_fallback_calls BIGINT NOT NULL,
            cache_savings_usd DECIMAL(38, 12) NOT NULL,
            PRIMARY KEY (tenant_id, hour, label, value, provider, model, status, pricing_status)
        );
        INSERT INTO usage_labels_hourly_folded
        SELECT tenant_id, hour, label, value, provider, model, status, pricing_status, sum(calls), sum(cost_usd),
               sum(input_tokens), sum(cached_input_tokens), sum(cache_write_tokens), sum(output_tokens),
               sum(reasoning_tokens), sum(latency_sum), sum(latency_count), min(first_at), max(last_at),
               sum(tier_fallback_calls), sum(cache_savings_usd)
        FROM usage_labels_hourly
        GROUP BY tenant_id, hour, label, value, provider, model, status, pricing_status
        ORDER BY tenant_id, label, value, hour;
        -- Every call once more under label '*' (value ''): usage_hourly's totals without the customer.
        INSERT INTO usage_labels_hourly_folded
        SELECT tenant_id, hour, '*', '', provider, model, status, pricing_status, sum(calls), sum(cost_usd),
               sum(input_tokens), sum(cached_input_tokens), sum(cache_write_tokens), sum(output_tokens),
               sum(reasoning_tokens), sum(latency_sum), sum(latency_count), min(first_at), max(last_at),
               sum(tier_fallback_calls), coalesce(sum(cache_savings_usd), 0)
        FROM usage_hourly
        GROUP BY tenant_id, hour, provider, model, status, pricing_status;
        DROP TABLE usage_labels_hourly;
        ALTER TABLE usage_labels_hourly_folded RENAME TO usage_labels_hourly;
        """,
    ),
]
