"""The intake conversation: how a collaborator files a report, at a glance.

| step        | asks                            | takes                           | next        |
|-------------|---------------------------------|---------------------------------|-------------|
| category    | which field (6 from the org)    | a category                      | ward        |
| ward        | which ward (hers first)         | a ward                          | place       |
| place       | where exactly                   | a shared location or an address | description |
| description | what happened                   | text (≤ 2000) or a voice note   | photos      |
| photos      | photos of the scene, then Xong  | 0–5 photos (albums too), Xong   | urgency     |
| urgency     | how urgent                      | normal / urgent / hot news      | summary     |
| summary     | everything, to check            | Send / Edit / Cancel            | (sent)      |
| edit        | which field to change           | a field                         | it, summary |
| resume      | continue the unfinished report? | continue / discard              | where it was |

Every step also takes Back, Cancel (`/huy`) and help (`/trogiup`); see docs/intake.md for the
diagram. The generic machinery (buttons, typed numbers, stale buttons) is in `handlers/engine.py`.
"""

from __future__ import annotations

from typing import Final

from handlers.engine import Conversation, Step
from handlers.intake_steps import (
    category_options,
    description_question,
    edit_options,
    photos_options,
    photos_question,
    place_question,
    resume_options,
    resume_question,
    save_category,
    save_description,
    save_edit,
    save_photo,
    save_place,
    save_resume,
    save_summary,
    save_urgency,
    save_ward,
    summary_options,
    summary_question,
    urgency_options,
    ward_options,
    ward_question,
)
from handlers.menu import show_menu
from handlers.types import Kind

FLOW: Final = "report"

STEPS: Final = {
    step.name: step
    for step in (
        Step(
            "category",
            lambda c, d: c.t("intake.category.ask"),
            category_options,
            save_category,
            next="ward",
            help_key="intake.category.help",
            back=None,
        ),
        Step(
            "ward",
            ward_question,
            ward_options,
            save_ward,
            next="place",
            help_key="intake.ward.help",
            back="category",
        ),
        Step(
            "place",
            place_question,
            lambda c, d: [],
            save_place,
            next="description",
            takes=frozenset({Kind.TEXT, Kind.LOCATION}),
            help_key="intake.place.help",
            back="ward",
            request_location=True,
        ),
        Step(
            "description",
            description_question,
            lambda c, d: [],
            save_description,
            next="photos",
            takes=frozenset({Kind.TEXT, Kind.VOICE}),
            help_key="intake.description.help",
            back="place",
        ),
        Step(
            "photos",
            photos_question,
            photos_options,
            save_photo,
            next="urgency",
            takes=frozenset({Kind.PHOTO}),
            help_key="intake.photos.help",
            back="description",
            text_refusal="intake.photos.text_instead",
        ),
        Step(
            "urgency",
            lambda c, d: c.t("intake.urgency.ask"),
            urgency_options,
            save_urgency,
            next="summary",
            help_key="intake.urgency.help",
            back="photos",
        ),
        Step(
            "summary",
            summary_question,
            summary_options,
            save_summary,
            next=None,
            help_key="intake.summary.help",
            back="urgency",
        ),
        Step(
            "edit",
            lambda c, d: c.t("intake.edit.ask"),
            edit_options,
            save_edit,
            next=None,
            help_key="intake.edit.help",
            back="summary",
        ),
        Step(
            "resume",
            resume_question,
            resume_options,
            save_resume,
            next=None,
            help_key="intake.resume.help",
            back=None,
        ),
    )
}

INTAKE: Final = Conversation(FLOW, STEPS, on_leave=show_menu)
