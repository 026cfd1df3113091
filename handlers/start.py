"""Joining: `/start` with or without an invitation code."""

from __future__ import annotations

from domain.invitations import InvitationProblem, looks_like_code
from handlers.context import Context
from handlers.menu import greet
from handlers.verification import settle_not_yet

_PROBLEM_KEYS = {
    InvitationProblem.UNKNOWN: "start.code_unknown",
    InvitationProblem.USED: "start.code_used",
    InvitationProblem.EXPIRED: "start.code_expired",
}


def is_invitation_code(text: str) -> bool:
    return looks_like_code(text)


async def redeem(ctx: Context, raw_code: str) -> bool:
    """Give the person the role and unit of an invitation; False (and explained) if it can't."""
    code = raw_code.strip().upper()
    invitation = await ctx.uow.invitations.get(code)
    problem = InvitationProblem.UNKNOWN if invitation is None else invitation.problem_at(ctx.now)
    unit_code = invitation.unit_code if invitation is not None else None
    if problem is None and unit_code is not None and ctx.org.unit(unit_code) is None:
        ctx.say(ctx.t("start.unit_unknown"))
        return False
    if problem is None and invitation is not None:
        if await ctx.uow.invitations.mark_used(code, ctx.person.id, ctx.now):
            await ctx.uow.people.set_role(ctx.person.id, invitation.role, invitation.unit_code)
            await ctx.uow.people.set_lead(ctx.person.id, invitation.lead)
            ctx.person.lead = invitation.lead
            await settle_not_yet(ctx)  # her answer about her own report stands
            await ctx.uow.drafts.delete(ctx.person.id)  # what was begun belonged to the old role
            ctx.person.role, ctx.person.unit_code = invitation.role, invitation.unit_code
            return True
        problem = InvitationProblem.USED
    assert problem is not None
    ctx.say(ctx.t(_PROBLEM_KEYS[problem], code=code))
    return False


async def start(ctx: Context, argument: str) -> None:
    if argument:
        if await redeem(ctx, argument):
            greet(ctx, prefix=ctx.t("start.registered"))
        return
    greet(ctx)
