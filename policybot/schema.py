"""The SQLite schema, as migrations applied in order; `PRAGMA user_version` counts them.

Never edit a migration that has shipped: add one at the end.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: the pipeline
    """
    CREATE TABLE feeds (
        id TEXT PRIMARY KEY,
        url TEXT,                    -- after a permanent redirect ...
        config_url TEXT,             -- ... of this configured URL
        etag TEXT,
        last_modified TEXT,
        body_hash TEXT,
        first_poll_done INTEGER NOT NULL DEFAULT 0,
        last_poll REAL,
        last_success REAL,
        last_new_item REAL,
        error_count INTEGER NOT NULL DEFAULT 0,
        failing_since REAL,
        last_error TEXT,
        next_poll REAL,              -- backoff / Retry-After / max-age: not before this
        disabled TEXT,               -- reason, e.g. '410 Gone'
        reported REAL                -- blind spot reported to ops at
    );
    CREATE TABLE seen (
        feed_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        seen_at REAL NOT NULL,
        last_present REAL NOT NULL,
        title TEXT, summary TEXT, link TEXT, published REAL,
        PRIMARY KEY (feed_id, item_id)
    ) WITHOUT ROWID;
    CREATE INDEX seen_by_time ON seen(seen_at);
    CREATE TABLE outbox (
        alert_id TEXT PRIMARY KEY,
        destination TEXT NOT NULL,
        payload TEXT NOT NULL,
        created REAL NOT NULL,
        due REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL DEFAULT 'pending',   -- pending | held | sent | failed | expired | missed
        last_error TEXT,
        sent_at REAL
    );
    CREATE INDEX outbox_due ON outbox(state, due);
    CREATE TABLE alert_rules (
        alert_id TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (alert_id, rule_id)
    ) WITHOUT ROWID;
    CREATE TABLE destinations (
        id TEXT PRIMARY KEY,
        blocked_until REAL,
        last_error TEXT,
        last_error_at REAL
    );
    """,
    # 2: chat subscriptions
    """
    CREATE TABLE subscribers (
        destination TEXT PRIMARY KEY,     -- 'telegram:123' | 'slack:C0123'
        muted_until REAL,
        created REAL NOT NULL
    );
    CREATE TABLE subscriptions (
        destination TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (destination, rule_id)
    ) WITHOUT ROWID;
    CREATE TABLE watches (
        destination TEXT NOT NULL,
        watch_id TEXT NOT NULL,
        text TEXT NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (destination, watch_id)
    ) WITHOUT ROWID;
    """,
    # 3: feed health (blind spots): a silent feed is reported once, until a new item arrives
    """
    ALTER TABLE feeds ADD COLUMN silent_reported REAL
    """,
    # 4: retention. A 304 moves last_present of the items in the feed's latest body (the feed's
    # newest last_present), and prune walks each feed's old items: both by (feed_id,
    # last_present). Only items that still have text are looked at by time.
    """
    CREATE INDEX seen_presence ON seen(feed_id, last_present);
    DROP INDEX seen_by_time;
    CREATE INDEX seen_text_by_time ON seen(seen_at) WHERE title IS NOT NULL;
    CREATE INDEX outbox_by_created ON outbox(created);
    CREATE INDEX alert_rules_by_created ON alert_rules(created)
    """,
    # 5: the web console (policybot/console): alerts newest first by destination, by feed
    # (the payload's item.feed_id) and by rule; new items per feed and day (a range count each)
    """
    CREATE INDEX outbox_by_destination ON outbox(destination, created);
    CREATE INDEX outbox_by_feed ON outbox(json_extract(payload, '$.item.feed_id'), created);
    CREATE INDEX alert_rules_by_rule ON alert_rules(rule_id, created);
    CREATE INDEX seen_by_feed_time ON seen(feed_id, seen_at)
    """,
    # 6: stories. An item's identities (canonical link, guid) make the same item from another
    # feed a duplicate; its story and signature are the grouping index (pruned with the items);
    # a story's first message per destination (its platform reference, for threads and edits)
    # and the later reports folded under it.
    """
    CREATE TABLE identities (
        ident TEXT PRIMARY KEY,
        item_key TEXT NOT NULL,
        seen_at REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX identities_by_time ON identities(seen_at);
    CREATE TABLE stories (
        item_key TEXT PRIMARY KEY,
        story TEXT NOT NULL,
        seen_at REAL NOT NULL,
        signature TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX stories_by_time ON stories(seen_at);
    CREATE TABLE story_messages (
        destination TEXT NOT NULL,
        story TEXT NOT NULL,
        alert_id TEXT NOT NULL,        -- the first alert of the story here
        ref TEXT,                      -- its platform id once sent (Slack ts, Telegram message id)
        created REAL NOT NULL,
        PRIMARY KEY (destination, story)
    ) WITHOUT ROWID;
    CREATE TABLE story_reports (
        alert_id TEXT PRIMARY KEY,     -- a later report's outbox row
        destination TEXT NOT NULL,
        story TEXT NOT NULL,
        source TEXT NOT NULL,
        created REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX story_reports_by_story ON story_reports(destination, story)
    """,
    # 7: several instances on one PostgreSQL state (policybot/leases.py): who holds which job
    # (a feed's poll, a destination's drain, the Telegram poller) until when, and who is alive.
    # A SQLite state has them too (one bot per file: never used there).
    """
    CREATE TABLE leases (
        name TEXT PRIMARY KEY,         -- 'feed:ID' | 'destination:ID' | 'telegram'
        holder TEXT NOT NULL,          -- an instance id
        expires REAL NOT NULL
    );
    CREATE TABLE instances (
        id TEXT PRIMARY KEY,           -- host:pid:random
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started REAL NOT NULL,
        heartbeat REAL NOT NULL
    )
    """,
    # 8: why an instance's delivery last stopped (a shared state has no file beside it for the
    # note): `fault` is the stamped note, `fault_over` when delivery resumed (NULL: not yet);
    # written when the database takes writes again, shown by `status` per instance
    """
    ALTER TABLE instances ADD COLUMN fault TEXT;
    ALTER TABLE instances ADD COLUMN fault_over REAL
    """,
    # 9: a story whose first report here went inside a digest: `ref` is the digest part that
    # showed it (later reports thread under it), and `digest` = 1 says never to edit it (the
    # part shows other stories too: "also reported by" would replace them with this one)
    """
    ALTER TABLE story_messages ADD COLUMN digest INTEGER NOT NULL DEFAULT 0
    """,
)
