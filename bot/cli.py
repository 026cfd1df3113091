"""`dlxh` (also `python -m bot`): the command line of DESIGN §8."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bot import admin_commands, broadcast_commands
from bot.logs import configure_logging
from bot.loop_clock import new_event_loop
from bot.org_loader import OrgConfigError
from bot.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dlxh", description="DLXH intake service")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="migrate, then run channels, HTTP server and dispatcher")
    commands.add_parser("migrate", help="apply database migrations")
    chat = commands.add_parser("chat", help="talk to the bot in this terminal")
    chat.add_argument("--user", required=True, help="the name you chat as")

    units = commands.add_parser("units", help="units of the org configuration")
    units_sub = units.add_subparsers(dest="action", required=True)
    units_sub.add_parser("list").add_argument("--json", action="store_true")

    invite = commands.add_parser("invite", help="print one-time invitation codes")
    invite.add_argument("--role", required=True,
                        choices=["collaborator", "handler", "board", "admin"])
    invite.add_argument("--unit", help="unit code (see: dlxh units list)")
    invite.add_argument("--count", type=int, default=1)
    invite.add_argument("--days", type=int, default=14, help="days before the codes expire")
    invite.add_argument("--head", action="store_true", help="the unit's head (role handler)")
    invite.add_argument("--leader", action="store_true", help="the board's leader (role board)")
    invite.add_argument("--json", action="store_true")

    reports = commands.add_parser("reports", help="stored reports")
    reports_sub = reports.add_subparsers(dest="action", required=True)
    reports_sub.add_parser("list").add_argument("--json", action="store_true")

    case = commands.add_parser("case", help="one case with its timeline")
    case_sub = case.add_subparsers(dest="action", required=True)
    show = case_sub.add_parser("show")
    show.add_argument("code")
    show.add_argument("--json", action="store_true")

    broadcast_commands.add_parser(commands)

    report = commands.add_parser("report", help="the monthly review")
    report_sub = report.add_subparsers(dest="action", required=True)
    monthly = report_sub.add_parser("monthly", help="one month's review (docs/monthly-review.md)")
    monthly.add_argument("--month", required=True, help="YYYY-MM, e.g. 2026-10")
    monthly.add_argument("--xlsx", metavar="FILE", help="write the Excel workbook here")
    monthly.add_argument("--png", metavar="FILE", help="write the chart image here")
    monthly.add_argument("--json", action="store_true", help="print the figures as JSON")
    return parser


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "serve":
        from bot.serve import serve

        await serve(settings)
        return 0
    if args.command == "migrate":
        from bot.prestart import prestart

        await prestart(settings)
        print("database is up to date")
        return 0
    if args.command == "chat":
        from bot.console import chat

        await chat(settings, args.user, sys.stdin, sys.stdout)
        return 0
    return await admin_commands.run(args, settings)


def _problem(error: ErrorDetails) -> str:
    """'TELEGRAM_RATE: a rate is …': the setting named as it is set (its environment name)."""
    message = str(error["msg"]).removeprefix("Value error, ")
    name = "_".join(str(part) for part in error["loc"]).upper()
    return f"{name}: {message}" if name and not message.startswith(name) else message


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as error:
        problems = "; ".join(_problem(e) for e in error.errors())
        print(f"dlxh: configuration error: {problems}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.secrets())
    try:
        with asyncio.Runner(loop_factory=new_event_loop) as runner:
            return runner.run(_run(args, settings))
    except OrgConfigError as error:
        print(f"dlxh: {error}", file=sys.stderr)
        return 2
    except admin_commands.CommandError as error:
        print(f"dlxh: {error}", file=sys.stderr)
        return 1
    except (OSError, DBAPIError) as error:  # the database cannot be reached, or refused us
        if args.command in ("serve", "chat") and not isinstance(error, DBAPIError):
            raise  # an OSError there may be the HTTP port or a terminal, not the database
        where = make_url(settings.database_url).render_as_string(hide_password=True)
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"dlxh: cannot use the database at {where}: {reason}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


