"""The store on both backends (SQLite, PostgreSQL): migrations, the one-transaction poll commit, the outbox."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from policybot.model import Alert, Hit, Item, Match, alert_key
from policybot.store import MIGRATIONS, Store, alert_from_json, alert_to_json


def item(n: int, feed: str = "f") -> Item:
    return Item(feed_id=feed, item_id=f"id-{n}", title=f"Title {n} 稀土", link=f"https://x/{n}",
                summary="s", content="c", published=datetime(2026, 11, 1, tzinfo=UTC))


def alert(it: Item, dest: str = "console") -> Alert:
    match = Match("r1", "Rule one", "high", (Hit("稀土", "$rare-earths", "title", 8, 10),))
    return Alert(alert_key(it, dest), dest, it, (match,), "Feed F")


def test_migrations_set_user_version_and_are_idempotent(state: str | Path) -> None:
    Store(state).close()
    store = Store(state)  # a second open migrates nothing
    assert store.schema_version() == len(MIGRATIONS)
    if store.url is None:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_commit_poll_marks_seen_and_enqueues_together(state: str | Path) -> None:
    store = Store(state)
    items = [item(1), item(2)]
    assert store.unseen("f", ["id-1", "id-2"]) == {"id-1", "id-2"}
    added = store.commit_poll("f", items, ["id-1", "id-2"], [alert(items[0])], {"etag": "e1"}, 100.0)
    assert added == 1
    assert store.unseen("f", ["id-1", "id-2", "id-3"]) == {"id-3"}
    assert store.feed_state("f").etag == "e1"
    (row,) = store.due(100.0)
    assert row.alert == alert(items[0])


def test_failed_commit_leaves_nothing_behind(state: str | Path) -> None:
    store = Store(state)
    with pytest.raises(sqlite3.OperationalError):
        store.commit_poll("f", [item(1)], ["id-1"], [alert(item(1))], {"no_such_column": 1}, 1.0)
    assert store.unseen("f", ["id-1"]) == {"id-1"}
    assert store.due(10.0) == []


def test_enqueue_is_idempotent_per_alert_id(state: str | Path) -> None:
    store = Store(state)
    a = alert(item(1))
    assert store.enqueue([a], 1.0) == 1
    assert store.enqueue([a], 2.0) == 0
    assert len(store.due(5.0)) == 1


def test_outbox_marks_and_counts(state: str | Path) -> None:
    store = Store(state)
    a, b = alert(item(1)), alert(item(2), "desk")
    store.enqueue([a, b], 1.0)
    store.mark([a.alert_id], "sent", 2.0, attempt=True)
    store.mark([b.alert_id], "pending", 2.0, error="HTTP 500", due=60.0, attempt=True)
    assert store.due(10.0) == []
    assert store.next_due() == 60.0
    assert store.outbox_counts() == {("console", "sent"): 1, ("desk", "pending"): 1}
    assert store.last_errors() == {"desk": "HTTP 500"}
    assert store.alerts_per_rule() == {"r1": 2}


def test_alert_json_round_trip_keeps_unicode_and_hits() -> None:
    a = alert(item(7))
    assert alert_from_json(alert_to_json(a)) == a


def test_prune_forgets_items_gone_from_the_feed(state: str | Path) -> None:
    store = Store(state)
    store.commit_poll("f", [item(1), item(2)], ["id-1", "id-2"], [], {}, 100.0)
    store.commit_poll("f", [], ["id-2"], [], {}, 1000.0)  # id-1 left the feed
    assert store.prune(now=1100.0, retention=500.0) == 1
    assert store.unseen("f", ["id-1", "id-2"]) == {"id-1"}


def test_subscribers_by_rule_follows_subscribe_and_unsubscribe(state: str | Path) -> None:
    store = Store(state)
    assert dict(store.subscribers_by_rule()) == {}
    store.subscribe("telegram:1", "r1", 1.0)
    store.subscribe("slack:C1", "r1", 1.0)
    assert store.subscribers_by_rule()["r1"] == {"telegram:1", "slack:C1"}
    store.unsubscribe("telegram:1", "r1")
    assert store.subscribers_by_rule()["r1"] == {"slack:C1"}
    store.unsubscribe("slack:C1")
    assert dict(store.subscribers_by_rule()) == {}
    store.close()


def test_an_alert_for_a_muted_subscriber_is_held_until_the_mute_ends(state: str | Path) -> None:
    store = Store(state)
    store.mute("telegram:1", until=100.0, now=1.0)
    assert store.enqueue([alert(item(1), "telegram:1"), alert(item(1), "telegram:2")], 10.0) == 2
    assert [r.alert.destination for r in store.due(10.0)] == ["telegram:2"]
    assert store.enqueue([alert(item(2), "telegram:1")], 100.0) == 1  # the mute has run out
    assert {r.alert.item.item_id for r in store.due(100.0, "telegram:1")} == {"id-2"}
    assert store.muted_until("telegram:1") == 100.0 and store.subscribers() == [("telegram:1", 100.0)]
    store.close()


def _db_etag(store: Store, feed_id: str) -> str | None:
    row = store.db.execute("SELECT etag FROM feeds WHERE id = ?", (feed_id,)).fetchone()
    return row[0] if row else None


def test_feed_rows_are_served_from_memory_as_written(state: str | Path) -> None:
    store = Store(state)
    store.update_feed("f", etag="e1", first_poll_done=1)
    assert store.feed_state("f").etag == "e1"
    store.update_feed("f", etag="e2")
    row = store.feed_state("f")
    assert (row.etag, row.first_poll_done) == ("e2", True)
    assert Store(state).feed_state("f") == row   # memory and disk agree


def test_a_refused_feed_write_leaves_no_stale_copy(state: str | Path) -> None:
    store = Store(state)
    store.update_feed("f", etag="e1")
    with pytest.raises(sqlite3.OperationalError):
        store.update_feed("f", etag="e2", no_such_column=1)
    assert store.feed_state("f").etag == "e1"


def test_deferred_feed_writes_flush_together_and_in_order(state: str | Path) -> None:
    store = Store(state)
    store.update_feed_later("a", etag="a1")
    store.update_feed_later("b", etag="b1")
    assert store.feed_state("a").etag == "a1" and _db_etag(store, "a") is None
    store.update_feed("a", etag="a2")          # flushes the older deferred write first
    assert (_db_etag(store, "a"), _db_etag(store, "b")) == ("a2", "b1")
    store.update_feed_later("b", etag="b2")
    store.close()                              # closing flushes too
    assert Store(state).feed_state("b").etag == "b2"


def test_a_lease_is_held_by_one_instance_until_it_expires(state: str | Path) -> None:
    store = Store(state)
    assert store.take_lease("feed:f", "a", 100.0, 30.0)
    assert not store.take_lease("feed:f", "b", 110.0, 30.0)     # a holds it
    assert store.take_lease("feed:f", "a", 120.0, 30.0)         # a renews: until 150
    assert not store.take_lease("feed:f", "b", 149.0, 30.0)
    assert store.take_lease("feed:f", "b", 150.0, 30.0)         # expired: b takes it over
    assert store.leases(151.0) == {"feed:f": "b"}
    store.release_leases("b")
    assert store.take_lease("feed:f", "c", 152.0, 30.0)


def test_instances_note_their_heartbeat(state: str | Path) -> None:
    store = Store(state)
    store.heartbeat("host1:42:ab12", 100.0)
    store.heartbeat("host1:42:ab12", 110.0)
    (one,) = store.instances()
    assert (one.host, one.pid, one.started, one.heartbeat) == ("host1", 42, 100.0, 110.0)
    store.forget_instance(one.id)
    assert store.instances() == []
