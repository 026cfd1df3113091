"""One-time invitation codes that fix a person's role and unit."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from domain.people import Role

# No 0/O, 1/I/L: codes are read aloud and typed by hand on Zalo.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
DEFAULT_VALIDITY = timedelta(days=14)


class InvitationProblem(StrEnum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


@dataclass
class Invitation:
    code: str
    role: Role
    unit_code: str | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    used_by: int | None = None
    lead: bool = False  # the person becomes the unit's head (handler) or the board's leader

    def problem_at(self, moment: datetime) -> InvitationProblem | None:
        """Why this invitation cannot be used at `moment`, or None if it can."""
        if self.used_at is not None:
            return InvitationProblem.USED
        if moment >= self.expires_at:
            return InvitationProblem.EXPIRED
        return None


def new_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(CODE_LENGTH))


def looks_like_code(text: str) -> bool:
    candidate = text.strip().upper()
    return len(candidate) == CODE_LENGTH and all(c in _CODE_ALPHABET for c in candidate)


def new_invitation(
    role: Role, unit_code: str | None, now: datetime, validity: timedelta = DEFAULT_VALIDITY,
    lead: bool = False,
) -> Invitation:
    return Invitation(
        code=new_code(), role=role, unit_code=unit_code, created_at=now, expires_at=now + validity,
        lead=lead,
    )
