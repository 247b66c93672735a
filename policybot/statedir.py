"""Whether the state folder can be written: `check`, `once`, `run` and `send-test` ask first,
so an unwritable place is one clear line naming the path, never a traceback from SQLite."""

from __future__ import annotations

import os
import tempfile

from policybot.config import Config


def storage_errors(config: Config) -> list[str]:
    """Whether the state database can be created and written, naming the path when not.

    Changes nothing: the nearest existing folder must take a new (anonymous, temporary) file,
    and an existing database must open for writing.
    """
    if config.storage_url:
        return database_errors(config)
    path = config.storage_path
    where = f"{config.path}: storage: cannot write the state database {path}"
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return [f"{where}: {folder} is not a folder"]
    try:
        if path.exists():
            if not path.is_file():
                return [f"{where}: it is not a regular file"]
            os.close(os.open(path, os.O_RDWR))
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return [f"{where}: {exc.strerror or exc}"]
    return []


def database_errors(config: Config) -> list[str]:
    """PostgreSQL: the server answers, and its schema is one this bot knows (or older: the
    first instance to start migrates it)."""
    from policybot.dialect import POSTGRES
    from policybot.pgconn import PgConnection, PgError
    from policybot.schema import MIGRATIONS

    where = f"{config.path}: storage: the database"
    try:
        db = PgConnection(str(config.storage_url))
        try:
            version = POSTGRES.schema_version(db)
        finally:
            db.close()
    except PgError as exc:
        return [unreachable(config, exc)]
    if version > len(MIGRATIONS):
        return [f"{where} has schema version {version}, newer than this bot's "
                f"{len(MIGRATIONS)}: upgrade the bot"]
    return []


def unreachable(config: Config, exc: Exception) -> str:
    """One line: the state database could not be read, naming where (a server: its host and
    database, never the user or password)."""
    if config.storage_url:
        from policybot.pgconn import server_of

        server = server_of(config.storage_url)
        return f"{config.path}: storage: the database at {server} does not answer: {exc}"
    return f"{config.path}: storage: cannot read the state database {config.storage_path}: {exc}"
