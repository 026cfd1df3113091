"""`dlxh broadcasts list [--json]` and `dlxh broadcasts show CODE [--json]`."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from bot.admin_commands import CommandError, dump_json
from domain.broadcasts import Audience, AudienceKind, Broadcast, DeliveryCounts
from domain.ports import UnitOfWork, UnitOfWorkFactory

COUNTS = ("recipients", "delivered", "failed", "blocked", "skipped", "pending", "relayed")
_TABLE = (
    ("code", 14), ("status", 9), ("send_at", 16), ("recipients", 5), ("delivered", 5),
    ("failed", 5), ("blocked", 5), ("skipped", 5), ("pending", 5), ("relayed", 5),
    ("author", 14),
)
_HEADINGS = {
    "code": "CODE", "status": "STATUS", "send_at": "SEND AT (UTC)", "recipients": "RCPT",
    "delivered": "OK", "failed": "FAIL", "blocked": "BLOCK", "skipped": "SKIP",
    "pending": "PEND", "relayed": "RELAY", "author": "AUTHOR",
}


def add_parser(commands: Any) -> None:
    """The `broadcasts` sub-command, on the CLI's sub-parsers."""
    broadcasts = commands.add_parser("broadcasts", help="orientation broadcasts, with counts")
    actions = broadcasts.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="every broadcast").add_argument("--json", action="store_true")
    show = actions.add_parser("show", help="one broadcast with its text")
    show.add_argument("code", help="like DH-2026-000001")
    show.add_argument("--json", action="store_true")


async def run(args: argparse.Namespace, uow_factory: UnitOfWorkFactory) -> int:
    async with uow_factory() as uow:
        if args.action == "show":
            found = await uow.broadcasts.by_code(args.code.strip().upper())
            if found is None:
                raise CommandError(f"no broadcast {args.code} (see: dlxh broadcasts list)")
            row = await broadcast_row(uow, found)
            rows = [row]
        else:
            stored = sorted(await uow.broadcasts.all(), key=lambda b: (b.created_at, b.code))
            rows = [await broadcast_row(uow, b) for b in stored]
    if args.json:
        dump_json(rows[0] if args.action == "show" else rows)
    elif args.action == "show":
        _print_one(rows[0])
    else:
        _print_table(rows)
    return 0


async def broadcast_row(uow: UnitOfWork, broadcast: Broadcast) -> dict[str, Any]:
    assert broadcast.id is not None
    author = await uow.people.get(broadcast.author_id)
    counts: DeliveryCounts = await uow.broadcasts.counts(broadcast.id)
    return {
        "code": broadcast.code,
        "status": broadcast.status.value,
        "author_id": broadcast.author_id,
        "author": author.display_name if author else None,
        "created_at": _iso(broadcast.created_at),
        "send_at": _iso(broadcast.send_at),
        "started_at": _iso(broadcast.started_at),
        "finished_at": _iso(broadcast.finished_at),
        "audience": broadcast.audience.to_json(),
        "case": broadcast.case_code or broadcast.audience.case_code,
        "text": broadcast.text,
        "photo": broadcast.photo is not None,
        **{name: getattr(counts, name) for name in COUNTS},
    }


def audience_label(audience: Audience) -> str:
    """A short, greppable form: `tier:ward`, `wards:bo-de,gia-thuy`, `case:PA-…`."""
    match audience.kind:
        case AudienceKind.TIER:
            return f"tier:{audience.tier.value if audience.tier else '?'}"
        case AudienceKind.WARDS:
            return "wards:" + ",".join(audience.wards)
        case AudienceKind.RESIDENTS:
            parts = [f"wards={','.join(audience.wards)}"] if audience.wards else []
            parts += [f"topics={','.join(audience.topics)}"] if audience.topics else []
            return "residents:" + ";".join(parts)
        case AudienceKind.CASE:
            return f"case:{audience.case_code}"
    return audience.kind.value


def _print_table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        print("no broadcasts")
        return
    print("  ".join(f"{_HEADINGS[name]:<{width}}" for name, width in _TABLE) + "  AUDIENCE")
    for row in rows:
        cells = {**row, "send_at": _minutes(row["send_at"]), "author": row["author"] or "?"}
        line = "  ".join(f"{str(cells[name])[:width]:<{width}}" for name, width in _TABLE)
        print(f"{line}  {audience_label(Audience.from_json(row['audience']))}")


def _print_one(row: dict[str, Any]) -> None:
    print(f"{row['code']}  {row['status']}  by {row['author'] or '?'}")
    print(f"  audience: {audience_label(Audience.from_json(row['audience']))}")
    for moment in ("created_at", "send_at", "started_at", "finished_at"):
        if row[moment]:
            print(f"  {moment}: {row[moment]}")
    print("  " + "  ".join(f"{name}={row[name]}" for name in COUNTS))
    print()
    print(row["text"])


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _minutes(iso: str | None) -> str:
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M")
