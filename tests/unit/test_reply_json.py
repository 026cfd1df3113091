"""An outbox row's payload: a reply survives the trip to JSON and back."""

from __future__ import annotations

from domain.messages import Choice, Reply


def test_a_reply_survives_json() -> None:
    reply = Reply("Bước 4/6", (Choice("s:1:back", "⬅️ Quay lại"),), photos=("ab" * 32,),
                  documents=(("cd" * 32, "bao-cao.xlsx"),))
    assert Reply.from_json(reply.to_json()) == reply


def test_taking_the_keyboard_away_is_stored_only_when_asked() -> None:
    noted = Reply("📍 Đã ghi địa chỉ: Ngõ 5", hide_keyboard=True)
    assert Reply.from_json(noted.to_json()) == noted
    assert "hide_keyboard" not in Reply("Bước 4/6").to_json()  # rows written before it read alike
    assert Reply.from_json({"text": "cũ"}) == Reply("cũ")
