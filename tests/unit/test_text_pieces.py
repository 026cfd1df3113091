"""Long texts cut into pieces a platform takes; media links that cannot be stretched."""

from __future__ import annotations

from bot.zalo.media_links import MediaLinks
from handlers.text import split_text, utf16_length

SHA = "a" * 64


def test_no_piece_of_a_long_text_is_empty() -> None:
    for text in ("  " + "x" * 2100, " \n" + "y" * 2100, "   " + "lời " * 700, "x" * 4500):
        pieces = split_text(text, 2000)
        assert all(piece and len(piece) <= 2000 for piece in pieces), repr(text[:8])
    assert split_text("", 2000) == [""]


def test_a_link_with_an_expiry_of_thousands_of_digits_is_refused() -> None:
    links = MediaLinks("https://dlxh.example", b"k" * 32, 600, clock=lambda: 1_000_000.0)
    good = links.url(SHA)
    exp, sig = good.split("exp=")[1].split("&sig=")
    assert links.allows(SHA, exp, sig)
    assert not links.allows(SHA, "9" * 5000, sig)  # no error: just not a link of ours


def test_telegram_pieces_count_an_emoji_as_two() -> None:
    """Telegram measures 4096 in UTF-16 code units: 3,000 "😀 " are 9,000 of them."""
    text = "😀 " * 3000
    pieces = split_text(text, 4096, utf16=True)
    assert all(utf16_length(piece) <= 4096 for piece in pieces)
    assert "".join(pieces).replace(" ", "") == "😀" * 3000  # cut between words, nothing lost
    assert len(split_text(text, 4096)) == 2  # counted in characters, the first is too long
    assert utf16_length(split_text(text, 4096)[0]) > 4096
    assert split_text("😀" * 5, 4, utf16=True) == ["😀😀", "😀😀", "😀"]  # one long word
