"""Reports (cases), their statuses and the append-only timeline."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from domain.people import Role


class Urgency(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"
    HOT = "hot"


class ReportStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    BOARD_DIRECT = "board_direct"
    VERIFYING = "verifying"
    CLOSED = "closed"
    REOPENED = "reopened"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


class MediaKind(StrEnum):
    PHOTO = "photo"
    VOICE = "voice"
    DOCUMENT = "document"  # files the service makes (the monthly workbook)


@dataclass(frozen=True)
class StoredMedia:
    """A file kept under the media directory, named by the SHA-256 of its content."""

    sha256: str
    kind: MediaKind
    mime: str
    size: int


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float


@dataclass
class Report:
    id: int | None
    code: str
    reporter_id: int
    category_code: str
    ward_code: str
    address: str | None
    location: Location | None
    description: str
    urgency: Urgency
    status: ReportStatus
    created_at: datetime
    acknowledge_deadline: datetime
    channel: str
    media: list[StoredMedia] = field(default_factory=list)
    acknowledged_at: datetime | None = None
    assigned_unit_code: str | None = None
    answer_deadline: datetime | None = None
    board_direct: bool = False
    duplicate_of: str | None = None
    resolved_at: datetime | None = None

    @property
    def photo_count(self) -> int:
        return sum(1 for item in self.media if item.kind is MediaKind.PHOTO)


@dataclass(frozen=True)
class CaseUpdate:
    """The fields one transition sets; None leaves a field as it is."""

    status: ReportStatus
    acknowledged_at: datetime | None = None
    assigned_unit_code: str | None = None
    answer_deadline: datetime | None = None
    board_direct: bool | None = None
    duplicate_of: str | None = None
    resolved_at: datetime | None = None
    # The case leaves its unit (back to the board, or the board takes it over).
    clear_assignment: bool = False
    # The case is open again: it is no longer resolved.
    clear_resolution: bool = False


@dataclass(frozen=True)
class ReportEvent:
    """One step of a case's timeline; never updated or deleted."""

    report_id: int
    at: datetime
    actor_id: int | None
    actor_role: Role | None
    from_status: ReportStatus
    to_status: ReportStatus
    note: str = ""
    evidence: tuple[str, ...] = ()


_CODE_RE = re.compile(r"^PA-(\d{4})-(\d{6})$")


def report_code(year: int, number: int) -> str:
    return f"PA-{year:04d}-{number:06d}"


def normalise_report_code(text: str) -> str | None:
    """`pa-2026-123` or `PA-2026-000123` -> `PA-2026-000123`; None if it is no report code."""
    match = re.fullmatch(r"\s*PA-(\d{4})-(\d{1,6})\s*", text, flags=re.IGNORECASE)
    if match is None:
        return None
    return report_code(int(match.group(1)), int(match.group(2)))
