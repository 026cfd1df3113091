"""How replies become outbox rows."""

from __future__ import annotations

from domain.messages import Choice, Reply
from handlers.service import outbox_parts


def test_photos_and_text_become_two_rows_so_a_retry_never_resends_photos() -> None:
    card = Reply("PA-2026-000001", (Choice("c:assign:PA-2026-000001", "Giao"),), photos=("a", "b"))
    photos, text = outbox_parts(card)
    assert (photos.text, photos.photos, photos.choices) == ("", ("a", "b"), ())
    assert (text.text, text.photos, text.choices) == (card.text, (), card.choices)


def test_a_reply_with_only_text_or_only_photos_stays_one_row() -> None:
    assert outbox_parts(Reply("xin chào")) == [Reply("xin chào")]
    assert outbox_parts(Reply("", photos=("a",))) == [Reply("", photos=("a",))]


def test_each_document_is_a_row_of_its_own() -> None:
    review = Reply("Báo cáo", photos=("chart",), documents=(("book", "a.xlsx"), ("list", "b.xlsx")))
    parts = outbox_parts(review)
    assert [(p.text, p.photos, p.documents) for p in parts] == [
        ("", ("chart",), ()), ("", (), (("book", "a.xlsx"),)), ("", (), (("list", "b.xlsx"),)),
        ("Báo cáo", (), ()),
    ]
