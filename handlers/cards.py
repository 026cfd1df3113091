"""How a case reads to the board (with its reporter) and to a handling unit (without)."""

from __future__ import annotations

from functools import lru_cache

from domain.lifecycle import Action, plan
from domain.messages import Choice, Reply
from domain.people import Person, Role
from domain.reports import MediaKind, Report, ReportEvent, ReportStatus
from handlers.context import Context
from handlers.i18n import Catalog
from handlers.presenting import place_text, status_label

BOARD_ACTIONS = (Action.ASSIGN, Action.HANDLE_DIRECTLY, Action.REJECT, Action.MARK_DUPLICATE)
HANDLER_ACTIONS = (
    Action.ACCEPT_CASE, Action.NOTE_PROGRESS, Action.ANSWER, Action.REQUEST_EXTENSION,
    Action.ASK_REASSIGN,
)
EXTENSION_ACTIONS = (Action.GRANT_EXTENSION, Action.REFUSE_EXTENSION)
REVIEW_ACTIONS = (Action.ACCEPT_ANSWER, Action.SEND_BACK)
BOARD_DIRECT_ACTIONS = (Action.NOTE_PROGRESS, Action.ANSWER)


# Short commands doing what a case button does, for channels without buttons (Zalo).
ACTION_COMMANDS: dict[str, Action] = {
    "giao": Action.ASSIGN,
    "tructiep": Action.HANDLE_DIRECTLY,
    "tuchoi": Action.REJECT,
    "trung": Action.MARK_DUPLICATE,
    "tiepnhan": Action.ACCEPT_CASE,
    "tiendo": Action.NOTE_PROGRESS,
    "traloi": Action.ANSWER,
    "chuyen": Action.ASK_REASSIGN,
    "chapnhan": Action.ACCEPT_ANSWER,
    "tralai": Action.SEND_BACK,
    "giahan": Action.REQUEST_EXTENSION,
    "chogiahan": Action.GRANT_EXTENSION,
    "khonggiahan": Action.REFUSE_EXTENSION,
}
# The reporter's answers to "is it really fixed?".
VERIFY_COMMANDS: dict[str, Action] = {
    "daxong": Action.CONFIRM_FIXED,
    "chuaxong": Action.REPORT_NOT_FIXED,
    "khongro": Action.NOT_SURE,
}
VERIFY_PREFIX = "v:"
_COMMAND_OF = {action: name for name, action in (ACTION_COMMANDS | VERIFY_COMMANDS).items()}


def verify_payload(action: Action, code: str) -> str:
    return f"{VERIFY_PREFIX}{action.value}:{code}"


def command_for(payload: str) -> str | None:
    """The typed command equivalent of a button, if it has one: `c:assign:PA-…` -> `/giao PA-…`."""
    kind = payload.partition(":")[0]
    if kind in ("c", "v"):
        action, code, _ = parse_case_payload(payload)
        name = _COMMAND_OF.get(Action(action)) if action in Action._value2member_map_ else None
        return f"/{name} {code}" if name else None
    if payload.startswith("m:notify:"):
        return f"/thongbao {payload.removeprefix('m:notify:')}"
    return None


def case_payload(action: Action, code: str, answer: int | None = None) -> str:
    """`c:<action>:<code>`; a button judging an answer also says which answer it was under
    (`:<n>`, the n-th answer of the case), so that it cannot judge a later one unseen."""
    suffix = f":{answer}" if answer is not None and action in REVIEW_ACTIONS else ""
    return f"c:{action.value}:{code}{suffix}"


def parse_case_payload(payload: str) -> tuple[str, str, str]:
    """(action, code, answer number or "") of a `c:` payload, as forged as it may be."""
    _, _, rest = payload.partition(":")
    action, _, code = rest.partition(":")
    code, _, answer = code.partition(":")
    return action, code, answer


def action_buttons(
    ctx: Context, report: Report, actions: tuple[Action, ...], role: Role, unit: str | None,
    answer: int | None = None,
) -> tuple[Choice, ...]:
    """Only the buttons this person may press on this case now (the server checks again)."""
    labels = _action_labels(ctx.services.catalog)
    return tuple(
        Choice(case_payload(a, report.code, answer), labels[a])
        for a in _allowed(actions, report.status, role, unit, report.assigned_unit_code)
    )


@lru_cache(maxsize=8)
def _action_labels(catalog: Catalog) -> dict[Action, str]:
    # A sweep renders the buttons of ~1,000 cards; their labels never change.
    return {a: catalog.t(f"case.action.{a.value}") for a in Action if catalog.has(
        f"case.action.{a.value}")}


@lru_cache(maxsize=4096)
def _allowed(
    actions: tuple[Action, ...], status: ReportStatus, role: Role, unit: str | None,
    case_unit: str | None,
) -> tuple[Action, ...]:
    # `plan` depends on nothing else; a sweep renders a card for each of ~1,000 cases.
    return tuple(a for a in actions if plan(a, status, role, unit, case_unit).allowed)


def _place(ctx: Context, report: Report) -> str:
    if report.location is None:
        return place_text(ctx, report.address, None)
    lat, lon = report.location.latitude, report.location.longitude
    return ctx.t("case.map", place=place_text(ctx, None, (lat, lon)), latitude=lat, longitude=lon)


def case_text(
    ctx: Context, report: Report, reporter: Person | None, photos: int | None = None
) -> str:
    """`photos`: how many the report has, when `report` was read without its media."""
    lines = [
        ctx.t(
            "case.card",
            code=report.code,
            status=status_label(ctx, report),
            category=ctx.category_label(report.category_code),
            ward=ctx.unit_label(report.ward_code),
            place=_place(ctx, report),
            description=report.description or ctx.t("intake.description.voice"),
            urgency=ctx.t(f"intake.urgency.{report.urgency.value}"),
            photos=report.photo_count if photos is None else photos,
            created=ctx.local_time(report.created_at),
        ),
    ]
    if report.assigned_unit_code:
        deadline = ctx.local_time(report.answer_deadline) if report.answer_deadline else "—"
        lines.append(
            ctx.t(
                "case.assigned_line",
                unit=ctx.unit_label(report.assigned_unit_code),
                deadline=deadline,
            )
        )
    if reporter is not None:  # only ever passed for the board
        lines.append(
            ctx.t(
                "case.reporter_line",
                name=reporter.display_name,
                role=ctx.t(f"role.{reporter.role.value}"),
                unit=ctx.unit_label(reporter.unit_code),
            )
        )
    return "\n".join(lines)


def photos_of(report: Report) -> tuple[str, ...]:
    return tuple(m.sha256 for m in report.media if m.kind is MediaKind.PHOTO)


async def answers_of(ctx: Context, report: Report) -> list[ReportEvent]:
    """The answers given on the case, oldest first (each a move to "answered")."""
    assert report.id is not None
    return [
        e for e in await ctx.uow.reports.events(report.id) if e.to_status is ReportStatus.ANSWERED
    ]


async def board_card(ctx: Context, report: Report, officer: Person) -> Reply:
    [card] = await board_cards(ctx, report, [officer])
    return card


async def board_cards(ctx: Context, report: Report, officers: list[Person]) -> list[Reply]:
    """The board card for each officer; its reporter and answer number read once for all."""
    reporter = await ctx.uow.people.get(report.reporter_id)
    answer = (
        len(await answers_of(ctx, report)) if report.status is ReportStatus.ANSWERED else None
    )
    return [board_card_with(ctx, report, officer, reporter, answer=answer) for officer in officers]


def board_card_with(
    ctx: Context, report: Report, officer: Person, reporter: Person | None,
    photos: int | None = None, answer: int | None = None,
) -> Reply:
    """`board_card` with its reporter already read (a sweep reads a batch's in one query).
    `answer`: the number of the answer awaiting review, carried by Accept / Send back."""
    actions = REVIEW_ACTIONS + BOARD_ACTIONS + BOARD_DIRECT_ACTIONS
    return Reply(
        text=case_text(ctx, report, reporter, photos),
        choices=action_buttons(ctx, report, actions, Role.BOARD, officer.unit_code, answer),
        photos=photos_of(report),
    )


def handler_card(
    ctx: Context, report: Report, handler: Person, heading: str = "", photos: int | None = None
) -> Reply:
    text = case_text(ctx, report, None, photos)
    return Reply(
        text=f"{heading}\n{text}" if heading else text,
        choices=action_buttons(ctx, report, HANDLER_ACTIONS, Role.HANDLER, handler.unit_code),
        photos=photos_of(report),
    )


def timeline_text(ctx: Context, events: list[ReportEvent], show_people: dict[int, str]) -> str:
    """One line per event; names only for ids in `show_people` (never the reporter's to a unit)."""
    lines = []
    for event in events:
        who = show_people.get(event.actor_id or 0) or (
            ctx.t(f"role.{event.actor_role.value}") if event.actor_role else "—"
        )
        change = ctx.t(f"status.label.{event.to_status.value}")
        note = f" — {_readable_note(ctx, event.note)}" if event.note else ""
        lines.append(f"• {ctx.local_time(event.at)} · {who}: {change}{note}")
    return "\n".join(lines)


def _readable_note(ctx: Context, note: str) -> str:
    """Notes the system writes for machines (`escalation:board`) read as words."""
    key = f"timeline.note.{note}"
    return ctx.t(key) if ctx.services.catalog.has(key) else note
