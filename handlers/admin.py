"""What the board's IT person does from the command line: invitations and listings."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain.invitations import DEFAULT_VALIDITY, Invitation, new_invitation
from domain.org import OrgConfig, UnitKind
from domain.people import INVITED_ROLES, Role
from domain.ports import UnitOfWork
from domain.reports import Report


class AdminError(ValueError):
    """A refused admin request; the message says what to do instead."""


def _unit_for(org: OrgConfig, role: Role, unit_code: str | None) -> str | None:
    if role not in INVITED_ROLES:
        allowed = ", ".join(r.value for r in INVITED_ROLES)
        raise AdminError(f"role must be one of: {allowed}")
    if unit_code is None:
        if role is Role.BOARD:
            board = next((u for u in org.units if u.kind is UnitKind.BOARD), None)
            return board.code if board else None
        if role is Role.ADMIN:
            return None
        raise AdminError(f"--unit is required for role {role.value} (see: dlxh units list)")
    if org.unit(unit_code) is None:
        raise AdminError(f"unknown unit {unit_code!r} (see: dlxh units list)")
    return unit_code


def check_invitations(
    org: OrgConfig, role: Role, unit_code: str | None, count: int,
    validity: timedelta = DEFAULT_VALIDITY, lead: bool = False,
) -> str | None:
    """The unit the invitations are for; AdminError (saying why) if they cannot be made."""
    if not 1 <= count <= 1000:
        raise AdminError("--count must be between 1 and 1000")
    if not timedelta(days=1) <= validity <= timedelta(days=365):
        raise AdminError("--days must be between 1 and 365")
    if lead and role not in (Role.HANDLER, Role.BOARD):
        raise AdminError("--head is for handlers (unit head), --leader for the board")
    return _unit_for(org, role, unit_code)


async def create_invitations(
    uow: UnitOfWork, org: OrgConfig, role: Role, unit_code: str | None, count: int,
    now: datetime, validity: timedelta = DEFAULT_VALIDITY, lead: bool = False,
) -> list[Invitation]:
    unit = check_invitations(org, role, unit_code, count, validity, lead)
    invitations = [new_invitation(role, unit, now, validity, lead) for _ in range(count)]
    for invitation in invitations:
        await uow.invitations.add(invitation)
    return invitations


def report_row(report: Report) -> dict[str, Any]:
    return {
        "code": report.code,
        "category": report.category_code,
        "ward": report.ward_code,
        "urgency": report.urgency.value,
        "status": report.status.value,
        "created_at": report.created_at.isoformat(),
        "acknowledge_deadline": report.acknowledge_deadline.isoformat(),
        "photos": report.photo_count,
        "has_voice": any(m.kind.value == "voice" for m in report.media),
        "address": report.address,
        "location": (
            [report.location.latitude, report.location.longitude] if report.location else None
        ),
        "channel": report.channel,
        "acknowledged_at": _iso(report.acknowledged_at),
        "assigned_unit": report.assigned_unit_code,
        "answer_deadline": _iso(report.answer_deadline),
        "board_direct": report.board_direct,
        "duplicate_of": report.duplicate_of,
        "resolved_at": _iso(report.resolved_at),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
