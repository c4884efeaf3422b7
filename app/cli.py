"""Command line: `python -m app.cli migrate`, `backup FILE`, and `python -m app.cli partners ...`.

partners add --name NAME --origin https://site.org [--origin ...] [--slug SLUG]
             [--webhook https://site.org/hook] [--rate-limit N]
partners list | revoke SLUG | rotate-key SLUG | deliveries SLUG
drafts purge: delete saved answers older than DRAFT_RETENTION_DAYS (also done as drafts are used)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from sqlmodel import Session, col, select

from app.analytics.aggregates import (
    DATE_RULE,
    aggregate,
    as_csv,
    as_json,
    export_query,
    parse_day,
    rebuild,
)
from app.analytics.exports import Names, long_csv, long_json
from app.backup import BackupRefused, backup
from app.config import Settings, get_settings
from app.db import make_engine, migrate
from app.errors import InvalidRequest, PartnerError
from app.models import Partner, WebhookDelivery
from app.partners.registry import create_partner, find_partner, revoke_partner, rotate_key
from app.plans.drafts import purge_drafts
from quiz import load_content
from scoring import SCORING_VERSION


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create or upgrade the database schema")
    sub.add_parser(
        "backup", help="a consistent copy of the SQLite database, while the app runs"
    ).add_argument("file", type=Path, help="where the copy goes (never overwritten)")
    partners = sub.add_parser("partners", help="manage partners").add_subparsers(
        dest="action", required=True
    )
    add = partners.add_parser("add", help="add a partner; prints its API key and secret once")
    add.add_argument("--name", required=True)
    add.add_argument("--slug", help="defaults to the name, lower-cased with hyphens")
    add.add_argument("--origin", action="append", required=True, help="repeat for several")
    add.add_argument("--webhook", help="https URL that receives response.completed events")
    add.add_argument("--rate-limit", type=int, help="submissions a minute with the key")
    partners.add_parser("list", help="list partners")
    export = sub.add_parser("export", help="aggregate counts, with the API's suppression")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--out", help="file to write (default: standard output)")
    export.add_argument(
        "--layout",
        choices=("rows", "long"),
        default="rows",
        help="rows: the API's default; long: names, percents, a measure column (README)",
    )
    # Spaces are the shell's habit, not the API's: "state, role" is "state,role" here.
    export.add_argument("--group-by", type=lambda v: "".join(v.split()))
    export.add_argument("--since", type=_day, help=DATE_RULE)
    export.add_argument("--until", type=_day, help=DATE_RULE)
    for name in ("state", "partner", "quiz-version"):
        export.add_argument(f"--{name}")
    export.add_argument("--ref", help="a partner's widget tag (data-ref); needs --partner")
    aggregates = sub.add_parser("aggregates", help="the rollup behind exports")
    aggregates.add_subparsers(dest="action", required=True).add_parser(
        "rebuild",
        help="recompute the rollups from the stored responses, replayed in creation order "
        "in batches of MIN_GROUP_SIZE",
    )
    sub.add_parser("drafts", help="answers saved to finish later").add_subparsers(
        dest="action", required=True
    ).add_parser("purge", help="delete drafts last saved DRAFT_RETENTION_DAYS ago or earlier")
    for action in ("revoke", "rotate-key", "deliveries"):
        partners.add_parser(action).add_argument("slug")
    return parser


def _day(value: str) -> date:
    """A date within the export's range (app/analytics/aggregates.py), as the API takes it."""
    day = parse_day(value)
    if day is None:
        raise argparse.ArgumentTypeError(f"expected {DATE_RULE}, not {value!r}")
    return day


def _slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64]


def _partners(args: argparse.Namespace, session: Session, settings: Settings) -> None:
    if args.action == "add":
        created = create_partner(
            session,
            name=args.name,
            slug=args.slug or _slugify(args.name),
            origins=args.origin,
            webhook_url=args.webhook,
            rate_limit_per_minute=args.rate_limit or settings.partner_rate_limit_per_minute,
            allow_private_webhooks=settings.webhook_allow_private,
        )
        print(f"partner:        {created.partner.slug}")
        print(f"API key:        {created.api_key}")
        if created.webhook_secret:
            print(f"webhook secret: {created.webhook_secret}")
        print("Store these now: they are not shown again.")
    elif args.action == "list":
        for p in session.exec(select(Partner).order_by(Partner.slug)).all():
            status = "revoked" if p.revoked_at else "active"
            hook = p.webhook_url or "-"
            print(f"{p.slug}\t{status}\t{p.name}\t{','.join(p.origins)}\twebhook: {hook}")
    elif args.action == "revoke":
        revoke_partner(session, args.slug)
        print(f"revoked {args.slug}")
    elif args.action == "rotate-key":
        print(f"new API key: {rotate_key(session, args.slug)}")
        print("The old key no longer works. Store this one now: it is not shown again.")
    elif args.action == "deliveries":
        partner = find_partner(session, args.slug)
        rows = session.exec(
            select(WebhookDelivery)
            .where(WebhookDelivery.partner_id == partner.id)
            .order_by(col(WebhookDelivery.created_at).desc())
        ).all()
        for d in rows:
            print(
                f"{d.id}\t{d.status}\tattempts {d.attempts}\t{d.response_id}\t{d.last_error or ''}"
            )


def _export(args: argparse.Namespace, session: Session, settings: Settings) -> None:
    groups, filters = export_query(
        args.group_by,
        args.since,
        args.until,
        state=args.state,
        partner=args.partner,
        quiz_version=args.quiz_version,
        ref=args.ref,
    )
    agg = aggregate(session, filters, groups, settings.min_group_size)
    now = datetime.now(UTC)
    if args.layout == "long":
        framework, _ = load_content(settings.quiz_data_dir)
        names = Names.of(framework)
        text = (
            long_csv(agg, names, SCORING_VERSION, now)
            if args.format == "csv"
            else json.dumps(long_json(agg, names, SCORING_VERSION, now), indent=1) + "\n"
        )
    else:
        text = (
            as_csv(agg) if args.format == "csv" else json.dumps(as_json(agg, now), indent=1) + "\n"
        )
    if args.out:
        with open(args.out, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        print(
            f"wrote {args.out}: {len(agg.shown())} groups shown, {len(agg.groups) - len(agg.shown())} suppressed"
        )
    else:
        sys.stdout.write(text)


def _backup(args: argparse.Namespace, settings: Settings) -> int:
    try:
        made = backup(settings.database_url, args.file)
    except BackupRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"backed up to {made.path}: {made.responses} responses, {made.size / 1e6:.1f} MB, "
        f"in {made.seconds:.1f} s"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = get_settings()
    if args.command == "backup":
        return _backup(args, settings)
    engine = make_engine(settings.database_url)
    try:
        if args.command == "migrate":
            migrate(engine, settings.database_url)
            print(f"database is up to date ({settings.database_url.split('@')[-1]})")
            return 0
        if args.command == "aggregates":
            with engine.begin() as conn:
                read = rebuild(conn, release_at=settings.min_group_size)
                print(
                    f"rebuilt the rollup from {read} responses "
                    f"(released in batches of {settings.min_group_size})"
                )
            return 0
        with Session(engine) as session:
            if args.command == "drafts":
                deleted = purge_drafts(session, settings.draft_retention_days)
                print(
                    f"deleted {deleted} drafts last saved {settings.draft_retention_days} "
                    "or more days ago"
                )
            elif args.command == "export":
                _export(args, session, settings)
            else:
                _partners(args, session, settings)
        return 0
    except (PartnerError, InvalidRequest) as exc:
        details = "".join(f"\n  {d['field']}: {d['message']}" for d in exc.details)
        print(f"error: {exc.message}{details}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
