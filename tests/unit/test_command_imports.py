"""What the `dlxh` command line loads: commands that only touch the database stay quick."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_database_commands_do_not_load_aiogram() -> None:
    """Building aiogram's pydantic models takes 5–7 s of CPU: `dlxh invite` or `dlxh report
    monthly` paid it before every run (9.9 s for a refused month, now 1.4 s). Only `serve`,
    `chat` and asking Telegram for the bot's name load it."""
    probe = (
        "import sys; import bot.cli, bot.admin_commands, bot.broadcast_commands, bot.prestart; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('aiogram', 'aiohttp')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
