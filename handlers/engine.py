"""The step machine behind guided conversations: ask, interpret the answer, move on.

A conversation is a table of `Step`s (see `handlers/intake.py`). The engine does what every step
shares: turning buttons, numbers and typed labels into an answer, refusing what the step does not
take, Back and Cancel, stale buttons, and saving the draft after every move.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final

from domain.messages import Choice
from domain.ports import Draft
from domain.reports import Location, StoredMedia
from handlers.context import Context
from handlers.text import match_choice
from handlers.types import Kind

NEXT: Final = "→next"  # go to the step's `next` (or back to the summary while editing)
STAY: Final = "→stay"  # keep this step and say nothing (e.g. the rest of a photo album)
REASK: Final = "→reask"  # keep this step and ask it again (its question reflects the new state)
DONE: Final = "→done"  # the conversation is over; the draft has been deleted
BACK_KEY: Final = "back"
CANCEL_KEY: Final = "cancel"


@dataclass(frozen=True)
class Answer:
    choice: str | None = None
    text: str | None = None
    location: Location | None = None
    media: StoredMedia | None = None
    album_id: str | None = None


class Rejected(Exception):
    """Raised by a step's `save`: the text says why; the step is asked again."""


def typed_text(ctx: Context, text: str | None, limit: int) -> str:
    """A typed answer, trimmed; refused (with the reason) when empty or longer than `limit`."""
    cleaned = (text or "").strip()
    if not cleaned:
        raise Rejected(ctx.t("common.not_understood"))
    if len(cleaned) > limit:
        raise Rejected(ctx.t("common.too_long", length=len(cleaned), limit=limit))
    return cleaned


@dataclass(frozen=True)
class Step:
    name: str
    question: Callable[[Context, Draft], str]
    options: Callable[[Context, Draft], list[Choice]]
    save: Callable[[Context, Draft, Answer], Awaitable[str]]
    next: str | None
    takes: frozenset[Kind] = frozenset()  # what else than a choice the step takes
    help_key: str = ""
    back: str | None = None  # None: Back leaves the conversation (the draft is kept)
    request_location: bool = False
    text_refusal: str = "common.choose_from_list"  # said when typed text names no option


def draft_token(draft: Draft) -> str:
    """Tells drafts apart, so a button left over from an earlier report is recognised as old."""
    return format(int(draft.created_at.timestamp() * 1000) % 36**6, "x")


def payload(draft: Draft, key: str) -> str:
    # The draft and the step travel with the button: a button of another draft or step is from
    # an old message. Buttons of the same step stay good ("Xong" under any "photo received").
    return f"s:{draft_token(draft)}:{draft.step}:{key}"


def parse_payload(data: str) -> tuple[str, str, str] | None:
    parts = data.split(":", 3)
    if len(parts) != 4 or parts[0] != "s" or not all(parts[1:]):
        return None
    return parts[1], parts[2], parts[3]


class Conversation:
    """One table of steps, run over a stored draft."""

    def __init__(
        self, flow: str, steps: Mapping[str, Step], on_leave: Callable[[Context, str], None],
        *, keeps_draft_on_leave: bool = True, cancelled_key: str = "common.cancelled",
    ):
        self.flow = flow
        self.steps = steps
        self._on_leave = on_leave
        # A report being written is kept when she steps out; a staff action is simply dropped.
        self._keeps_draft = keeps_draft_on_leave
        self._cancelled_key = cancelled_key

    def choices(self, ctx: Context, draft: Draft) -> list[Choice]:
        step = self.steps[draft.step]
        keys = [*step.options(ctx, draft)]
        if step.name != "resume":
            keys += [
                Choice(BACK_KEY, ctx.t("common.back")),
                Choice(CANCEL_KEY, ctx.t("common.cancel")),
            ]
        return keys

    def ask(self, ctx: Context, draft: Draft, prefix: str = "") -> None:
        step = self.steps[draft.step]
        text = step.question(ctx, draft)
        rendered = tuple(
            Choice(payload(draft, c.payload), c.label) for c in self.choices(ctx, draft)
        )
        location = step.request_location and ctx.incoming.channel in LOCATION_CHANNELS
        ctx.say(f"{prefix}\n{text}" if prefix else text, rendered, request_location=location)

    def help(self, ctx: Context, draft: Draft) -> None:
        step = self.steps[draft.step]
        self.ask(ctx, draft, prefix=ctx.t(step.help_key) if step.help_key else "")

    async def handle(self, ctx: Context, draft: Draft) -> None:
        answer = self._interpret(ctx, draft)
        if answer is None:
            return
        if answer.choice == CANCEL_KEY or (answer.choice == BACK_KEY and self._leaves(draft)):
            await self.cancel(ctx, draft)
            return
        if answer.choice == BACK_KEY:
            await self._back(ctx, draft)
            return
        step = self.steps[draft.step]
        try:
            outcome = await step.save(ctx, draft, answer)
        except Rejected as rejection:
            self.ask(ctx, draft, prefix=str(rejection))
            return
        await self._move(ctx, draft, step, outcome)

    async def cancel(self, ctx: Context, draft: Draft) -> None:
        await ctx.uow.drafts.delete(draft.person_id)
        self._on_leave(ctx, ctx.t(self._cancelled_key))

    def _leaves(self, draft: Draft) -> bool:
        """Back on a first step of a flow that is not kept: the same as Cancel."""
        step = self.steps[draft.step]
        return step.back is None and not draft.data.get("editing") and not self._keeps_draft

    async def goto(self, ctx: Context, draft: Draft, step_name: str) -> None:
        draft.step = step_name
        await self._store(ctx, draft)
        self.ask(ctx, draft)

    async def _move(self, ctx: Context, draft: Draft, step: Step, outcome: str) -> None:
        if outcome == DONE:
            return
        if outcome in (STAY, REASK):
            await self._store(ctx, draft)
            if outcome == REASK:
                self.ask(ctx, draft)
            return
        if outcome == NEXT:
            editing = draft.data.pop("editing", False)
            outcome = "summary" if editing else (step.next or "summary")
        await self.goto(ctx, draft, outcome)

    async def _back(self, ctx: Context, draft: Draft) -> None:
        step = self.steps[draft.step]
        target = "summary" if draft.data.pop("editing", False) else step.back
        if target is None:
            draft.data["parked"] = True  # typed numbers now answer the menu shown below
            await self._store(ctx, draft)
            self._on_leave(ctx, ctx.t("common.left_draft"))
            return
        await self.goto(ctx, draft, target)

    async def _store(self, ctx: Context, draft: Draft) -> None:
        draft.revision += 1
        draft.updated_at = ctx.now
        await ctx.uow.drafts.save(draft)

    def _interpret(self, ctx: Context, draft: Draft) -> Answer | None:
        """The answer the incoming event gives to the current step, or None after explaining."""
        incoming, step = ctx.incoming, self.steps[draft.step]
        choices = self.choices(ctx, draft)
        if incoming.kind is Kind.CHOICE:
            return self._pressed(ctx, draft, choices)
        if incoming.kind is Kind.TEXT:
            typed = match_choice(incoming.text, choices)
            if typed is not None:
                return Answer(choice=typed.payload)
            if Kind.TEXT in step.takes:
                return Answer(text=incoming.text)
            self.ask(ctx, draft, prefix=ctx.t(step.text_refusal, count=len(choices)))
            return None
        if incoming.kind in step.takes:
            return Answer(
                location=incoming.location, media=incoming.media, album_id=incoming.album_id
            )
        self.ask(ctx, draft, prefix=ctx.t(_REFUSALS.get(incoming.kind, "common.unsupported")))
        return None

    def _pressed(self, ctx: Context, draft: Draft, choices: list[Choice]) -> Answer | None:
        parsed = parse_payload(ctx.incoming.payload)
        if parsed is not None and (parsed[0], parsed[1]) != (draft_token(draft), draft.step):
            self.ask(ctx, draft, prefix=ctx.t("common.stale_button"))
            return None
        if parsed is None or all(c.payload != parsed[2] for c in choices):
            self.ask(ctx, draft, prefix=ctx.t("common.invalid_choice"))
            return None
        return Answer(choice=parsed[2])


LOCATION_CHANNELS: Final = frozenset({"telegram"})

_REFUSALS: Final = {
    Kind.PHOTO: "common.photo_not_now",
    Kind.VOICE: "common.voice_not_now",
    Kind.LOCATION: "common.location_not_now",
    Kind.MEDIA_TOO_LARGE: "common.media_too_large",
    Kind.MEDIA_FAILED: "common.media_failed",
}
