"""The administrative CLI commands: units, invitations, reports, cases, the monthly review
(and broadcasts, in bot/broadcast_commands.py)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from pathlib import Path

from bot.org_loader import load_org_config
from bot.prestart import prestart
from bot.review_files import figures_json, review_chart, review_message, review_workbook
from bot.settings import Settings
from domain.clock import SystemClock
from domain.people import Role
from domain.reports import normalise_report_code
from domain.review import parse_month
from handlers.admin import AdminError, check_invitations, create_invitations, report_row
from handlers.i18n import Catalog
from storage.database import Database
from storage.migrate import sqlite_file
from storage.review import monthly_figures


class CommandError(Exception):
    """A command that cannot do what was asked; the message says why."""


def dump_json(value: object) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


async def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "units":
        return _units(args, settings)
    _check(args, settings)  # before the database is created or migrated: a refusal changes nothing
    await prestart(settings)
    database = Database.connect(settings.database_url)
    try:
        if args.command == "invite":
            return await _invite(args, settings, database)
        if args.command == "reports":
            return await _reports(args, database)
        if args.command == "case":
            return await _case(args, database)
        if args.command == "report":
            return await _monthly(args, settings, database)
        if args.command == "broadcasts":
            from bot import broadcast_commands

            return await broadcast_commands.run(args, database.unit_of_work)
    finally:
        await database.dispose()
    raise CommandError(f"unknown command {args.command}")


def _check(args: argparse.Namespace, settings: Settings) -> None:
    """What can be refused without the database: a month, an output path, an invitation."""
    if args.command == "report":
        try:
            parse_month(args.month)
        except ValueError as error:
            raise CommandError(str(error)) from None
        for path in (args.xlsx, args.png):
            if path and not Path(path).resolve().parent.is_dir():
                raise CommandError(f"no directory to write {path} in")
    if args.command == "invite":
        try:
            check_invitations(load_org_config(settings.org_config), Role(args.role), args.unit,
                              args.count, timedelta(days=args.days), lead=_lead(args))
        except (AdminError, OverflowError) as error:
            message = str(error) if isinstance(error, AdminError) else "--days is too large"
            raise CommandError(message) from None
    file = sqlite_file(settings.database_url)  # a server's wrong address fails to connect itself
    if args.command in _READS_ONLY and file is not None and not file.exists():
        raise CommandError(f"no database at {settings.database_url} (check DATABASE_URL; "
                           "`dlxh migrate` or `dlxh serve` creates it)")


# Commands that only read: on a mistyped SQLite path they say so instead of making a database.
_READS_ONLY = frozenset({"reports", "case", "report"})


def _units(args: argparse.Namespace, settings: Settings) -> int:
    org = load_org_config(settings.org_config)
    rows = [
        {"code": u.code, "name": u.name, "kind": u.kind.value, "parent": u.parent}
        for u in org.units
    ]
    if args.json:
        dump_json(rows)
        return 0
    width = max(len(r["code"] or "") for r in rows)
    for row in rows:
        print(f"{row['code']:<{width}}  {row['kind']:<17}  {row['name']}")
    return 0


def _lead(args: argparse.Namespace) -> bool:
    if (args.head and args.role != "handler") or (args.leader and args.role != "board"):
        raise CommandError("--head goes with --role handler, --leader with --role board")
    return bool(args.head or args.leader)


async def _invite(args: argparse.Namespace, settings: Settings, database: Database) -> int:
    org = load_org_config(settings.org_config)
    async with database.unit_of_work() as uow:
        try:
            invitations = await create_invitations(
                uow, org, Role(args.role), args.unit, args.count, SystemClock().now(),
                timedelta(days=args.days), lead=_lead(args),
            )
        except AdminError as error:
            raise CommandError(str(error)) from None
        await uow.commit()
    username = await _bot_username(settings)
    rows = [
        {
            "code": i.code,
            "role": i.role.value,
            "unit": i.unit_code,
            "expires_at": i.expires_at.isoformat(),
            "telegram_link": f"https://t.me/{username}?start={i.code}" if username else None,
        }
        for i in invitations
    ]
    if args.json:
        dump_json(rows)
    else:
        for row in rows:
            print(f"{row['code']}  {row['telegram_link'] or ''}".rstrip())
    if username is None:
        print("(no Telegram bot configured: send the code to the bot instead)", file=sys.stderr)
    return 0


async def _bot_username(settings: Settings) -> str | None:
    if settings.telegram_bot_username:
        return settings.telegram_bot_username.lstrip("@")
    if settings.telegram_bot_token is None:
        return None
    from bot.app import telegram_bot  # aiogram only when Telegram must be asked

    bot = telegram_bot(settings)
    try:
        me = await bot.get_me(request_timeout=10)
        return me.username
    except Exception as error:
        print(f"(could not ask Telegram for the bot's name: {type(error).__name__})",
              file=sys.stderr)
        return None
    finally:
        await bot.session.close()


async def _reports(args: argparse.Namespace, database: Database) -> int:
    async with database.unit_of_work() as uow:
        reports = sorted(await uow.reports.all(), key=lambda r: r.created_at)
        rows = [report_row(r) for r in reports]
        for row, report in zip(rows, reports, strict=True):
            assert report.id is not None
            row["events"] = len(await uow.reports.events(report.id))
    if args.json:
        dump_json(rows)
        return 0
    for row in rows:
        print(f"{row['code']}  {row['category']:<22} {row['ward']:<14} {row['status']:<12} "
              f"ack≤{row['acknowledge_deadline']}")
    return 0


async def _case(args: argparse.Namespace, database: Database) -> int:
    code = normalise_report_code(args.code)
    if code is None:
        raise CommandError(f"{args.code!r} is not a report code (like PA-2026-000123)")
    async with database.unit_of_work() as uow:
        report = await uow.reports.by_code(code)
        if report is None or report.id is None:
            raise CommandError(f"no report {code}")
        events = await uow.reports.events(report.id)
    row = report_row(report)
    row["events"] = len(events)
    row["timeline"] = [
        {
            "at": e.at.isoformat(),
            "actor_id": e.actor_id,
            "actor_role": e.actor_role.value if e.actor_role else None,
            "from": e.from_status.value,
            "to": e.to_status.value,
            "note": e.note,
            "evidence": list(e.evidence),
        }
        for e in events
    ]
    if args.json:
        dump_json(row)
    else:
        print(f"{row['code']}  {row['status']}  {row['category']}  {row['ward']}")
        for event in row["timeline"]:
            print(f"  {event['at']}  {event['from']} -> {event['to']}  {event['note']}")
    return 0


async def _monthly(args: argparse.Namespace, settings: Settings, database: Database) -> int:
    """`report monthly --month YYYY-MM [--xlsx FILE] [--png FILE] [--json]`."""
    org = load_org_config(settings.org_config)
    async with database.engine.connect() as connection:
        figures = await monthly_figures(
            connection, parse_month(args.month), SystemClock().now(), org.working_time.timezone
        )
    catalog = Catalog(settings.language)
    made = [(path, make(figures, catalog, org)) for path, make in (
        (args.xlsx, review_workbook), (args.png, review_chart)) if path]
    for path, content in made:  # both made before either is written: no half of the output
        Path(path).write_bytes(content)
    if args.json:
        dump_json(figures_json(figures))
    else:
        print(review_message(figures, catalog, org))
    return 0
