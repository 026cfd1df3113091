"""Board officers and handlers: case buttons and the staff commands."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Final

from domain.lifecycle import OPEN_STATUSES, Action
from domain.people import Role
from domain.ports import Draft
from domain.reports import Report, ReportEvent, ReportStatus, normalise_report_code
from handlers.cards import (
    REVIEW_ACTIONS,
    answers_of,
    board_card,
    board_card_with,
    handler_card,
    parse_case_payload,
    timeline_text,
)
from handlers.case_actions import check, perform, visible_case
from handlers.case_effects import Details
from handlers.context import Context
from handlers.extension_flows import EXTENSION_FLOWS
from handlers.menu import show_menu
from handlers.orientation_steps import ORIENTATION_FLOW, ORIENTATION_KEPT_FOR
from handlers.staff_flows import FLOWS, suggested_unit
from handlers.sweeps_ladder import Step

FLOW_OF: Final = {
    Action.ASSIGN: "assign",
    Action.REJECT: "reject",
    Action.MARK_DUPLICATE: "duplicate",
    Action.NOTE_PROGRESS: "note",
    Action.ANSWER: "answer",
    Action.ASK_REASSIGN: "reassign",
    Action.SEND_BACK: "sendback",
    Action.REQUEST_EXTENSION: "extend",
    Action.GRANT_EXTENSION: "grant",
    Action.REFUSE_EXTENSION: "refuse",
}
NEW_STATUSES: Final = frozenset(
    {ReportStatus.SUBMITTED, ReportStatus.ACKNOWLEDGED, ReportStatus.REOPENED}
)
UNIT_WORK: Final = frozenset({ReportStatus.ASSIGNED, ReportStatus.IN_PROGRESS})
MAX_CARDS: Final = 10
MAX_FAILED: Final = 20


async def case_button(ctx: Context, payload: str) -> None:
    """`c:<action>:<code>[:<answer>]`: anyone can forge one, so everything is checked here."""
    action_name, code, answer = parse_case_payload(payload)
    try:
        action = Action(action_name)
    except ValueError:
        show_menu(ctx, ctx.t("common.invalid_choice"))
        return
    if ctx.person.role not in (Role.BOARD, Role.HANDLER):
        show_menu(ctx, ctx.t("case.not_allowed"))
        return
    report = await visible_case(ctx, code)
    if report is None or not check(ctx, report, action):
        return
    if answer and action in REVIEW_ACTIONS and not await _judges_the_latest(ctx, report, answer):
        return
    flow_name = FLOW_OF.get(action)
    if flow_name is None:
        await perform(ctx, report.code, action, Details())
        return
    await _start_flow(ctx, report, flow_name)


async def _judges_the_latest(ctx: Context, report: Report, answer: str) -> bool:
    """A button under an earlier answer (sent back since, and answered again) must not accept
    or send back the new one unseen: the officer is shown the answer awaiting review instead."""
    answers = await answers_of(ctx, report)
    if answer == str(len(answers)):
        return True
    reporter = await ctx.uow.people.get(report.reporter_id)
    card = board_card_with(ctx, report, ctx.person, reporter, answer=len(answers))
    latest = answers[-1].note if answers else ""
    heading = ctx.t("case.stale_answer", code=report.code, answer=latest)
    ctx.replies.append(replace(card, text=f"{heading}\n{card.text}"))
    return False


def act_by_command(action: Action) -> Callable[[Context, str], Awaitable[None]]:
    """`/giao PA-…` does what the Assign button on the card does (with the same checks)."""

    async def act(ctx: Context, argument: str) -> None:
        code = normalise_report_code(argument)
        if code is None:
            show_menu(ctx, ctx.t("status.bad_code"))
            return
        await case_button(ctx, f"c:{action.value}:{code}")

    return act


async def _start_flow(ctx: Context, report: Report, flow_name: str) -> None:
    current = await ctx.uow.drafts.get(ctx.person.id)
    writing = current is not None and current.flow == ORIENTATION_FLOW and (
        ctx.now - current.updated_at < ORIENTATION_KEPT_FOR  # not one left days ago
    )
    if writing:
        show_menu(ctx, ctx.t("orientation.busy"))  # one draft per person: it would be lost
        return
    flow = FLOWS.get(flow_name) or EXTENSION_FLOWS[flow_name]
    data = {
        "case": report.code,
        "category": report.category_code,
        "urgency": report.urgency.value,
        "suggested": suggested_unit(ctx, report.category_code, report.ward_code),
        "deadline": report.answer_deadline.isoformat() if report.answer_deadline else None,
    }
    draft = Draft(ctx.person.id, flow.flow, next(iter(flow.steps)), data, 0, ctx.now, ctx.now)
    await flow.goto(ctx, draft, draft.step)


def _is_board(ctx: Context) -> bool:
    if ctx.person.role is Role.BOARD:
        return True
    show_menu(ctx, ctx.t("case.not_allowed"))
    return False


async def _cards(ctx: Context, reports: list[Report], header_key: str) -> None:
    if not reports:
        show_menu(ctx, ctx.t("case.list_empty"))
        return
    ctx.say(ctx.t(header_key, count=len(reports)))
    for report in reports[:MAX_CARDS]:
        if ctx.person.role is Role.BOARD:
            ctx.replies.append(await board_card(ctx, report, ctx.person))
        else:
            ctx.replies.append(handler_card(ctx, report, ctx.person))
    if len(reports) > MAX_CARDS:
        ctx.say(ctx.t("case.list_more", count=len(reports) - MAX_CARDS))


async def new_reports(ctx: Context, argument: str) -> None:
    if _is_board(ctx):
        await _cards(ctx, await ctx.uow.reports.with_status(NEW_STATUSES), "case.new_header")


async def open_cases(ctx: Context, argument: str) -> None:
    if not _is_board(ctx):
        return
    reports = await ctx.uow.reports.with_status(OPEN_STATUSES - NEW_STATUSES)
    lines = [ctx.t("case.open_header", count=len(reports))] if reports else []
    lines += [_line(ctx, r) for r in reports[:50]]
    failed = await ctx.uow.outbox.failed(MAX_FAILED)
    if failed:
        lines.append(ctx.t("case.failed_hint", count=len(failed)))
    show_menu(ctx, "\n".join(lines) if lines else ctx.t("case.list_empty"))


async def failed_deliveries(ctx: Context, argument: str) -> None:
    """Messages that could not be delivered, so the board can reach those people otherwise."""
    if not _is_board(ctx):
        return
    failed = await ctx.uow.outbox.failed(MAX_FAILED)
    if not failed:
        show_menu(ctx, ctx.t("case.failed_none"))
        return
    lines = [ctx.t("case.failed_header", count=len(failed))]
    for item in failed:
        person = await ctx.uow.people.by_identity(item.channel, item.chat_id)
        lines.append(ctx.t("case.failed_line", who=person.display_name if person else item.chat_id,
                           channel=item.channel, error=(item.last_error or "")[:120],
                           text=item.reply.text.split("\n", 1)[0][:80]))
    show_menu(ctx, "\n".join(lines))


def overdue_since(ctx: Context, report: Report) -> datetime | None:
    """When the case's current clock ran out, if it did."""
    if report.status in NEW_STATUSES and report.acknowledged_at is None:
        due: datetime | None = report.acknowledge_deadline
    elif report.status in UNIT_WORK | {ReportStatus.BOARD_DIRECT}:
        due = report.answer_deadline
    else:
        due = None
    return due if due is not None and due < ctx.now else None


async def overdue_cases(ctx: Context, argument: str) -> None:
    if not _is_board(ctx):
        return
    late = [r for r in await ctx.uow.reports.with_status(OPEN_STATUSES) if overdue_since(ctx, r)]
    if not late:
        show_menu(ctx, ctx.t("case.none_overdue"))
        return
    lines = [ctx.t("case.overdue_header", count=len(late))]
    shown = late[:50]
    taken = await ctx.uow.escalations.steps_taken([r.id for r in shown if r.id is not None])
    for report in shown:
        due = overdue_since(ctx, report)
        assert due is not None
        hours = int((ctx.now - due).total_seconds() // 3600)
        steps = [ctx.t(f"sweep.step_name.{k.step}") for k in sorted(
            (k for k in taken if k.report_id == report.id and k.deadline_at == due),
            key=lambda k: _LADDER_ORDER.index(k.step),
        )]
        told = ctx.t("case.overdue_steps", steps=", ".join(steps)) if steps else ""
        lines.append(ctx.t("case.overdue_line", line=_line(ctx, report, due), hours=hours,
                           steps=told))
    show_menu(ctx, "\n".join(lines))


_LADDER_ORDER = tuple(step.value for step in Step)  # in the order they come


def _line(ctx: Context, report: Report, due: datetime | None = None) -> str:
    """`due`: the deadline to show (the acknowledge deadline of a report nobody took up)."""
    shown = due or report.answer_deadline
    deadline = ctx.local_time(shown) if shown else "—"
    return ctx.t(
        "case.line",
        code=report.code,
        status=ctx.t(f"status.label.{report.status}"),
        unit=ctx.unit_label(report.assigned_unit_code),
        deadline=deadline,
    )


async def unit_work(ctx: Context, argument: str) -> None:
    if ctx.person.role is not Role.HANDLER:
        show_menu(ctx, ctx.t("case.not_allowed"))
        return
    reports = await ctx.uow.reports.with_status(UNIT_WORK, ctx.person.unit_code)
    far = datetime.max.replace(tzinfo=ctx.now.tzinfo)
    reports.sort(key=lambda r: r.answer_deadline or far)
    await _cards(ctx, reports, "case.work_header")


async def show_case(ctx: Context, argument: str) -> None:
    code = normalise_report_code(argument)
    if code is None or ctx.person.role not in (Role.BOARD, Role.HANDLER):
        show_menu(ctx, ctx.t("status.bad_code") if code is None else ctx.t("case.not_allowed"))
        return
    report = await visible_case(ctx, code)
    if report is None or report.id is None:
        return
    events = await ctx.uow.reports.events(report.id)
    is_board = ctx.person.role is Role.BOARD
    card = (
        await board_card(ctx, report, ctx.person)
        if is_board
        else handler_card(ctx, report, ctx.person)
    )
    names = await _staff_names(ctx, report, events, for_board=is_board)
    timeline = timeline_text(ctx, events, names)
    text = f"{card.text}\n\n{ctx.t('case.timeline')}\n{timeline}"
    ctx.replies.append(replace(card, text=text))


async def _staff_names(
    ctx: Context, report: Report, events: list[ReportEvent], for_board: bool
) -> dict[int, str]:
    """The names the timeline shows: every actor's to the board; to a unit only its own and the
    board's staff (a collaborator, the reporter or the one asked to verify, shows as a role).
    Judged by the role each acted in, not the role held now: a reporter who later became a
    handler stays unnamed to the unit."""
    unnamed = {report.reporter_id} | {e.actor_id for e in events if e.actor_role not in _STAFF}
    names: dict[int, str] = {}
    for actor in {e.actor_id for e in events if e.actor_id is not None}:
        person = await ctx.uow.people.get(actor)
        if person is not None and (for_board or (person.role in _STAFF and actor not in unnamed)):
            names[actor] = person.display_name
    return names


_STAFF = frozenset({Role.BOARD, Role.HANDLER, Role.ADMIN})
