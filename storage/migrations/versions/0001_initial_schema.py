"""Initial schema: people, invitations, reports and their media and timeline, drafts,
processed updates, the outbox and counters.

Revision ID: 0001
Revises:
Create Date: 2026-11-27

Self-contained on purpose (no import of storage.models): a migration describes the schema as it
was when written. Moments are `timestamptz` on PostgreSQL (UTC text on SQLite), JSON documents
are JSONB on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _moment(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json(name: str) -> sa.Column[object]:
    document = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    return sa.Column(name, document, nullable=False)


def _big_id() -> sa.Column[object]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False)


def _string(name: str, length: int, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def _fk(column: str, target: str, table: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f"fk_{table}_{column}_{referred}")
    )


def _index(table: str, *columns: str, name: str | None = None) -> None:
    op.create_index(name or op.f(f"ix_{table}_{columns[0]}"), table, list(columns))


def _create_people() -> None:
    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), nullable=False),
        _string("display_name", 256),
        _string("role", 32),
        _string("unit_code", 64, nullable=True),
        _moment("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
    )
    _index("people", "role")
    op.create_table(
        "channel_identities",
        _string("channel", 32),
        _string("external_id", 128),
        _string("chat_id", 128),
        sa.Column("person_id", sa.Integer(), nullable=False),
        _fk("person_id", "people.id", "channel_identities"),
        sa.PrimaryKeyConstraint("channel", "external_id", name=op.f("pk_channel_identities")),
    )
    _index("channel_identities", "person_id")
    op.create_table(
        "invitations",
        _string("code", 32),
        _string("role", 32),
        _string("unit_code", 64, nullable=True),
        _moment("created_at"),
        _moment("expires_at"),
        _moment("used_at", nullable=True),
        sa.Column("used_by", sa.Integer(), nullable=True),
        _fk("used_by", "people.id", "invitations"),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_invitations")),
    )


def _create_reports() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        _string("code", 32),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        _string("category_code", 64),
        _string("ward_code", 64),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        _string("urgency", 16),
        _string("status", 32),
        _moment("created_at"),
        _moment("acknowledge_deadline"),
        _string("channel", 32),
        _fk("reporter_id", "people.id", "reports"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("code", name=op.f("uq_reports_code")),
    )
    for column in ("acknowledge_deadline", "created_at", "reporter_id", "status"):
        _index("reports", column)


def _create_media_and_events() -> None:
    op.create_table(
        "media",
        _string("sha256", 64),
        _string("kind", 16),
        _string("mime", 128),
        sa.Column("size", sa.Integer(), nullable=False),
        _moment("created_at"),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_media")),
    )
    op.create_table(
        "report_media",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _string("sha256", 64),
        _string("kind", 16),
        _fk("report_id", "reports.id", "report_media"),
        _fk("sha256", "media.sha256", "report_media"),
        sa.PrimaryKeyConstraint("report_id", "position", name=op.f("pk_report_media")),
    )
    _index("report_media", "sha256")
    op.create_table(
        "report_events",
        _big_id(),
        sa.Column("report_id", sa.Integer(), nullable=False),
        _moment("at"),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        _string("actor_role", 32, nullable=True),
        _string("from_status", 32),
        _string("to_status", 32),
        sa.Column("note", sa.Text(), nullable=False),
        _json("evidence"),
        _fk("actor_id", "people.id", "report_events"),
        _fk("report_id", "reports.id", "report_events"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_events")),
    )
    _index("report_events", "report_id")


def _create_service_tables() -> None:
    op.create_table(
        "counters",
        _string("name", 64),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_counters")),
    )
    op.create_table(
        "drafts",
        sa.Column("person_id", sa.Integer(), nullable=False),
        _string("flow", 64),
        _string("step", 64),
        _json("data"),
        sa.Column("revision", sa.Integer(), nullable=False),
        _moment("created_at"),
        _moment("updated_at"),
        _fk("person_id", "people.id", "drafts"),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_drafts")),
    )
    op.create_table(
        "processed_updates",
        _string("channel", 32),
        _string("update_key", 128),
        _moment("received_at"),
        sa.PrimaryKeyConstraint("channel", "update_key", name=op.f("pk_processed_updates")),
    )
    _index("processed_updates", "received_at")


def _create_outbox() -> None:
    op.create_table(
        "outbox",
        _big_id(),
        _string("channel", 32),
        _string("chat_id", 128),
        _json("payload"),
        _string("status", 16),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        _moment("next_attempt_at"),
        _moment("created_at"),
        _moment("sent_at", nullable=True),
        _moment("failed_at", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    _index("outbox", "status", "priority", "id", name="ix_outbox_status_priority_id")


def upgrade() -> None:
    _create_people()
    _create_reports()
    _create_media_and_events()
    _create_service_tables()
    _create_outbox()


def downgrade() -> None:
    for table in (
        "outbox", "processed_updates", "drafts", "counters", "report_events", "report_media",
        "media", "reports", "invitations", "channel_identities", "people",
    ):
        op.drop_table(table)
