"""llmobserve API: ingest, pricing, analytics and key management over one DuckDB file."""

__version__ = "0.1.0"
