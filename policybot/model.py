"""The pipeline's nouns. Frozen: stages pass them along, never mutate them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

SEVERITIES = ("low", "normal", "high", "urgent")
NOTICE = "notice:"   # rule id prefix of the bot's own messages (e.g. notice:mute-ended)
FIELDS = ("title", "summary", "content")


@dataclass(frozen=True, slots=True)
class Feed:
    id: str
    url: str                      # http(s) URL or a local file path
    every: float                  # poll interval, seconds
    tags: tuple[str, ...] = ()
    backfill: float | None = 86400.0   # seconds; None = alert on everything ("all" or 0)
    title: str | None = None      # display name; defaults to id


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str                      # final URL after redirects (or the file path)
    status: int                   # 200, 304 (not modified); files report 200
    body: bytes                   # empty on 304
    headers: dict[str, str] = field(default_factory=dict)   # lower-case names
    etag: str | None = None
    last_modified: str | None = None
    permanent_redirect: str | None = None   # new URL when a 301/308 was followed

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True, slots=True)
class Item:
    feed_id: str
    item_id: str                  # guid, else link, else hash(title, link)
    title: str                    # plain text
    link: str | None              # absolute http(s) or None
    summary: str                  # plain text, HTML stripped, entities decoded
    content: str                  # plain text
    published: datetime | None    # aware UTC

    @property
    def key(self) -> str:
        """Stable identity of the item across polls and restarts."""
        return f"{self.feed_id}\x1f{self.item_id}"

    def text(self, name: str) -> str:
        return str(getattr(self, name))


@dataclass(frozen=True, slots=True)
class Hit:
    term: str                     # the alias as written in the rules (e.g. "export licence")
    entity: str | None            # "$rare-earths" when the term came from an entity, else None
    field: str                    # "title" | "summary" | "content"
    start: int                    # span in the ORIGINAL field text of the item
    end: int


@dataclass(frozen=True, slots=True)
class Match:
    rule_id: str
    title: str
    severity: str                 # one of SEVERITIES
    hits: tuple[Hit, ...]         # positive terms that made the rule hold, in text order


@dataclass(frozen=True, slots=True)
class Alert:
    """One outbox row: one item for one destination."""

    alert_id: str                 # alert_key(item, destination): a resend is harmless
    destination: str              # "trade-desk", "telegram:123456789", "slack:C0123"
    item: Item
    matches: tuple[Match, ...]    # every rule the item matched for this destination
    feed_title: str = ""          # the source as shown to people
    story: str = ""               # the story id (its first item's key); "" when not grouped
    later: bool = False           # a later report of a story this destination already got

    @property
    def notice(self) -> str | None:
        """The ready-made text (in the destination platform's markup) of a notice, else None.
        A notice travels through the outbox like an alert; its text sits in item.content."""
        if self.matches and self.matches[0].rule_id.startswith(NOTICE):
            return self.item.content
        return None

    @property
    def severity(self) -> str:
        ranks = [SEVERITIES.index(m.severity) for m in self.matches if m.severity in SEVERITIES]
        return SEVERITIES[max(ranks)] if ranks else "normal"


def alert_key(item: Item, destination: str) -> str:
    return hashlib.sha256(f"{item.key}\x1e{destination}".encode()).hexdigest()[:32]


def notice_alert(destination: str, kind: str, text: str, now: datetime) -> Alert:
    """A notice (the bot's own message, `text` in the destination platform's markup) as an
    outbox row: rule id `notice:<kind>`, one per destination, kind and moment."""
    item = Item(feed_id="policybot", item_id=f"{NOTICE}{kind}:{now.timestamp():.3f}",
                title=kind, link=None, summary="", content=text, published=now)
    match = Match(rule_id=f"{NOTICE}{kind}", title=kind, severity="normal", hits=())
    return Alert(alert_id=alert_key(item, destination), destination=destination, item=item,
                 matches=(match,), feed_title="policybot")
