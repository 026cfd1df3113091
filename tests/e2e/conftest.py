import pytest

from storage.database import Database


@pytest.fixture
def clean_database_url(database: Database, database_url: str) -> str:
    """`database_url`, emptied first (the `database` fixture truncates PostgreSQL's tables)."""
    return database_url
