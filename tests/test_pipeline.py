"""The poll pipeline through App: backfill on the first poll, one alert per item and
destination, local file feeds."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from policybot.app import App
from policybot.config import load_config

RULES = """\
rules:
  - id: gallium
    title: Gallium
    match: {any: [gallium]}
  - id: germanium
    title: Germanium
    match: {any: [germanium]}
    notify: [console, other]
"""


def item(guid: str, title: str, age: timedelta | None) -> str:
    date = f"<pubDate>{format_datetime(datetime.now(UTC) - age)}</pubDate>" if age is not None else ""
    return f"<item><title>{title}</title><guid>{guid}</guid>{date}</item>"


def write_feed(path: Path, *items: str) -> None:
    path.write_text(f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{"".join(items)}'
                    "</channel></rss>", encoding="utf-8")


def make_app(tmp_path: Path, backfill: str = "1d") -> tuple[App, io.StringIO]:
    (tmp_path / "rules.yaml").write_text(RULES)
    (tmp_path / "config.yaml").write_text(f"""\
storage: {{path: s.db}}
rules: [rules.yaml]
defaults: {{backfill: {backfill}}}
feeds: [{{id: local, url: feed.xml}}]
destinations: {{console: {{type: console}}, other: {{type: console}}}}
""")
    out = io.StringIO()
    app = App(load_config(tmp_path / "config.yaml", env={}), stream=out)
    app.load_rules()
    return app, out


async def test_first_poll_alerts_only_items_newer_than_backfill(tmp_path: Path) -> None:
    write_feed(tmp_path / "feed.xml",
               item("new", "Gallium curbs", timedelta(hours=2)),
               item("old", "Gallium old news", timedelta(days=3)),
               item("undated", "Gallium undated", None))
    app, out = make_app(tmp_path)
    (result,) = await app.poll_all()
    assert (result.new, result.alerts) == (3, 1)
    await app.deliver()
    assert "Gallium curbs" in out.getvalue() and "old news" not in out.getvalue()
    assert "undated" not in out.getvalue()

    # later polls alert every new item, dated or not, old or not
    write_feed(tmp_path / "feed.xml",
               item("undated2", "Gallium second undated", None),
               item("old2", "Gallium late arrival", timedelta(days=5)),
               item("new", "Gallium curbs", timedelta(hours=2)))
    (result,) = await app.poll_all(force=True)
    assert (result.new, result.alerts) == (2, 2)
    await app.close()


async def test_backfill_all_alerts_the_whole_backlog(tmp_path: Path) -> None:
    write_feed(tmp_path / "feed.xml", item("old", "Gallium old", timedelta(days=30)),
               item("undated", "Gallium undated", None))
    app, _ = make_app(tmp_path, backfill="all")
    (result,) = await app.poll_all()
    assert result.alerts == 2
    await app.close()


async def test_one_alert_per_item_per_destination_naming_every_rule(tmp_path: Path) -> None:
    write_feed(tmp_path / "feed.xml", item("both", "Gallium and germanium controls", timedelta(hours=1)))
    app, _ = make_app(tmp_path)
    (result,) = await app.poll_all()
    assert result.alerts == 2  # console (gallium + germanium) and other (germanium)
    rows = {r.alert.destination: r.alert for r in app.store.due(float("inf"))}
    assert [m.rule_id for m in rows["console"].matches] == ["gallium", "germanium"]
    assert [m.rule_id for m in rows["other"].matches] == ["germanium"]
    await app.close()
