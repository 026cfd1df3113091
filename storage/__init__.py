"""SQL storage (SQLAlchemy 2 async, SQLite or PostgreSQL) and the content-addressed media store.

Importing this package builds nothing: call `Database.connect(url)` from the composition root.
"""

from storage.database import DEFAULT_URL, Database
from storage.media import FileMediaStore, MediaTooLarge
from storage.migrate import upgrade_to_head
from storage.uow import SqlUnitOfWork

__all__ = [
    "DEFAULT_URL",
    "Database",
    "FileMediaStore",
    "MediaTooLarge",
    "SqlUnitOfWork",
    "upgrade_to_head",
]
