"""After the board accepts an answer, the officer is offered an orientation about the case.

Kept apart from the orientation flow so that `case_effects` can offer it without importing the
flow (which reads the case's answer through `case_effects`).
"""

from __future__ import annotations

from typing import Final

from domain.messages import Choice
from domain.people import Role
from domain.reports import Report
from handlers.context import Context

ORIENT_PREFIX: Final = "b:orient:"
# Channels that show buttons. Elsewhere (Zalo, the console) choices are numbered lines and a
# typed number answers the menu, so the offer and `/lich` name the command to type instead.
BUTTON_CHANNELS: Final = frozenset({"telegram"})


def offer_orientation(ctx: Context, report: Report) -> None:
    """«📢 Đăng định hướng về vụ việc này» under the acceptance, for board officers."""
    if ctx.person.role is not Role.BOARD:
        return
    ward = ctx.unit_label(report.ward_code)
    if ctx.incoming.channel in BUTTON_CHANNELS:
        button = Choice(f"{ORIENT_PREFIX}{report.code}", ctx.t("orientation.offer.button"))
        ctx.say(ctx.t("orientation.offer.text", code=report.code, ward=ward), (button,))
    else:
        ctx.say(ctx.t("orientation.offer.command", code=report.code, ward=ward))
