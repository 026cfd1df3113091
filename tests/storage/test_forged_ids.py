"""A forged button may carry any number: it finds nothing, it does not fail the update (a
20-digit id does not fit the database's integer columns)."""

from __future__ import annotations

import pytest

from domain.clock import FixedClock
from domain.ports import UnitOfWorkFactory
from handlers.service import ConversationService
from handlers.types import Incoming, Kind
from tests.conversation_harness import MONDAY_9AM, services


@pytest.mark.parametrize("payload", [
    "b:relay:" + "9" * 20, "b:relay:" + "9" * 60, "b:cancel:" + "9" * 30, "b:relay:²",
])
async def test_a_forged_button_with_a_huge_number_is_answered_not_failed(
    any_uow_factory: UnitOfWorkFactory, payload: str
) -> None:
    conversation = ConversationService(any_uow_factory, services(FixedClock(MONDAY_9AM)))

    def incoming(key: str, kind: Kind, text: str = "", payload: str = "") -> Incoming:
        return Incoming(channel="telegram", update_key=key, chat_id="42", user_id="42",
                        display_name="Lan", kind=kind, text=text, payload=payload)

    assert await conversation.handle(incoming("1", Kind.TEXT, text="/start"))
    assert await conversation.handle(incoming("2", Kind.CHOICE, payload=payload))
    async with any_uow_factory() as uow:
        answers = [item.reply.text for item in await uow.outbox.all()]
    assert len(answers) == 2  # the greeting, and an answer to the button
