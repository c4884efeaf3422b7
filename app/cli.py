"""Command line: `python -m app.cli migrate` brings the database schema up to date."""

from __future__ import annotations

import argparse
import sys

from app.config import get_settings
from app.db import make_engine, migrate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create or upgrade the database schema")
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.command == "migrate":
        engine = make_engine(settings.database_url)
        migrate(engine, settings.database_url)
        engine.dispose()
        print(f"database is up to date ({settings.database_url.split('@')[-1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
