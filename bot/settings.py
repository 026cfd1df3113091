"""Configuration from the environment (names fixed by DESIGN §8)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/dlxh.db"

# Values copied from examples and templates rather than from BotFather or a password manager.
# Matched against the whole value (and a token's part after the colon), so a real random token
# that merely contains "xxx" is not refused.
_PLACEHOLDERS = re.compile(
    r"^(changeme|change[-_]me|replace[-_]?me|your[-_ ]?((bot|zalo|telegram|media|link|webhook)"
    r"[-_ ]?)*(token|secret|key)|placeholder|"
    r"example|todo|x+|<.*>|secret|token|test|ABC-DEF1234ghIkl-zyx57W2v1u123ew11)$",
    re.IGNORECASE,
)
_TELEGRAM_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def _refuse_placeholder(name: str, value: SecretStr | None) -> None:
    if value is None:
        return
    raw = value.get_secret_value()
    if any(_PLACEHOLDERS.match(part) for part in (raw, raw.split(":", 1)[-1])):
        raise ValueError(f"{name} looks like a placeholder; set the real value or unset it")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    org_config: Path | None = None
    media_dir: Path = Path("./data/media")
    media_max_bytes: int = 20 * 1024 * 1024
    language: str = "vi"
    log_level: str = "INFO"

    telegram_bot_token: SecretStr | None = None
    telegram_api_base: str = "https://api.telegram.org"
    telegram_mode: Literal["polling", "webhook"] = "polling"
    telegram_webhook_secret: SecretStr | None = None
    telegram_bot_username: str | None = None
    telegram_rate: float = 25.0
    telegram_per_chat_rate: float = 1.0
    # A conversation reply and the menu under it may leave together; the average stays 1/s.
    telegram_per_chat_burst: float = 3.0

    zalo_bot_token: SecretStr | None = None
    zalo_api_base: str = "https://bot-api.zaloplatforms.com"
    zalo_mode: Literal["polling", "webhook"] = "polling"
    zalo_webhook_secret: SecretStr | None = None
    zalo_rate: float = 10.0
    zalo_per_chat_rate: float = 1.0

    # A Telegram group where board officers also receive new report cards.
    board_chat_id: str | None = None

    public_url: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 8080

    # Photos reach Zalo as signed, expiring links to PUBLIC_URL/media/...; the signing key is
    # derived from ZALO_BOT_TOKEN unless MEDIA_LINK_KEY is set (links then survive a new token).
    media_link_key: SecretStr | None = None
    media_link_ttl_seconds: int = 7 * 24 * 3600
    zalo_per_chat_burst: float = 3.0

    # The sweeps (docs/escalation.md): escalation ladder and abandoned drafts.
    sweep_seconds: float = 60.0
    draft_remind_hours: float = 24.0
    draft_discard_days: float = 7.0
    # Cases whose answer deadline is this close are read to see whether their reminder is due.
    reminder_lookahead_days: float = 14.0

    @field_validator(
        "telegram_bot_token",
        "telegram_webhook_secret",
        "zalo_bot_token",
        "zalo_webhook_secret",
        "board_chat_id",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("telegram_rate", "telegram_per_chat_rate", "zalo_rate", "zalo_per_chat_rate")
    @classmethod
    def _positive_rate(cls, value: float) -> float:
        # `inf` is allowed: no pacing (benchmarks measure the processing alone with it).
        if not value > 0:
            raise ValueError("a rate is messages per second and must be positive (or inf)")
        return value

    @field_validator(
        "sweep_seconds", "draft_remind_hours", "draft_discard_days", "reminder_lookahead_days"
    )
    @classmethod
    def _positive_span(cls, value: float) -> float:
        if not (math.isfinite(value) and value > 0):
            raise ValueError("must be a positive number")
        return value

    @field_validator("sweep_seconds")
    @classmethod
    def _sane_sweep(cls, value: float) -> float:
        if not 1 <= value <= 3600:
            raise ValueError("the sweep runs every 1 to 3600 seconds")
        return value

    @field_validator("http_port")
    @classmethod
    def _port(cls, value: int) -> int:
        if not 0 <= value <= 65535:  # 0: any free port (tests)
            raise ValueError("a TCP port is 1–65535")
        return value

    @field_validator("media_link_ttl_seconds", "media_max_bytes")
    @classmethod
    def _positive_whole(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("must be a positive whole number")
        return value

    @field_validator("board_chat_id")
    @classmethod
    def _numeric_chat(cls, value: str | None) -> str | None:
        if value is not None and not value.strip().lstrip("-").isdecimal():
            raise ValueError("the group's numeric id, like -1001234567890 (not an @name)")
        return None if value is None else value.strip()

    @field_validator("telegram_per_chat_burst", "zalo_per_chat_burst")
    @classmethod
    def _whole_burst(cls, value: float) -> float:
        if not value >= 1:
            raise ValueError("a burst must be at least 1 message")
        return value

    @field_validator("media_link_key", mode="before")
    @classmethod
    def _blank_key_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        # Imported here: the settings module stays cheap to import for every command.
        from handlers.i18n import available_languages

        known = available_languages()
        wanted = value.strip().lower()
        if any(mark in wanted for mark in ":_.@"):
            # The system's gettext list of the same name ("en_US:en"), not a choice made for
            # the bot: the bot stays in its default language.
            return "vi"
        if wanted not in known:
            raise ValueError(f"{value!r} is not a language of the bot ({', '.join(known)})")
        return wanted

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        levels = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
        if value.strip().upper() not in levels:
            raise ValueError(f"{value!r} is not one of {', '.join(levels)}")
        return value.strip().upper()

    @model_validator(mode="after")
    def _drafts_reminded_before_discarded(self) -> Settings:
        if self.draft_discard_days * 24 <= self.draft_remind_hours:
            raise ValueError(
                "DRAFT_DISCARD_DAYS must be longer than DRAFT_REMIND_HOURS: a report being "
                "written is reminded of before it is discarded"
            )
        return self

    @model_validator(mode="after")
    def _check_secrets(self) -> Settings:
        _refuse_placeholder("MEDIA_LINK_KEY", self.media_link_key)
        _refuse_placeholder("TELEGRAM_BOT_TOKEN", self.telegram_bot_token)
        _refuse_placeholder("TELEGRAM_WEBHOOK_SECRET", self.telegram_webhook_secret)
        _refuse_placeholder("ZALO_BOT_TOKEN", self.zalo_bot_token)
        _refuse_placeholder("ZALO_WEBHOOK_SECRET", self.zalo_webhook_secret)
        if self.zalo_mode == "webhook" and self.zalo_bot_token is not None:
            zalo_secret = self.zalo_webhook_secret
            if zalo_secret is None or not 8 <= len(zalo_secret.get_secret_value()) <= 256:
                raise ValueError(
                    "ZALO_WEBHOOK_SECRET (8–256 characters) is required when ZALO_MODE=webhook"
                )
        token = self.telegram_bot_token
        if token is not None and not _TELEGRAM_TOKEN.match(token.get_secret_value()):
            raise ValueError("TELEGRAM_BOT_TOKEN must look like 123456789:AA... (from @BotFather)")
        if self.telegram_mode == "webhook" and token is not None:
            secret = self.telegram_webhook_secret
            if secret is None:
                raise ValueError("TELEGRAM_WEBHOOK_SECRET is required when TELEGRAM_MODE=webhook")
            if not _WEBHOOK_SECRET.match(secret.get_secret_value()):
                raise ValueError("TELEGRAM_WEBHOOK_SECRET: 1–256 characters of A-Z a-z 0-9 _ -")
        return self

    def secrets(self) -> list[str]:
        """Every secret value, for the log filter that keeps them out of log lines."""
        values = [
            self.telegram_bot_token,
            self.telegram_webhook_secret,
            self.zalo_bot_token,
            self.zalo_webhook_secret,
            self.media_link_key,
        ]
        found = [v.get_secret_value() for v in values if v is not None]
        # The part after the colon is the real secret of a Telegram token.
        return found + [s.split(":", 1)[1] for s in found if ":" in s]
