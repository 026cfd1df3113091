"""Handling one incoming event reliably: once, one chat at a time, in one transaction.

The channel adapters call `ConversationService.handle` and acknowledge the platform only after it
returns: the update, its effects and every reply (as outbox rows) are committed together.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace

from domain.messages import OutboxItem, Priority, Reply
from domain.people import Person, Role
from domain.ports import UnitOfWork, UnitOfWorkFactory
from handlers.context import Context, Services
from handlers.conversation import route
from handlers.text import storable
from handlers.types import Incoming


def outbox_parts(reply: Reply) -> list[Reply]:
    """Photos, each document and the text as separate outbox rows: a retry of one part never
    resends another."""
    parts = [Reply(text="", photos=reply.photos)] if reply.photos else []
    parts += [Reply(text="", documents=(document,)) for document in reply.documents]
    if reply.text or not parts:
        parts.append(replace(reply, photos=(), documents=()))
    return parts


class ChatLocks:
    """One asyncio.Lock per chat, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


class ConversationService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        services: Services,
        on_commit: Callable[[Sequence[OutboxItem]], None] = lambda items: None,
    ) -> None:
        self._uow_factory = uow_factory
        self._services = services
        self._on_commit = on_commit  # hands the committed replies to the outbox dispatcher
        self._locks = ChatLocks()

    async def handle(self, incoming: Incoming) -> bool:
        """Handle and commit one event; False if it was handled before (a redelivery)."""
        text, payload, name = (
            storable(incoming.text), storable(incoming.payload), storable(incoming.display_name)
        )
        if (text, payload, name) != (incoming.text, incoming.payload, incoming.display_name):
            incoming = replace(incoming, text=text, payload=payload, display_name=name)
        async with self._locks.hold(incoming.chat_key), self._uow_factory() as uow:
            await uow.lock_chat(incoming.chat_key)
            now = self._services.clock.now()
            if not await uow.updates.record(incoming.channel, incoming.update_key, now):
                return False
            person = await self._person(uow, incoming)
            # Drafts belong to the person, who may write on Telegram and Zalo at once.
            await uow.lock_chat(f"person:{person.id}")
            ctx = Context(incoming, person, uow, self._services, now)
            await route(ctx)
            queued = [
                await uow.outbox.add(
                    incoming.channel, incoming.chat_id, part, now, Priority.CONVERSATION
                )
                for reply in ctx.replies
                for part in outbox_parts(reply)
            ]
            queued += [
                await uow.outbox.add(o.channel, o.chat_id, part, now, o.priority)
                for o in ctx.outgoing
                for part in outbox_parts(o.reply)
            ]
            await uow.commit()
        self._on_commit(queued)
        return True

    async def _person(self, uow: UnitOfWork, incoming: Incoming) -> Person:
        person = await uow.people.heard_from(incoming.channel, incoming.user_id)
        if person is not None:
            return person
        return await uow.people.add(
            display_name=incoming.display_name or incoming.user_id,
            role=Role.RESIDENT,
            unit_code=None,
            now=self._services.clock.now(),
            identity=(incoming.channel, incoming.user_id, incoming.chat_id),
        )
