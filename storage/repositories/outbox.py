"""The transactional outbox: outgoing messages written with the change that caused them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, true, update

from domain.messages import OutboxItem, OutboxStatus, Reply
from domain.ports import NewMessage
from storage.models import ChannelIdentityRow, OutboxRow
from storage.repositories import bulk
from storage.repositories.base import SqlRepository

_COLUMNS = select(
    OutboxRow.id, OutboxRow.channel, OutboxRow.chat_id, OutboxRow.payload, OutboxRow.status,
    OutboxRow.attempts, OutboxRow.next_attempt_at, OutboxRow.created_at, OutboxRow.priority,
    OutboxRow.last_error, OutboxRow.sent_at,
)
_PENDING = (
    _COLUMNS.where(OutboxRow.status == OutboxStatus.PENDING.value)
    .order_by(OutboxRow.priority, OutboxRow.id)
    .limit(bindparam("limit"))
)
_ALL = _COLUMNS.order_by(OutboxRow.id)
_FAILED = (
    _COLUMNS.where(OutboxRow.status == OutboxStatus.FAILED.value)
    .order_by(OutboxRow.id.desc())
    .limit(bindparam("limit"))
)
_ADD = insert(OutboxRow)
_BY_ID = OutboxRow.id == bindparam("item_id")
_MARK_SENT = update(OutboxRow).where(_BY_ID).values(
    status=OutboxStatus.SENT.value, sent_at=bindparam("at"),
)
_PENDING_VALUE = OutboxStatus.PENDING.value
_SENDING_VALUE = OutboxStatus.SENDING.value
# A claimed broadcast copy goes back to pending; a sent or cancelled row never comes back.
_MARK_RETRY = update(OutboxRow).where(
    _BY_ID, OutboxRow.status.in_((_PENDING_VALUE, _SENDING_VALUE))
).values(
    status=_PENDING_VALUE, attempts=bindparam("new_attempts"),
    next_attempt_at=bindparam("next_at"), last_error=bindparam("error"),
)
_MARK_FAILED = update(OutboxRow).where(_BY_ID).values(
    status=OutboxStatus.FAILED.value, failed_at=bindparam("at"), last_error=bindparam("error"),
)
_MARK_BLOCKED = (
    update(OutboxRow).where(_BY_ID)
    .values(
        status=OutboxStatus.FAILED.value, blocked=true(), failed_at=bindparam("at"),
        last_error=bindparam("error"),
    )
    .returning(OutboxRow.channel, OutboxRow.chat_id)
)
# The earliest block is kept: it says since when the person is unreachable.
_UNREACHABLE = (
    update(ChannelIdentityRow)
    .where(
        ChannelIdentityRow.channel == bindparam("on_channel"),
        ChannelIdentityRow.chat_id == bindparam("in_chat"),
        ChannelIdentityRow.unreachable_at.is_(None),
    )
    .values(unreachable_at=bindparam("at"))
)
_IN_IDS = OutboxRow.id.in_(bindparam("ids", expanding=True))
_CLAIM = (
    update(OutboxRow).where(_IN_IDS, OutboxRow.status == _PENDING_VALUE)
    .values(status=_SENDING_VALUE)
    .returning(OutboxRow.id)
)
INTERRUPTED = "interrupted: delivery not confirmed"
_SETTLE = update(OutboxRow).where(OutboxRow.status == _SENDING_VALUE).values(
    status=OutboxStatus.SENT.value, sent_at=bindparam("at"), last_error=INTERRUPTED,
)
# `failed_at` of a cancelled row: when it was given up on.
_CANCEL = update(OutboxRow).where(_IN_IDS, OutboxRow.status == _PENDING_VALUE).values(
    status=OutboxStatus.CANCELLED.value, failed_at=bindparam("at"),
    last_error=bindparam("reason"),
)


def _item(row: Any) -> OutboxItem:
    return OutboxItem(
        id=row.id, channel=row.channel, chat_id=row.chat_id, reply=Reply.from_json(row.payload),
        status=OutboxStatus(row.status), attempts=row.attempts,
        next_attempt_at=row.next_attempt_at, created_at=row.created_at, priority=row.priority,
        last_error=row.last_error, sent_at=row.sent_at,
    )


class SqlOutbox(SqlRepository):
    async def add(
        self, channel: str, chat_id: str, reply: Reply, now: datetime, priority: int = 0
    ) -> OutboxItem:
        result = await self._run(_ADD, {
            "channel": channel, "chat_id": chat_id, "payload": reply.to_json(),
            "status": OutboxStatus.PENDING.value, "attempts": 0, "priority": priority,
            "next_attempt_at": now, "created_at": now,
        })
        key = result.inserted_primary_key
        assert key is not None
        item_id = int(key[0])
        return OutboxItem(
            item_id, channel, chat_id, reply, OutboxStatus.PENDING, 0, now, now, priority
        )

    async def add_many(
        self, messages: Sequence[NewMessage], now: datetime
    ) -> list[OutboxItem]:
        if not messages:
            return []
        ids = await bulk.add_outbox_rows(self._source.connection, messages, now)
        return [
            OutboxItem(int(item_id), m.channel, m.chat_id, m.reply, OutboxStatus.PENDING, 0,
                       now, now, m.priority)
            for m, item_id in zip(messages, ids, strict=True)
        ]

    async def pending(
        self, limit: int, channels: Collection[str] | None = None
    ) -> list[OutboxItem]:
        """Pending items by priority, then oldest first (due or not)."""
        statement = _PENDING
        if channels is not None:
            statement = statement.where(OutboxRow.channel.in_(sorted(channels)))
        return [_item(row) for row in (await self._run(statement, {"limit": limit})).all()]

    async def failed(self, limit: int) -> list[OutboxItem]:
        return [_item(row) for row in (await self._run(_FAILED, {"limit": limit})).all()]

    async def mark_sent(self, item_id: int, at: datetime) -> None:
        await self._run(_MARK_SENT, {"item_id": item_id, "at": at})

    async def mark_sent_many(self, item_ids: Sequence[int], at: datetime) -> None:
        await self._run(
            update(OutboxRow).where(OutboxRow.id.in_(list(item_ids)))
            .values(status=OutboxStatus.SENT.value, sent_at=at)
        )

    async def mark_retry(
        self, item_id: int, attempts: int, next_attempt_at: datetime, error: str
    ) -> None:
        await self._run(_MARK_RETRY, {
            "item_id": item_id, "new_attempts": attempts, "next_at": next_attempt_at,
            "error": error,
        })

    async def mark_failed(self, item_id: int, at: datetime, error: str) -> None:
        await self._run(_MARK_FAILED, {"item_id": item_id, "at": at, "error": error})

    async def mark_blocked(self, item_id: int, at: datetime, error: str) -> None:
        row = (await self._run(
            _MARK_BLOCKED, {"item_id": item_id, "at": at, "error": error}
        )).first()
        if row is not None:
            await self._run(
                _UNREACHABLE, {"on_channel": row.channel, "in_chat": row.chat_id, "at": at}
            )

    async def claim(self, item_ids: Sequence[int]) -> set[int]:
        if not item_ids:
            return set()
        result = await self._run(_CLAIM, {"ids": list(item_ids)})
        return {int(item_id) for item_id in result.scalars()}

    async def settle_interrupted(self, at: datetime) -> int:
        return (await self._run(_SETTLE, {"at": at})).rowcount

    async def cancel(self, item_ids: Sequence[int], at: datetime, reason: str) -> int:
        if not item_ids:
            return 0
        result = await self._run(_CANCEL, {"ids": list(item_ids), "at": at, "reason": reason})
        return result.rowcount

    async def all(self) -> list[OutboxItem]:
        return [_item(row) for row in (await self._run(_ALL)).all()]
