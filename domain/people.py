"""People, their roles and the channel identities through which they reach the bot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    COLLABORATOR = "collaborator"
    HANDLER = "handler"
    BOARD = "board"
    RESIDENT = "resident"
    ADMIN = "admin"


# Roles that join only by invitation; everyone else who opens the bot is a resident.
INVITED_ROLES = (Role.COLLABORATOR, Role.HANDLER, Role.BOARD, Role.ADMIN)
# Roles that may file a report.
REPORTING_ROLES = (Role.COLLABORATOR,)


@dataclass
class Person:
    id: int
    display_name: str
    role: Role
    unit_code: str | None
    created_at: datetime
    # Where notifications go when the person is linked on several channels; None: everywhere.
    notify_channel: str | None = None
    # The head of a handler's unit, or the board's leader: the later escalation steps reach them.
    lead: bool = False


@dataclass(frozen=True)
class ChannelIdentity:
    """One way of reaching a person: a user on a channel, and the chat the bot answers in."""

    channel: str
    external_id: str
    chat_id: str
    person_id: int
