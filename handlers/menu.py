"""The main menu a person sees under a greeting and after leaving a conversation."""

from __future__ import annotations

from domain.messages import Choice
from domain.people import REPORTING_ROLES, Role
from handlers.context import Context

MENU_REPORT = "m:report"
MENU_STATUS = "m:status"
MENU_HELP = "m:help"
MENU_NEW = "m:new"
MENU_OPEN = "m:open"
MENU_OVERDUE = "m:overdue"
MENU_WORK = "m:work"
MENU_ORIENT = "m:orient"
MENU_FOLLOW = "m:follow"
# What each role's help adds about orientation (sent, relayed, followed).
_ORIENTATION_HELP = {
    Role.BOARD: "orientation.help.board",
    Role.COLLABORATOR: "orientation.help.collaborator",
    Role.HANDLER: "orientation.help.handler",
    Role.RESIDENT: "orientation.help.resident",
}


def menu_choices(ctx: Context) -> tuple[Choice, ...]:
    role = ctx.person.role
    choices: list[Choice] = []
    if role in REPORTING_ROLES:
        choices.append(Choice(MENU_REPORT, ctx.t("menu.report")))
        choices.append(Choice(MENU_STATUS, ctx.t("menu.status")))
    if role is Role.BOARD:
        choices += [
            Choice(MENU_NEW, ctx.t("menu.new")),
            Choice(MENU_OPEN, ctx.t("menu.open")),
            Choice(MENU_OVERDUE, ctx.t("menu.overdue")),
            Choice(MENU_ORIENT, ctx.t("menu.orient")),
        ]
    if role is Role.HANDLER:
        choices.append(Choice(MENU_WORK, ctx.t("menu.work")))
    if role is Role.RESIDENT:
        choices.append(Choice(MENU_FOLLOW, ctx.t("menu.follow")))
    choices.append(Choice(MENU_HELP, ctx.t("menu.help")))
    return tuple(choices)


def show_menu(ctx: Context, text: str | None = None) -> None:
    ctx.say(text or ctx.t("menu.prompt"), menu_choices(ctx))


def greet(ctx: Context, prefix: str = "") -> None:
    person = ctx.person
    if person.role is Role.RESIDENT:
        text = ctx.t("start.greeting_resident", name=person.display_name)
        text += "\n" + ctx.t("follow.greeting")
    else:
        key = (
            "start.greeting_collaborator"
            if person.role in REPORTING_ROLES
            else "start.greeting_member"
        )
        text = ctx.t(
            key,
            name=person.display_name,
            role=ctx.t(f"role.{person.role.value}"),
            unit=ctx.unit_label(person.unit_code),
        )
    show_menu(ctx, f"{prefix}\n{text}" if prefix else text)


def show_help(ctx: Context) -> None:
    role = ctx.person.role
    if role is Role.RESIDENT:
        key = "help.resident"
    elif role in REPORTING_ROLES:
        key = "help.collaborator"
    elif role is Role.BOARD:
        key = "help.board"
    elif role is Role.HANDLER:
        key = "help.handler"
    else:
        key = "help.member"
    extra = _ORIENTATION_HELP.get(role)
    show_menu(ctx, ctx.t(key) + ("\n" + ctx.t(extra) if extra else ""))
