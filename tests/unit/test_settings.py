"""Settings refuse what would fail later, and placeholders; they accept real-looking values."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import Settings

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "token", ["changeme", "123456:your-bot-token", "<token>", "123:xxxxxx", "TODO",
              "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"],
)
def test_placeholder_tokens_are_refused(token: str) -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        settings(telegram_bot_token=token)


@pytest.mark.parametrize("token", [TOKEN, "123456:TEST-token-abcdefghijklmnopqrstu",
                                   "42:fake-xxx-token", "1:exampleABC"])
def test_real_looking_tokens_are_accepted(token: str) -> None:
    assert settings(telegram_bot_token=token).telegram_bot_token is not None


def test_a_token_not_shaped_like_botfathers_is_refused() -> None:
    with pytest.raises(ValidationError, match="BotFather"):
        settings(telegram_bot_token="just-words")


def test_webhook_mode_needs_a_secret() -> None:
    with pytest.raises(ValidationError, match="TELEGRAM_WEBHOOK_SECRET"):
        settings(telegram_bot_token=TOKEN, telegram_mode="webhook")
    ok = settings(telegram_bot_token=TOKEN, telegram_mode="webhook",
                  telegram_webhook_secret="s3cret_value-1")
    assert ok.telegram_webhook_secret is not None


def test_a_zalo_webhook_secret_has_eight_characters_at_least() -> None:
    with pytest.raises(ValidationError, match="ZALO_WEBHOOK_SECRET"):
        settings(zalo_bot_token="12345:abcdefgh", zalo_mode="webhook", zalo_webhook_secret="short")


def test_secrets_lists_what_the_log_filter_hides() -> None:
    secrets = settings(telegram_bot_token=TOKEN).secrets()
    assert TOKEN in secrets and TOKEN.split(":")[1] in secrets


def test_empty_values_mean_unset() -> None:
    assert settings(telegram_bot_token="", board_chat_id="").telegram_bot_token is None


@pytest.mark.parametrize(("name", "value"), [
    ("media_link_key", "changeme"), ("zalo_bot_token", "your-zalo-token"),
    ("media_link_key", "your-media-key"),
])
def test_other_placeholder_secrets_are_refused(name: str, value: str) -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        settings(**{name: value})


def test_language_and_log_level_are_checked() -> None:
    assert settings(language="EN").language == "en"
    # The system's gettext list of the same name is no choice made for the bot.
    assert settings(language="en_US:en").language == "vi"
    assert settings(log_level="debug").log_level == "DEBUG"
    with pytest.raises(ValidationError, match="not a language of the bot"):
        settings(language="fr")
    with pytest.raises(ValidationError, match="LOUD"):
        settings(log_level="LOUD")


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("sweep_seconds", 0, "positive number"), ("sweep_seconds", float("nan"), "positive"),
        ("sweep_seconds", float("inf"), "positive"), ("sweep_seconds", 1e-9, "1 to 3600"),
        ("http_port", 99999, "1–65535"), ("draft_discard_days", 0, "positive"),
        ("draft_remind_hours", -1, "positive"), ("reminder_lookahead_days", 0, "positive"),
        ("media_link_ttl_seconds", 0, "positive whole"),
        ("board_chat_id", "@bandtg", "numeric id"),
    ],
)
def test_values_that_would_fail_later_are_refused(name: str, value: object, said: str) -> None:
    with pytest.raises(ValidationError, match=said):
        settings(**{name: value})


def test_drafts_are_reminded_of_before_they_are_discarded() -> None:
    with pytest.raises(ValidationError, match="longer than DRAFT_REMIND_HOURS"):
        settings(draft_remind_hours=48, draft_discard_days=1)
    assert settings(draft_remind_hours=12, draft_discard_days=1.5).draft_discard_days == 1.5
    assert settings(board_chat_id=" -1001234567890 ").board_chat_id == "-1001234567890"


def test_a_configuration_error_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    monkeypatch.setenv("TELEGRAM_RATE", "0")
    monkeypatch.setenv("HTTP_PORT", "abc")
    assert main(["units", "list"]) == 2
    error = capsys.readouterr().err
    assert "TELEGRAM_RATE: a rate is messages per second" in error
    assert "HTTP_PORT: Input should be a valid integer" in error


def test_refused_commands_leave_no_database_behind(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from bot.cli import main

    place = tmp_path / "mistyped" / "dlxh.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{place}")
    refused = {
        ("invite", "--role", "collaborator", "--unit", "nope"): "unknown unit 'nope'",
        ("invite", "--role", "collaborator", "--unit", "bo-de", "--days", "0"): "--days must",
        ("invite", "--role", "collaborator", "--unit", "bo-de", "--days", "999999999"): "--days",
        ("reports", "list", "--json"): "no database at",
        ("report", "monthly", "--month", "2026/10"): "not a month like 2026-10",
        ("report", "monthly", "--month", "9999-12"): "the year must be between",
        ("report", "monthly", "--month", "2026-10", "--xlsx", str(tmp_path / "no" / "x.xlsx")):
            "no directory to write",
    }
    for argv, said in refused.items():
        assert main(list(argv)) == 1, argv
        assert said in capsys.readouterr().err
    assert not place.parent.exists()


def test_an_unreachable_database_is_one_line_without_its_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://dlxh:s3cret-pw@127.0.0.1:9/dlxh")
    assert main(["reports", "list"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("dlxh: cannot use the database at postgresql+asyncpg://dlxh:***@")
    assert "s3cret-pw" not in error and "Traceback" not in error
