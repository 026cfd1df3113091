"""Tables, as SQLAlchemy 2 declarative models.

Repositories use them through Core statements (`insert(ReportRow)`, `select(ReportRow.id)`), not
through the ORM identity map: that is cheaper per update and keeps transactions explicit.
All moments are `UTCDateTime` (aware UTC in, aware UTC out).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import BigId, JSONDocument, UTCDateTime

# Stable constraint names, so that migrations (and SQLite batch mode) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CODE = 64  # length of short codes (units, wards, categories, flows)
EXTERNAL = 128  # ids and chat ids handed out by a channel


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class PersonRow(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(32), index=True)
    unit_code: Mapped[str | None] = mapped_column(String(CODE))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    notify_channel: Mapped[str | None] = mapped_column(String(32))
    # Head of the unit / leader of the board (revision 0004).
    lead: Mapped[bool] = mapped_column(Boolean, server_default=false())


class LinkCodeRow(Base):
    """A code shown on one channel, typed on another, to link both to one person."""

    __tablename__ = "link_codes"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChannelIdentityRow(Base):
    """One way of reaching a person; (channel, external_id) is unique as the primary key."""

    __tablename__ = "channel_identities"
    # A blocked send finds the identity by the chat it went to (revision 0006).
    __table_args__ = (Index("ix_channel_identities_channel_chat_id", "channel", "chat_id"),)

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(EXTERNAL), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(EXTERNAL))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    # Revision 0006: the order people joined on their channels (NULL before it), and since when
    # the person has blocked the bot there (broadcasts skip it until they write again).
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unreachable_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InvitationRow(Base):
    __tablename__ = "invitations"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    role: Mapped[str] = mapped_column(String(32))
    unit_code: Mapped[str | None] = mapped_column(String(CODE))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    lead: Mapped[bool] = mapped_column(Boolean, server_default=false())  # revision 0004


class ReportRow(Base):
    __tablename__ = "reports"
    # A unit's queue: `status IN (...)` of one assigned unit (ix_reports_status without one).
    __table_args__ = (
        Index("ix_reports_assigned_unit_code_status", "assigned_unit_code", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    category_code: Mapped[str] = mapped_column(String(CODE))
    ward_code: Mapped[str] = mapped_column(String(CODE))
    address: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    acknowledge_deadline: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    channel: Mapped[str] = mapped_column(String(32))
    # The case lifecycle (revision 0002).
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assigned_unit_code: Mapped[str | None] = mapped_column(String(CODE))
    answer_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    board_direct: Mapped[bool] = mapped_column(Boolean, server_default=false())
    duplicate_of: Mapped[str | None] = mapped_column(String(32))  # code of the original case
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MediaRow(Base):
    __tablename__ = "media"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    mime: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReportMediaRow(Base):
    __tablename__ = "report_media"

    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("media.sha256"), index=True)
    kind: Mapped[str] = mapped_column(String(16))


class ReportEventRow(Base):
    """The append-only timeline of a report."""

    __tablename__ = "report_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    actor_role: Mapped[str | None] = mapped_column(String(32))
    from_status: Mapped[str] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[str]] = mapped_column(JSONDocument)


class CounterRow(Base):
    """Named sequences without gaps on rollback, e.g. `report:2026` for report numbers."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class DraftRow(Base):
    __tablename__ = "drafts"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    flow: Mapped[str] = mapped_column(String(CODE))
    step: Mapped[str] = mapped_column(String(CODE))
    data: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    revision: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProcessedUpdateRow(Base):
    """Incoming updates already handled, so that a redelivery does nothing twice."""

    __tablename__ = "processed_updates"

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    update_key: Mapped[str] = mapped_column(String(EXTERNAL), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class OutboxRow(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_priority_id", "status", "priority", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(EXTERNAL))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    priority: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Failed because the person blocked the bot (revision 0006).
    blocked: Mapped[bool] = mapped_column(Boolean, server_default=false())


# The escalation sweep reads only cases whose clock runs out (revision 0004): partial indexes on
# the deadline of the open statuses, so neither closed nor acknowledged reports are ever read.
UNIT_WORK_STATUSES = ("assigned", "in_progress")
UNACKNOWLEDGED_STATUSES = ("submitted", "reopened")
_UNIT_WORK = ReportRow.status.in_(UNIT_WORK_STATUSES)
_UNACKNOWLEDGED = ReportRow.status.in_(UNACKNOWLEDGED_STATUSES) & ReportRow.acknowledged_at.is_(
    None
)
Index(
    "ix_reports_due_answer", ReportRow.answer_deadline,
    sqlite_where=_UNIT_WORK, postgresql_where=_UNIT_WORK,
)
Index(
    "ix_reports_due_acknowledge", ReportRow.acknowledge_deadline,
    sqlite_where=_UNACKNOWLEDGED, postgresql_where=_UNACKNOWLEDGED,
)
Index("ix_drafts_flow_updated_at", DraftRow.flow, DraftRow.updated_at)


class EscalationStepRow(Base):
    """One step of a case's escalation ladder, taken once per deadline (revision 0004)."""

    __tablename__ = "escalation_steps"
    __table_args__ = (
        UniqueConstraint(
            "report_id", "step", "deadline_at", name="uq_escalation_steps_report_step_deadline"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"))
    step: Mapped[str] = mapped_column(String(32))
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


metadata = Base.metadata


class JobRunRow(Base):
    """A job done once per period, e.g. `monthly-review:2026-10` (revision 0005)."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class SubscriptionRow(Base):
    """A ward or a topic (category code) a resident follows (revision 0006)."""

    __tablename__ = "subscriptions"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    code: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BroadcastRow(Base):
    """Orientation written by a board officer for an audience (revision 0006)."""

    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_status_send_at", "status", "send_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    text: Mapped[str] = mapped_column(Text)
    photo_sha: Mapped[str | None] = mapped_column(String(64))
    audience: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    status: Mapped[str] = mapped_column(String(16))
    send_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    case_code: Mapped[str | None] = mapped_column(String(32))


class BroadcastCopyRow(Base):
    """One recipient's copy of a broadcast; its delivery is the state of its outbox row."""

    __tablename__ = "broadcast_copies"

    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True, index=True)
    channel: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(EXTERNAL))
    outbox_id: Mapped[int] = mapped_column(BigId, ForeignKey("outbox.id"), unique=True)
    relays: Mapped[bool] = mapped_column(Boolean)  # asks "have you relayed it?" (collaborators)
    relayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
