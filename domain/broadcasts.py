"""Orientation (*thông tin định hướng*) sent back to the people: audiences and who they reach.

A board officer writes a `Broadcast` and picks an `Audience`; `select_recipients` turns the
audience into one `Recipient` per person (one channel each), from the `Member`s storage reads.
Pure rules, no framework: the handlers preview and launch with them, the tests read them as the
definition of "the right people".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.org import OrgConfig, UnitKind
from domain.people import ChannelIdentity, Person, Role
from domain.reports import Report

# Who receives orientation without subscribing, besides residents.
STAFF_ROLES = (Role.COLLABORATOR, Role.HANDLER, Role.BOARD)


class AudienceKind(StrEnum):
    COLLABORATORS = "collaborators"  # every collaborator
    TIER = "tier"  # collaborators and staff of one level (district / ward / mass organisation)
    WARDS = "wards"  # collaborators and staff of the chosen wards
    RESIDENTS = "residents"  # residents following any chosen ward or any chosen topic
    CASE = "case"  # everyone concerned with one case (the reporter is never named)


class Tier(StrEnum):
    DISTRICT = "district"
    WARD = "ward"
    MASS_ORGANISATION = "mass_organisation"


class SubscriptionKind(StrEnum):
    WARD = "ward"
    TOPIC = "topic"  # a category code


class BroadcastStatus(StrEnum):
    SCHEDULED = "scheduled"  # waits for `send_at`; no copies exist yet
    SENDING = "sending"  # every copy is an outbox row; some may still be pending
    DONE = "done"  # no copy pending; the delivery report went to the author
    CANCELLED = "cancelled"  # cancelled before it was sent


@dataclass(frozen=True)
class Audience:
    kind: AudienceKind
    tier: Tier | None = None
    wards: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    case_code: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "tier": self.tier.value if self.tier else None,
            "wards": list(self.wards),
            "topics": list(self.topics),
            "case": self.case_code,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Audience:
        tier = data.get("tier")
        return cls(
            kind=AudienceKind(data["kind"]),
            tier=Tier(tier) if tier else None,
            wards=tuple(data.get("wards") or ()),
            topics=tuple(data.get("topics") or ()),
            case_code=data.get("case"),
        )


@dataclass
class Broadcast:
    id: int | None
    code: str  # DH-2026-000012, what officers and the CLI call it
    author_id: int
    text: str
    photo: str | None  # sha256 of a stored photo
    audience: Audience
    status: BroadcastStatus
    created_at: datetime
    send_at: datetime  # when it goes (or went) out
    case_code: str | None = None  # the case it was written about, if any
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True)
class Member:
    """A person who could be in an audience, with what the rules look at."""

    person: Person
    identities: tuple[ChannelIdentity, ...]  # only the reachable ones (not blocked)
    wards: frozenset[str] = frozenset()  # followed wards (residents)
    topics: frozenset[str] = frozenset()  # followed categories (residents)


@dataclass(frozen=True)
class Recipient:
    person_id: int
    channel: str
    chat_id: str
    relays: bool  # a collaborator: the copy asks "have you relayed it to the people?"
    resident: bool = False  # a resident: the copy says how to stop receiving orientation


@dataclass(frozen=True)
class DeliveryCounts:
    recipients: int = 0
    delivered: int = 0
    failed: int = 0
    blocked: int = 0  # the person blocked the bot; they are skipped next time
    skipped: int = 0  # opted out or unreachable by the time their copy was due
    pending: int = 0
    relayed: int = 0


@dataclass(frozen=True)
class CaseConcern:
    """The people of one case an orientation about it reaches."""

    report: Report
    verifier_ids: frozenset[int] = field(default_factory=frozenset)


def tier_of(org: OrgConfig, unit_code: str | None) -> Tier:
    """The level of a unit: wards, mass organisations, and the district (everything else)."""
    unit = org.unit(unit_code) if unit_code else None
    if unit is None:
        return Tier.DISTRICT
    if unit.kind is UnitKind.WARD:
        return Tier.WARD
    if unit.kind is UnitKind.MASS_ORGANISATION:
        return Tier.MASS_ORGANISATION
    return Tier.DISTRICT


def select_recipients(
    audience: Audience,
    members: Iterable[Member],
    org: OrgConfig,
    *,
    concern: CaseConcern | None = None,
    exclude: int | None = None,
) -> list[Recipient]:
    """Each person the audience reaches once, on one channel; `exclude` is the author."""
    chosen: list[Recipient] = []
    seen: set[int] = set()
    for member in members:
        person = member.person
        if person.id == exclude or person.id in seen:
            continue
        if not _in_audience(audience, member, org, concern):
            continue
        seen.add(person.id)
        identity = _channel_for(person, member.identities)
        if identity is not None:
            chosen.append(
                Recipient(
                    person.id, identity.channel, identity.chat_id,
                    relays=person.role is Role.COLLABORATOR,
                    resident=person.role is Role.RESIDENT,
                )
            )
    return chosen


def count_by_channel(recipients: Sequence[Recipient]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for recipient in recipients:
        counts[recipient.channel] = counts.get(recipient.channel, 0) + 1
    return dict(sorted(counts.items()))


def _in_audience(
    audience: Audience, member: Member, org: OrgConfig, concern: CaseConcern | None
) -> bool:
    person = member.person
    match audience.kind:
        case AudienceKind.COLLABORATORS:
            return person.role is Role.COLLABORATOR
        case AudienceKind.TIER:
            return person.role in STAFF_ROLES and tier_of(org, person.unit_code) == audience.tier
        case AudienceKind.WARDS:
            return person.role in STAFF_ROLES and person.unit_code in audience.wards
        case AudienceKind.RESIDENTS:
            return person.role is Role.RESIDENT and _follows(member, audience)
        case AudienceKind.CASE:
            return concern is not None and _concerned(member, concern)
    return False


def _follows(member: Member, audience: Audience) -> bool:
    return bool(member.wards & set(audience.wards)) or bool(member.topics & set(audience.topics))


def _concerned(member: Member, concern: CaseConcern) -> bool:
    """The reporter, the verifiers, the handling unit's staff, the ward's collaborators, and
    residents following the ward or the case's category."""
    person, report = member.person, concern.report
    if person.id == report.reporter_id or person.id in concern.verifier_ids:
        return True
    if person.role is Role.HANDLER:
        return person.unit_code is not None and person.unit_code == report.assigned_unit_code
    if person.role is Role.COLLABORATOR:
        return person.unit_code == report.ward_code
    if person.role is Role.RESIDENT:
        return report.ward_code in member.wards or report.category_code in member.topics
    return False


def _channel_for(
    person: Person, identities: Sequence[ChannelIdentity]
) -> ChannelIdentity | None:
    """The channel the person chose for notifications, else the first one they joined on."""
    for identity in identities:
        if identity.channel == person.notify_channel:
            return identity
    return identities[0] if identities else None
