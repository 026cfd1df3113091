"""Orientation broadcasts: what residents follow, the broadcasts and one copy per recipient;
outbox rows that failed because the person blocked the bot, and identities unreachable since.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

Self-contained (no import of storage.models).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _moment(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f"fk_{table}_{column}_{referred}")
    )


def upgrade() -> None:
    with op.batch_alter_table("channel_identities") as batch:
        batch.add_column(_moment("created_at", nullable=True))
        batch.add_column(_moment("unreachable_at", nullable=True))
    op.create_index(
        "ix_channel_identities_channel_chat_id", "channel_identities", ["channel", "chat_id"]
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(
            sa.Column("blocked", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "subscriptions",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        _moment("created_at"),
        sa.PrimaryKeyConstraint("person_id", "kind", "code", name=op.f("pk_subscriptions")),
        _fk("subscriptions", "person_id", "people.id"),
    )
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("photo_sha", sa.String(length=64), nullable=True),
        sa.Column(
            "audience", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        _moment("send_at"),
        _moment("created_at"),
        _moment("started_at", nullable=True),
        _moment("finished_at", nullable=True),
        sa.Column("case_code", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
        sa.UniqueConstraint("code", name=op.f("uq_broadcasts_code")),
        _fk("broadcasts", "author_id", "people.id"),
    )
    op.create_index("ix_broadcasts_status_send_at", "broadcasts", ["status", "send_at"])
    op.create_table(
        "broadcast_copies",
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("chat_id", sa.String(length=128), nullable=False),
        sa.Column(
            "outbox_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("relays", sa.Boolean(), nullable=False),
        _moment("relayed_at", nullable=True),
        sa.PrimaryKeyConstraint("broadcast_id", "person_id", name=op.f("pk_broadcast_copies")),
        sa.UniqueConstraint("outbox_id", name=op.f("uq_broadcast_copies_outbox_id")),
        _fk("broadcast_copies", "broadcast_id", "broadcasts.id"),
        _fk("broadcast_copies", "person_id", "people.id"),
        _fk("broadcast_copies", "outbox_id", "outbox.id"),
    )
    op.create_index(
        op.f("ix_broadcast_copies_person_id"), "broadcast_copies", ["person_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_broadcast_copies_person_id"), table_name="broadcast_copies")
    op.drop_table("broadcast_copies")
    op.drop_index("ix_broadcasts_status_send_at", table_name="broadcasts")
    op.drop_table("broadcasts")
    op.drop_table("subscriptions")
    # Copies claimed or cancelled become what the code before 0006 understands.
    op.execute("UPDATE outbox SET status = 'sent' WHERE status = 'sending'")
    op.execute("UPDATE outbox SET status = 'failed' WHERE status = 'cancelled'")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("blocked")
    op.drop_index("ix_channel_identities_channel_chat_id", table_name="channel_identities")
    with op.batch_alter_table("channel_identities") as batch:
        batch.drop_column("unreachable_at")
        batch.drop_column("created_at")
