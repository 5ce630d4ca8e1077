"""What ``mlmon db upgrade`` and ``mlmon db current`` run; the CLI only parses arguments and prints.

Each function returns the line to print and raises ``SchemaVersionError`` (schema newer than the code),
``StoreUnavailableError`` (database unreachable) or ``InputError`` (bad URL) for the CLI to turn into an
exit code.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from mlmon.store import connect, database_url_from_env, migrate

__all__ = ["db_current", "db_upgrade", "redact_url"]


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***``, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def db_upgrade(url: str | None = None) -> str:
    """Applies pending migrations to the database at ``url`` (default: ``MLMON_DATABASE_URL`` or
    ``sqlite:///./mlmon.db``).

    Returns:
        A one-line summary, e.g. ``"sqlite:///./mlmon.db: upgraded from 0 to 1"``.
    """
    target = url or database_url_from_env()
    with connect(target) as store:
        before = migrate.current(store)
        applied = migrate.upgrade(store)
        after = migrate.current(store)
    shown = redact_url(target)
    if not applied:
        return f"{shown}: schema at version {after}, up to date"
    return f"{shown}: upgraded from {before} to {after}"


def db_current(url: str | None = None) -> str:
    """Reports the schema version of the database at ``url`` against this code's.

    Returns:
        A one-line summary, e.g. ``"...: schema at version 1 (this mlmon: 1), up to date"``.
    """
    target = url or database_url_from_env()
    with connect(target) as store:
        found = migrate.current(store)
    known = migrate.latest(store.dialect)
    if found < known:
        state = "behind: run `mlmon db upgrade`"
    elif found > known:
        state = "ahead of this mlmon: upgrade mlmon"
    else:
        state = "up to date"
    return f"{redact_url(target)}: schema at version {found} (this mlmon: {known}), {state}"
