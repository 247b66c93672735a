"""The story index in the state database (a Store mixin): identities of the items seen,
each grouped item's story and signature, a story's first message per destination and the
later reports folded under it. Written inside the poll's one transaction (`record_stories`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import NamedTuple

from policybot.stories.features import Signature
from policybot.stories.group import Candidate

_SETS = ("tokens", "title_tokens", "numbers", "terms", "cues", "text_cues", "keys", "plain",
         "concepts", "title_concepts", "gloss")


@dataclass(slots=True)
class StoryRecord:
    """What one poll adds to the index."""

    identities: list[tuple[str, str]] = field(default_factory=list)        # (ident, item key)
    stories: list[tuple[str, str, Signature]] = field(default_factory=list)  # (key, story, sig)
    firsts: list[tuple[str, str, str]] = field(default_factory=list)         # (dest, story, alert id)
    laters: list[tuple[str, str, str, str]] = field(default_factory=list)    # (alert id, dest, story, source)


def sig_to_json(sig: Signature) -> str:
    data = {f.name: getattr(sig, f.name) for f in fields(sig) if f.init}   # what it derives is not stored
    for name in _SETS:
        data[name] = sorted(data[name])
    return json.dumps(data, ensure_ascii=False)


def sig_from_json(text: str) -> Signature:
    data = json.loads(text)
    for name in _SETS:
        data[name] = frozenset(data.get(name, ()))
    return Signature(**data)


class FirstMessage(NamedTuple):
    """A story's first message in a destination."""

    alert_id: str          # the story's first alert here
    ref: str | None        # its platform id once sent (Slack ts, Telegram message_id)
    state: str | None      # that alert's outbox state
    digest: bool = False   # it went inside a digest: `ref` is the digest part (never edited)


class StoriesMixin:
    db: sqlite3.Connection

    def known_identities(self, idents: Sequence[str]) -> set[str]:
        known: set[str] = set()
        for start in range(0, len(idents), 500):
            chunk = idents[start:start + 500]
            rows = self.db.execute(f"SELECT ident FROM identities WHERE ident IN "
                                   f"({','.join('?' * len(chunk))})", chunk)
            known.update(r[0] for r in rows)
        return known

    def story_candidates(self, since: float) -> list[Candidate]:
        rows = self.db.execute("SELECT story, signature FROM stories WHERE seen_at >= ? "
                               "ORDER BY seen_at", (since,))
        return [Candidate(r[0], sig_from_json(r[1])) for r in rows]

    def stories_reached(self, destination: str, stories: Sequence[str]) -> set[str]:
        if not stories:
            return set()
        rows = self.db.execute(f"SELECT story FROM story_messages WHERE destination = ? AND story IN "
                               f"({','.join('?' * len(stories))})", (destination, *stories))
        return {r[0] for r in rows}

    def record_stories(self, record: StoryRecord, now: float) -> None:
        """Inside the poll's transaction (Store.commit_poll)."""
        self.db.executemany("INSERT OR IGNORE INTO identities(ident, item_key, seen_at) VALUES (?,?,?)",
                            [(i, k, now) for i, k in record.identities])
        self.db.executemany("INSERT OR IGNORE INTO stories(item_key, story, seen_at, signature) "
                            "VALUES (?,?,?,?)", [(k, s, sig.when, sig_to_json(sig))
                                                 for k, s, sig in record.stories])
        self.db.executemany("INSERT OR IGNORE INTO story_messages(destination, story, alert_id, "
                            "created) VALUES (?,?,?,?)", [(*f, now) for f in record.firsts])
        self.db.executemany("INSERT OR IGNORE INTO story_reports(alert_id, destination, story, source, "
                            "created) VALUES (?,?,?,?,?)", [(*x, now) for x in record.laters])

    def story_first(self, destination: str, story: str) -> FirstMessage | None:
        """The story's first message here (its alert, platform ref, outbox state), or None."""
        row = self.db.execute(
            "SELECT m.alert_id, m.ref, o.state, m.digest FROM story_messages m LEFT JOIN outbox o "
            "ON o.alert_id = m.alert_id WHERE m.destination = ? AND m.story = ?",
            (destination, story)).fetchone()
        return FirstMessage(row[0], row[1], row[2], bool(row[3])) if row else None

    def set_story_ref(self, destination: str, story: str, ref: str) -> None:
        self.db.execute("UPDATE story_messages SET ref = ?, digest = 0 WHERE destination = ? "
                        "AND story = ?", (ref, destination, story))

    def set_digest_ref(self, destination: str, firsts: Sequence[tuple[str, str]], ref: str) -> None:
        """`ref`, a digest part, is the first message of each (story, alert id) in `firsts`
        whose story has that alert as its first report here; marked: never edited."""
        self.db.executemany("UPDATE story_messages SET ref = ?, digest = 1 WHERE destination = ? "
                            "AND story = ? AND alert_id = ?",
                            [(ref, destination, story, alert_id) for story, alert_id in firsts])

    def story_sources(self, destination: str, story: str) -> list[str]:
        """The outlets of the later reports sent (or folded) here, first reported first."""
        rows = self.db.execute(
            "SELECT r.source FROM story_reports r JOIN outbox o ON o.alert_id = r.alert_id "
            "WHERE r.destination = ? AND r.story = ? AND o.state IN ('sent', 'folded') "
            "ORDER BY r.created, r.alert_id", (destination, story))
        return list(dict.fromkeys(r[0] for r in rows))

    def folded_counts(self) -> dict[str, int]:
        rows = self.db.execute("SELECT destination, COUNT(*) FROM outbox WHERE state = 'folded' "
                               "GROUP BY destination")
        return dict(rows.fetchall())
