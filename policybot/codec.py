"""Alerts as JSON text: the outbox's payload column."""

from __future__ import annotations

import json
from datetime import datetime

from policybot.model import Alert, Hit, Item, Match


def alert_to_json(alert: Alert) -> str:
    item = alert.item
    return json.dumps({
        "destination": alert.destination, "alert_id": alert.alert_id,
        "feed_title": alert.feed_title, "story": alert.story, "later": alert.later,
        "item": {"feed_id": item.feed_id, "item_id": item.item_id, "title": item.title,
                 "link": item.link, "summary": item.summary, "content": item.content,
                 "published": item.published.isoformat() if item.published else None},
        "matches": [{"rule_id": m.rule_id, "title": m.title, "severity": m.severity,
                     "hits": [[h.term, h.entity, h.field, h.start, h.end] for h in m.hits]}
                    for m in alert.matches],
    }, ensure_ascii=False)


def alert_from_json(text: str) -> Alert:
    data = json.loads(text)
    raw = data["item"]
    published = datetime.fromisoformat(raw["published"]) if raw["published"] else None
    item = Item(feed_id=raw["feed_id"], item_id=raw["item_id"], title=raw["title"],
                link=raw["link"], summary=raw["summary"], content=raw["content"],
                published=published)
    matches = tuple(Match(rule_id=m["rule_id"], title=m["title"], severity=m["severity"],
                          hits=tuple(Hit(*h) for h in m["hits"])) for m in data["matches"])
    return Alert(alert_id=data["alert_id"], destination=data["destination"], item=item,
                 matches=matches, feed_title=data.get("feed_title", ""),
                 story=data.get("story", ""), later=bool(data.get("later", False)))
