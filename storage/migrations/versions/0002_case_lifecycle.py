"""Case lifecycle fields on reports: acknowledgement, assignment, answer deadline, board
handling, duplicates and resolution.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Self-contained (no import of storage.models). Existing reports keep their rows: every new
column is nullable, except `board_direct`, which existing rows get as false (server default).
Batch mode, so that SQLite (which cannot alter columns in place) is handled as well.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNIT_STATUS_INDEX = "ix_reports_assigned_unit_code_status"


def upgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("assigned_unit_code", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("answer_deadline", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("board_direct", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("duplicate_of", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(UNIT_STATUS_INDEX, ["assigned_unit_code", "status"])
        batch.create_index(op.f("ix_reports_answer_deadline"), ["answer_deadline"])


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.drop_index(op.f("ix_reports_answer_deadline"))
        batch.drop_index(UNIT_STATUS_INDEX)
        for column in (
            "resolved_at", "duplicate_of", "board_direct", "answer_deadline",
            "assigned_unit_code", "acknowledged_at",
        ):
            batch.drop_column(column)
