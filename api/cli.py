"""Operator commands: `python -m api.cli copy-store --from data/llmobserve.duckdb --to postgresql://…`."""

from __future__ import annotations

import argparse
import sys

from api.store import is_postgres_url, open_store
from api.store.copy import TargetNotEmpty, copy_store


def _open(where: str):  # type: ignore[no-untyped-def]
    if is_postgres_url(where):
        return open_store(database_url=where, duckdb_path="", pool_size=2)
    return open_store(database_url=None, duckdb_path=where)


def copy_store_command(args: argparse.Namespace) -> int:
    """Copy a whole store; the API on the source must be stopped (DuckDB allows one process per file)."""
    source, target = _open(args.source), _open(args.target)
    try:
        print(f"copying {source.describe()} -> {target.describe()}")
        print(f"{'table':<22} {'source rows':>12} {'target rows':>12}")
        copy_store(source, target, report=lambda t, s, d: print(f"{t:<22} {s:>12} {d:>12}"))
    except TargetNotEmpty as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    finally:
        source.close()
        target.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.cli", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    copy = commands.add_parser("copy-store", help="copy every table from one store into an empty one")
    copy.add_argument("--from", dest="source", required=True, help="a DuckDB file or postgresql:// URL")
    copy.add_argument("--to", dest="target", required=True, help="a postgresql:// URL (or a DuckDB file)")
    copy.set_defaults(run=copy_store_command)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
