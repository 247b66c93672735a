"""What differs between the two backends, in one small object: the domain code writes its SQL
once (SQLite's spelling, `?` placeholders) and the dialect adapts the few constructs that must
differ: placeholders, `INSERT OR IGNORE`, `BEGIN IMMEDIATE`, `json_extract`, `json_each` of a
JSON array parameter, `instr`, SQLite's `INDEXED BY` hint (dropped), column types, the schema
version and the migration lock. SQLite's dialect changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

MIGRATION_LOCK = 0x706F6C6963790001   # advisory lock key: one instance migrates at a time

_PLACEHOLDER = re.compile(r"\?(\d*)")
_JSON_PATH = re.compile(r"json_extract\(([\w.]+), '\$\.(\w+)\.(\w+)'\)")
_IGNORE = re.compile(r"^\s*INSERT OR IGNORE INTO", re.IGNORECASE)
_JSON_EACH = re.compile(r"\bjson_each\((\?\d*)\)")     # of a parameter: a JSON array
_INDEXED_BY = re.compile(r"\s+INDEXED BY \w+")            # SQLite's planner hint
_INSTR = re.compile(r"\binstr\(")                          # same arguments as strpos


def is_url(location: object) -> bool:
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


@dataclass(frozen=True)
class Dialect:
    name: str
    greatest: str                    # two-argument maximum: SQLite's scalar MAX, GREATEST
    _cache: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def sql(self, text: str) -> str:
        """The statement in this backend's spelling (translated once, then cached)."""
        if self.name == "sqlite":
            return text
        done = self._cache.get(text)
        if done is None:
            done = self._cache[text] = _pg_statement(text)
        return done

    def whole(self, expr: str) -> str:
        """A non-negative number's whole part, as an integer (PostgreSQL's CAST rounds)."""
        if self.name == "sqlite":
            return f"CAST({expr} AS INTEGER)"
        return f"CAST(FLOOR({expr}) AS INTEGER)"

    def ddl(self, text: str) -> str:
        """A migration statement: SQLite's types and table options in this backend's spelling."""
        if self.name == "sqlite":
            return text
        text = re.sub(r"\bREAL\b", "DOUBLE PRECISION", text)
        text = re.sub(r"\)\s*WITHOUT ROWID", ")", text)
        return _pg_statement(text)

    def schema_version(self, db: Any) -> int:
        if self.name == "sqlite":
            return int(db.execute("PRAGMA user_version").fetchone()[0])
        # read only: CREATE TABLE IF NOT EXISTS is not safe against a second instance starting
        # at the same moment (pg_type's unique index); the table is made under the lock
        if db.execute("SELECT to_regclass('schema_version')").fetchone()[0] is None:
            return 0
        row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def set_schema_version(self, db: Any, number: int) -> None:
        if self.name == "sqlite":
            db.execute(f"PRAGMA user_version = {int(number)}")
        else:
            db.execute("DELETE FROM schema_version")
            db.execute(f"INSERT INTO schema_version(version) VALUES ({int(number)})")

    def lock_schema(self, db: Any) -> None:
        """Inside the migration's transaction: the others wait (SQLite: BEGIN IMMEDIATE did)."""
        if self.name != "sqlite":
            db.execute(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")


def _pg_statement(text: str) -> str:
    ignore = bool(_IGNORE.match(text))
    if ignore:
        text = _IGNORE.sub("INSERT INTO", text, count=1)
    text = text.replace("BEGIN IMMEDIATE", "BEGIN")
    text = _JSON_PATH.sub(r"((\1)::jsonb->'\2'->>'\3')", text)
    text = _JSON_EACH.sub(r"json_array_elements_text(\1::json)", text)
    text = _INDEXED_BY.sub("", text)
    text = _INSTR.sub("strpos(", text)
    count = 0

    def number(match: re.Match[str]) -> str:
        nonlocal count
        if match.group(1):
            return f"${match.group(1)}"
        count += 1
        return f"${count}"

    text = _PLACEHOLDER.sub(number, text)
    return text + " ON CONFLICT DO NOTHING" if ignore else text


SQLITE = Dialect("sqlite", greatest="MAX")
POSTGRES = Dialect("postgresql", greatest="GREATEST")
