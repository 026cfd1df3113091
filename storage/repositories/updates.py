"""Incoming updates already handled (idempotent intake)."""

from __future__ import annotations

from datetime import datetime

from storage.models import ProcessedUpdateRow
from storage.repositories.base import PerDialect, SqlRepository

# ON CONFLICT DO NOTHING: on PostgreSQL a second transaction with the same key waits for the
# first and then inserts nothing, so two concurrent deliveries cannot both be "new".
_RECORD = PerDialect.build(ProcessedUpdateRow, lambda insert: insert.on_conflict_do_nothing())


class SqlProcessedUpdates(SqlRepository):
    async def record(self, channel: str, update_key: str, now: datetime) -> bool:
        result = await self._run_dialect(
            _RECORD, {"channel": channel, "update_key": update_key, "received_at": now}
        )
        return result.rowcount == 1
