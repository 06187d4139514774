"""PostgreSQL's SQL fragments where it differs from DuckDB (Django's `DatabaseOperations`, in small)."""

from __future__ import annotations

from collections.abc import Sequence

from api.store.base import Dialect, sql_literal


class PostgresDialect(Dialect):
    for_update = " FOR UPDATE"

    def quantiles(self, column: str, fractions: Sequence[float]) -> str:
        return f"percentile_cont(ARRAY[{', '.join(str(f) for f in fractions)}]) WITHIN GROUP (ORDER BY {column})"

    def sample(self, percent: float) -> str:
        return f"TABLESAMPLE SYSTEM ({percent:.4f})"

    def epoch_ms(self, column: str) -> str:
        return f"CAST(extract(epoch FROM {column}) * 1000 AS DOUBLE PRECISION)"

    def any_value(self, column: str) -> str:
        return f"min({column})"

    def json_text(self, column: str) -> str:
        return f"(CAST({column} AS jsonb) ->> ?)"

    def json_text_param(self, key: str) -> str:
        return key

    wide_int = "NUMERIC"

    def slot(self, column: str) -> str:
        # date_part is a double, ~10x cheaper per row than extract's numeric; on whole seconds it is
        # exact (epochs < 2^53), and a whole second's quotient by 900 is never within rounding of the
        # next integer, so the floor is the slot exactly.
        return f"CAST(floor(date_part('epoch', date_trunc('second', {column})) / 900) AS BIGINT)"

    def int_div(self, numerator: str, denominator: str) -> str:
        return f"div({numerator}, {denominator})"

    def json_text_at(self, column: str, key: str) -> str:
        return f"(CAST({column} AS jsonb) ->> {sql_literal(key)})"

    def json_each_text(self, column: str) -> tuple[str, str, str]:
        return f"jsonb_each_text(CAST({column} AS jsonb)) AS t", "t.key", "t.value"


DIALECT = PostgresDialect()
