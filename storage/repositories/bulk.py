"""The sweep's bulk writes (outbox rows, timeline events, ladder steps) below SQLAlchemy's
per-row parameter handling, which cost more than the database's own work for thousands of rows.

- SQLite (the units of work's `InlineConnection`): the driver's `executemany`, or one multi-row
  INSERT where the rows taken must be returned.
- PostgreSQL: one `INSERT … SELECT … FROM unnest(arrays)`: the rows travel as a few arrays
  (encoded by asyncpg in C) and a payload sent to many chats travels and is parsed once.

Each value is stored exactly as SQLAlchemy stores it (the column type's own bind processing,
once per distinct value): `tests/storage/test_bulk_writes.py` compares the stored rows with
those of the one-row methods. A sweep in which 1,000 cases fall due (`bench.sweep`, 4,800
outbox rows): on PostgreSQL the outbox rows took 186–209 ms, now 85–123 ms; see
docs/escalation.md.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Text, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect

from domain.messages import OutboxStatus
from domain.ports import NewMessage, StepKey
from domain.reports import ReportEvent
from storage.inline_sqlite import InlineConnection, OpenConnection, insert_statement
from storage.models import (
    UNACKNOWLEDGED_STATUSES,
    UNIT_WORK_STATUSES,
    EscalationStepRow,
    OutboxRow,
    ReportEventRow,
)
from storage.types import UTCDateTime

_PENDING = OutboxStatus.PENDING.value


def _storing(column: Any, dialect: Dialect) -> Callable[[Any], Any]:
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process if process is not None else _as_is


def _as_is(value: Any) -> Any:
    return value


class _Once:
    """A column's stored form of each distinct value, converted once."""

    def __init__(self, column: Any, dialect: Dialect) -> None:
        self._convert = _storing(column, dialect)
        self._stored: dict[Hashable, Any] = {}

    def __call__(self, key: Hashable, value: Any) -> Any:
        if key not in self._stored:
            self._stored[key] = self._convert(value)
        return self._stored[key]


def _same(key: Hashable, value: Any) -> Any:
    return value


def _arrays(types: dict[str, Any], sql: str) -> Any:
    return text(sql).bindparams(*(bindparam(name, type_=t) for name, t in types.items()))


# ---- outbox rows --------------------------------------------------------------------------

_OUTBOX_SQLITE = insert_statement(OutboxRow.__table__, (
    "channel", "chat_id", "payload", "status", "attempts", "priority", "next_attempt_at",
    "created_at",
))
# Ids come from a sequence in the order of the SELECT (ORDER BY n): ascending in row order.
_OUTBOX_POSTGRES = _arrays({
    "channels": ARRAY(Text), "chats": ARRAY(Text), "payload_of": ARRAY(Integer),
    "priorities": ARRAY(Integer), "payloads": ARRAY(Text), "now": UTCDateTime(),
    "status": Text(),
}, """
INSERT INTO outbox (channel, chat_id, payload, status, attempts, priority, next_attempt_at,
                    created_at)
SELECT r.channel, r.chat_id, p.payload, :status, 0, r.priority, :now, :now
FROM unnest(:channels, :chats, :payload_of, :priorities)
     WITH ORDINALITY AS r(channel, chat_id, payload_of, priority, n)
JOIN unnest(CAST(:payloads AS jsonb[])) WITH ORDINALITY AS p(payload, i) ON p.i = r.payload_of
ORDER BY r.n
RETURNING id
""")


async def add_outbox_rows(
    connection: OpenConnection, messages: Sequence[NewMessage], now: datetime
) -> Sequence[int]:
    """Pending rows for `messages` (non-empty); their ids, in the order of `messages`."""
    store_payload = _storing(OutboxRow.__table__.c.payload, connection.dialect)
    by_reply: dict[int, Any] = {}  # a reply sent to many chats is encoded once
    for m in messages:
        if id(m.reply) not in by_reply:
            by_reply[id(m.reply)] = store_payload(m.reply.to_json())
    stored = [by_reply[id(m.reply)] for m in messages]
    moment = _storing(OutboxRow.__table__.c.created_at, connection.dialect)(now)
    if isinstance(connection, InlineConnection):
        return await connection.insert_rows(_OUTBOX_SQLITE, [
            (m.channel, m.chat_id, body, _PENDING, 0, m.priority, moment, moment)
            for m, body in zip(messages, stored, strict=True)
        ])
    bodies: list[Any] = []
    position: dict[int, int] = {}  # a payload's place (from 1) in `bodies`, by identity
    for body in stored:
        if id(body) not in position:
            bodies.append(body)
            position[id(body)] = len(bodies)
    result = await connection.execute(_OUTBOX_POSTGRES, {
        "channels": [m.channel for m in messages], "chats": [m.chat_id for m in messages],
        "payload_of": [position[id(body)] for body in stored],
        "priorities": [m.priority for m in messages], "payloads": bodies, "now": now,
        "status": _PENDING,
    })
    return sorted(result.scalars())


# ---- timeline events ------------------------------------------------------------------------

_EVENT_COLUMNS = (
    "report_id", "at", "actor_id", "actor_role", "from_status", "to_status", "note", "evidence",
)
_EVENTS_SQLITE = insert_statement(ReportEventRow.__table__, _EVENT_COLUMNS)
_EVENTS_POSTGRES = _arrays({
    "report_ids": ARRAY(Integer), "ats": ARRAY(UTCDateTime()), "actor_ids": ARRAY(Integer),
    "actor_roles": ARRAY(Text), "froms": ARRAY(Text), "tos": ARRAY(Text),
    "notes": ARRAY(Text), "evidence": ARRAY(Text),
}, f"""
INSERT INTO report_events ({", ".join(_EVENT_COLUMNS)})
SELECT r.report_id, r.at, r.actor_id, r.actor_role, r.from_status, r.to_status, r.note,
       CAST(r.evidence AS jsonb)
FROM unnest(:report_ids, :ats, :actor_ids, :actor_roles, :froms, :tos, :notes, :evidence)
     WITH ORDINALITY AS r({", ".join(_EVENT_COLUMNS)}, n)
ORDER BY r.n
""")


async def add_events(connection: OpenConnection, events: Sequence[ReportEvent]) -> None:
    """Appended in the order given (a timeline reads in the order of ids)."""
    evidence = _Once(ReportEventRow.__table__.c.evidence, connection.dialect)
    # PostgreSQL: the moments go as an array of their type, which converts each element.
    inline = isinstance(connection, InlineConnection)
    at = _Once(ReportEventRow.__table__.c.at, connection.dialect) if inline else _same
    rows = [(
        e.report_id, at(e.at, e.at), e.actor_id,
        None if e.actor_role is None else e.actor_role.value, e.from_status.value,
        e.to_status.value, e.note, evidence(e.evidence, list(e.evidence)),
    ) for e in events]
    if isinstance(connection, InlineConnection):
        await connection.insert_rows(_EVENTS_SQLITE, rows)
        return
    columns = list(zip(*rows, strict=True))
    await connection.execute(_EVENTS_POSTGRES, dict(zip(
        ("report_ids", "ats", "actor_ids", "actor_roles", "froms", "tos", "notes", "evidence"),
        map(list, columns), strict=True,
    )))


# ---- ladder steps ---------------------------------------------------------------------------

def _quoted(values: Sequence[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


# A step is taken only while its case still waits on that deadline: the sweep read the case in
# an earlier transaction, and an answer, an acknowledgement or a new deadline may have been
# committed since (then nobody must be told the case is late). A CASE, not an OR: with an OR
# PostgreSQL's planner looked the cases up by deadline through the partial indexes (every case
# due at that moment, for each step) instead of by id.
_STILL_DUE = f"""CASE
    WHEN c.status IN ({_quoted(UNIT_WORK_STATUSES)}) THEN c.answer_deadline = {{deadline}}
    WHEN c.status IN ({_quoted(UNACKNOWLEDGED_STATUSES)})
        THEN c.acknowledged_at IS NULL AND c.acknowledge_deadline = {{deadline}}
    ELSE FALSE
END"""
_STEPS_POSTGRES = _arrays({
    "report_ids": ARRAY(Integer), "steps": ARRAY(Text), "deadlines": ARRAY(UTCDateTime()),
    "at": UTCDateTime(),
}, f"""
INSERT INTO escalation_steps (report_id, step, deadline_at, at)
SELECT r.report_id, r.step, r.deadline_at, :at
FROM unnest(:report_ids, :steps, :deadlines) WITH ORDINALITY AS r(report_id, step, deadline_at, n)
JOIN reports AS c ON c.id = r.report_id
WHERE {_STILL_DUE.format(deadline="r.deadline_at")}
ORDER BY r.n
ON CONFLICT (report_id, step, deadline_at) DO NOTHING
RETURNING report_id, step, deadline_at
""").columns(report_id=Integer(), step=Text(), deadline_at=UTCDateTime())


_STILL_DUE_SQLITE = _STILL_DUE.format(deadline="v.deadline_at")


async def record_steps(
    connection: OpenConnection, ordered: Sequence[StepKey], at: datetime
) -> set[StepKey]:
    """Insert the steps not taken yet of cases still waiting on their deadline, in the order
    given (one lock order for every sweep); the steps inserted now."""
    if not isinstance(connection, InlineConnection):
        result = await connection.execute(_STEPS_POSTGRES, {
            "report_ids": [s.report_id for s in ordered], "steps": [s.step for s in ordered],
            "deadlines": [s.deadline_at for s in ordered], "at": at,
        })
        return {StepKey._make(row) for row in result.all()}
    store = _storing(EscalationStepRow.__table__.c.deadline_at, connection.dialect)
    stored = {when: store(when) for when in {s.deadline_at for s in ordered}}
    read_back = {text: when for when, text in stored.items()}
    stored_at = store(at)
    taken: set[StepKey] = set()
    per_statement = connection.variable_limit // 4
    for start in range(0, len(ordered), per_statement):
        chunk = ordered[start:start + per_statement]
        values = ", ".join(["(?, ?, ?, ?)"] * len(chunk))
        rows = await connection.returning(
            f"WITH v(report_id, step, deadline_at, at) AS (VALUES {values}) "
            "INSERT INTO escalation_steps (report_id, step, deadline_at, at) "
            "SELECT v.report_id, v.step, v.deadline_at, v.at FROM v "
            f"JOIN reports AS c ON c.id = v.report_id WHERE {_STILL_DUE_SQLITE} "
            "ON CONFLICT (report_id, step, deadline_at) DO NOTHING "
            "RETURNING report_id, step, deadline_at",
            [v for s in chunk for v in (s.report_id, s.step, stored[s.deadline_at], stored_at)],
        )
        taken.update(StepKey(rid, step, read_back[when]) for rid, step, when in rows)
    return taken
