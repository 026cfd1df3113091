"""The escalation ladder: steps taken once per case and deadline, unit heads and the board's
leader, and the partial indexes through which the sweeps read only the cases that are due.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

Self-contained (no import of storage.models).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNIT_WORK = "status IN ('assigned', 'in_progress')"
_UNACKNOWLEDGED = "status IN ('submitted', 'reopened') AND acknowledged_at IS NULL"


def _partial_index(name: str, column: str, condition: str) -> None:
    where = sa.text(condition)
    op.create_index(name, "reports", [column], sqlite_where=where, postgresql_where=where)


def upgrade() -> None:
    for table in ("people", "invitations"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("lead", sa.Boolean(), server_default=sa.false(), nullable=False)
            )
    op.create_table(
        "escalation_steps",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_steps")),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_escalation_steps_report_id_reports")
        ),
        sa.UniqueConstraint(
            "report_id", "step", "deadline_at", name="uq_escalation_steps_report_step_deadline"
        ),
    )
    _partial_index("ix_reports_due_answer", "answer_deadline", _UNIT_WORK)
    _partial_index("ix_reports_due_acknowledge", "acknowledge_deadline", _UNACKNOWLEDGED)
    op.create_index("ix_drafts_flow_updated_at", "drafts", ["flow", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_drafts_flow_updated_at", table_name="drafts")
    op.drop_index("ix_reports_due_acknowledge", table_name="reports")
    op.drop_index("ix_reports_due_answer", table_name="reports")
    op.drop_table("escalation_steps")
    for table in ("invitations", "people"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("lead")
