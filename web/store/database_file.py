"""The SQLite database file holds ticket secrets: it and its journal files are the server's user's only."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from web.data_dir import private_file

_COMPANIONS = ("-wal", "-shm", "-journal")


def sqlite_file(database_url: str) -> Path | None:
    """The database file of a SQLite URL; None for other databases and in-memory ones."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    if url.database.startswith("file:") or url.query.get("uri"):
        return None  # URI file names name their own modes
    return Path(url.database)


def secure_sqlite_file(database_url: str) -> None:
    """Create the database file 0600 before SQLite does (it would follow the umask, usually 0644), and
    make an existing one and its journal files 0600. SQLite gives new journal files the database's mode."""
    path = sqlite_file(database_url)
    if path is None or not path.parent.is_dir():
        return
    private_file(path)
    for suffix in _COMPANIONS:
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            private_file(companion)
