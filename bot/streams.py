"""The dispatcher's in-memory view of what it is sending: one stream per (channel, chat, lane).

A chat's broadcast copies and its other messages (replies, notifications) are two independent
streams, each delivered in (priority, id) order, so a reply never queues behind a copy being
paced. A stream has at most one item in flight (`Stream.current`), with offered items queued
behind it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.courier import is_broadcast
from domain.messages import OutboxItem

# (channel, chat, broadcast lane)
StreamKey = tuple[str, str, bool]


def order(item: OutboxItem) -> tuple[int, int]:
    return (item.priority, item.id)


def stream_key(item: OutboxItem) -> StreamKey:
    return (item.channel, item.chat_id, is_broadcast(item))


@dataclass(eq=False)
class Stream:
    """A stream with a delivery under way: the item being sent, then offered items behind it."""

    current: OutboxItem
    offered: bool  # started by offer(): no pass waits for it
    queue: list[OutboxItem] = field(default_factory=list)
    task: asyncio.Task[None] = field(init=False)

    def holds(self, item_id: int) -> bool:
        return item_id == self.current.id or any(i.id == item_id for i in self.queue)


@dataclass
class Meanwhile:
    """What happened while a pass was reading; its snapshot may predate it."""

    settled: set[int] = field(default_factory=set)  # items that left the pending state
    touched: set[StreamKey] = field(default_factory=set)  # chats the snapshot is stale for
