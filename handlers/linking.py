"""One person on Telegram and Zalo: link the two chats, and choose where notifications go."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from domain.invitations import new_code
from domain.messages import Choice
from domain.people import Role
from handlers.context import Context
from handlers.menu import show_menu

LINK_VALIDITY: Final = timedelta(minutes=15)
NOTIFY_PREFIX: Final = "m:notify:"
EVERYWHERE: Final = "tatca"


async def link(ctx: Context, argument: str) -> None:
    if not argument:
        code = new_code()
        await ctx.uow.link_codes.add(code, ctx.person.id, ctx.now + LINK_VALIDITY)
        minutes = int(LINK_VALIDITY.total_seconds() // 60)
        ctx.say(ctx.t("link.code", code=code, minutes=minutes))
        return
    owner_id = await ctx.uow.link_codes.take(argument.strip().upper(), ctx.now)
    if owner_id is None:
        show_menu(ctx, ctx.t("link.bad_code"))
        return
    if owner_id == ctx.person.id:
        show_menu(ctx, ctx.t("link.same"))
        return
    here = ctx.person
    if here.role is not Role.RESIDENT or await ctx.uow.reports.for_reporter(here.id):
        # Two people with their own roles or reports are not merged by a chat command.
        show_menu(ctx, ctx.t("link.has_data"))
        return
    await ctx.uow.drafts.delete(here.id)
    await _carry_subscriptions(ctx, here.id, owner_id)
    await ctx.uow.people.move_identity(ctx.incoming.channel, ctx.incoming.user_id, owner_id)
    owner = await ctx.uow.people.get(owner_id)
    assert owner is not None
    ctx.person = owner
    channels = sorted({i.channel for i in await ctx.uow.people.identities(owner_id)})
    show_menu(ctx, ctx.t("link.done", name=owner.display_name, channels=", ".join(channels)))


async def _carry_subscriptions(ctx: Context, from_id: int, to_id: int) -> None:
    """What the chat being linked followed, its new person follows too (the union)."""
    wards, topics = await ctx.uow.subscriptions.of(from_id)
    if not wards and not topics:
        return
    own_wards, own_topics = await ctx.uow.subscriptions.of(to_id)
    await ctx.uow.subscriptions.replace(to_id, wards | own_wards, topics | own_topics, ctx.now)
    await ctx.uow.subscriptions.clear(from_id)


async def choose_notify_channel(ctx: Context, argument: str) -> None:
    channels = sorted({i.channel for i in await ctx.uow.people.identities(ctx.person.id)})
    wanted = argument.strip().casefold()
    if wanted in (*channels, EVERYWHERE):
        chosen = None if wanted == EVERYWHERE else wanted
        await ctx.uow.people.set_notify_channel(ctx.person.id, chosen)
        where = chosen or ctx.t("link.everywhere")
        show_menu(ctx, ctx.t("link.notify_set", where=where))
        return
    current = ctx.person.notify_channel or ctx.t("link.everywhere")
    options = [Choice(f"{NOTIFY_PREFIX}{c}", c.capitalize()) for c in channels]
    options.append(Choice(f"{NOTIFY_PREFIX}{EVERYWHERE}", ctx.t("link.everywhere").capitalize()))
    ctx.say(ctx.t("link.notify_ask", current=current), tuple(options))
