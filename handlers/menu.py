"""The main menu a person sees under a greeting and after leaving a conversation."""

from __future__ import annotations

from domain.messages import Choice
from domain.people import REPORTING_ROLES, Role
from handlers.context import Context

MENU_REPORT = "m:report"
MENU_STATUS = "m:status"
MENU_HELP = "m:help"


def menu_choices(ctx: Context) -> tuple[Choice, ...]:
    role = ctx.person.role
    choices: list[Choice] = []
    if role in REPORTING_ROLES:
        choices.append(Choice(MENU_REPORT, ctx.t("menu.report")))
    if role is not Role.RESIDENT:
        choices.append(Choice(MENU_STATUS, ctx.t("menu.status")))
    choices.append(Choice(MENU_HELP, ctx.t("menu.help")))
    return tuple(choices)


def show_menu(ctx: Context, text: str | None = None) -> None:
    ctx.say(text or ctx.t("menu.prompt"), menu_choices(ctx))


def greet(ctx: Context, prefix: str = "") -> None:
    person = ctx.person
    if person.role is Role.RESIDENT:
        text = ctx.t("start.greeting_resident", name=person.display_name)
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
    else:
        key = "help.member"
    show_menu(ctx, ctx.t(key))
