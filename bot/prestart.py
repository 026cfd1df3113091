"""The prestart step: migrations are applied before anything serves or reads the database.

Kept apart from `bot/serve.py` so that commands which only read or write the database
(`dlxh invite`, `dlxh report monthly`, ...) do not import aiogram: building its ~650 pydantic
models takes 5–7 s of CPU, longer than the command's own work.
"""

from __future__ import annotations

from bot.settings import Settings
from storage.migrate import upgrade_to_head


async def prestart(settings: Settings) -> None:
    """Apply migrations before anything serves (the database is the source of truth)."""
    await upgrade_to_head(settings.database_url)
