"""Three stories, three reports each, from five feeds (Reuters, 商务部, 新华社, 第一财经, a trade
press feed), taken from the labelled stories (tests/data/shared/eval/stories-dev.jsonl)
and dated within the last two days: a flood that a digest shows as three lines. Used by
test_digest_stories.py (in process), test_digest_stories_e2e.py and test_digest_refs_e2e.py
(`bot.py once`, through `flood_bot`)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import partial
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from tests import botproc
from tests.fakes import slack_api as sf
from tests.fakes import telegram_api as tf

RULES = """\
rules:
  - id: minerals
    title: Critical minerals and sanctions
    severity: high
    match:
      any: [gallium, germanium, antimony, Rusal, 镓, 锑, 俄铝, export control, 出口管制, 制裁]
"""

# (feed, guid, hours ago, title, summary, link)
RUSAL = [
    ("reuters", "r-rusal", 40.0, "US lifts sanctions on Rusal and other Deripaska-linked firms - Reuters",
     "The United States lifted sanctions on aluminium producer Rusal, its parent En+ Group and power firm "
     "EuroSibEnergo on Sunday, ending restrictions that had disrupted global aluminium markets since April. "
     "The Treasury said Oleg Deripaska's stake in En+ had been cut below 50%.",
     "https://www.reuters.example/business/us-lifts-sanctions-on-rusal-2019-01-27/"),
    ("xinhua", "x-rusal", 32.7, "美国解除对俄铝等三家俄罗斯企业的制裁",
     "美国财政部27日宣布，解除对俄罗斯铝业联合公司、其母公司En+集团以及EuroSibEnergo公司的制裁，理由是上述企业"
     "已大幅削减俄罗斯商人德里帕斯卡的持股并使其失去控制权。德里帕斯卡本人仍在美方制裁名单上。",
     "https://www.xinhuanet.example/fortune/20190128/c.html"),
    ("yicai", "y-rusal", 30.2, "美财政部正式将俄铝移出制裁名单",
     "美国财政部海外资产控制办公室27日正式将俄铝、En+集团和EuroSibEnergo移出特别指定国民名单。根据协议，德里帕斯卡"
     "在En+的持股降至50%以下，投票权上限为35%，董事会多数席位将由独立董事担任。",
     "https://www.yicai.example/news/787142531.html"),
]
GALLIUM = [
    ("mofcom", "m-gallium", 20.0, "商务部 海关总署公告2023年第23号 关于对镓、锗相关物项实施出口管制的公告",
     "根据《出口管制法》《对外贸易法》《海关法》有关规定，为维护国家安全和利益，经国务院批准，决定对镓、锗相关物项"
     "实施出口管制，自2023年8月1日起正式实施。出口经营者出口上述物项，应当向商务部申请许可，并提交最终用户和最终用途证明。",
     "https://www.mofcom.example/zwgk/2023/art_a84bba07.html"),
    ("reuters", "r-gallium", 18.4,
     "China to restrict exports of chipmaking metals gallium and germanium from August - Reuters",
     "China will control exports of some gallium and germanium products from Aug. 1 to protect national "
     "security, the commerce ministry said on Monday. Exporters will need licences from the ministry to ship "
     "the metals, which are used in chips, fibre optics and solar cells, and must report details of their "
     "overseas buyers and how the products will be used.",
     "https://www.reuters.example/business/china-to-restrict-exports-gallium-2023-07-03/"),
    ("press", "p-gallium", 16.8, "China to Restrict Exports of Chipmaking Metals From August",
     "China will control exports of some gallium and germanium products from Aug. 1 to protect national "
     "security, the commerce ministry said on Monday. Exporters will need licenses from the ministry to ship "
     "the metals, which are used in chips, fiber optics and solar cells, and must report details of their "
     "overseas buyers and how the products will be used.",
     "https://www.usnews.example/news/world/articles/2023-07-03/china-to-restrict-exports"),
]
ANTIMONY = [
    ("mofcom", "m-antimony", 8.0, "商务部 海关总署公告2024年第33号 关于对锑等物项实施出口管制的公告",
     "为维护国家安全和利益、履行防扩散等国际义务，经国务院批准，决定对锑矿及原料、金属锑及制品、锑化合物及相关冶炼分离"
     "技术，以及部分超硬材料相关物项实施出口管制，自2024年9月15日起正式实施。",
     "https://www.mofcom.example/zwgk/2024/art_51ccb9b2.html"),
    ("reuters", "r-antimony", 6.5, "China to restrict antimony exports in latest critical minerals move - Reuters",
     "China will impose export restrictions on antimony and antimony products from Sept. 15, the commerce "
     "ministry said on Thursday, the latest in a series of curbs on critical minerals. Antimony is used in "
     "military applications including ammunition, infrared missiles and night vision goggles, as well as in "
     "batteries and flame retardants.",
     "https://www.reuters.example/business/china-to-restrict-antimony-exports-2024-08-15/"),
    ("press", "p-antimony", 3.7, "China adds antimony, superhard materials to export control list",
     "Exporters of antimony ore, metal, oxide and related smelting and separation technology will need "
     "licences from China's commerce ministry from 15 September. The announcement also covers certain "
     "superhard material equipment and diamond products, and licence applications must state end users "
     "and end uses.",
     "https://www.argusmedia.example/en/news/5938730-china-adds-antimony"),
]
STORIES = {"rusal": RUSAL, "gallium": GALLIUM, "antimony": ANTIMONY}
FEEDS = {"reuters": "Reuters", "mofcom": "商务部", "xinhua": "新华社", "yicai": "第一财经",
         "press": "Trade Press"}


def rss(feed: str, now: datetime | None = None, only: tuple[str, ...] = tuple(STORIES)) -> str:
    """The feed's items of the stories `only`, dated relative to `now`."""
    now = now or datetime.now(UTC)
    body = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(link)}</link><guid>{g}</guid>"
        f"<pubDate>{format_datetime(now - timedelta(hours=h))}</pubDate>"
        f"<description>{escape(s)}</description></item>"
        for name in only for f, g, h, t, s, link in STORIES[name] if f == feed)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{FEEDS[feed]}</title>{body}</channel></rss>")


CHANNEL = "C0123ABCD"


def flood_bot(tmp_path: Path, urls: Mapping[str, str], slack_api: Any,
              telegram_api: Any) -> Callable[..., subprocess.CompletedProcess[str]]:
    """The rules and a config of the feeds `urls` (feed -> URL) notifying the console, a Slack
    bot, a Slack webhook and Telegram (the fakes), digesting from 2 alerts: `bot.py` on it, a
    function of the command's arguments."""
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    feeds = "\n".join(f'  - {{id: {f}, url: "{u}"}}' for f, u in urls.items())
    (tmp_path / "config.yaml").write_text(f"""\
storage: {{path: state.db}}
rules: [rules.yaml]
defaults: {{backfill: 3d, notify: [console, bot, hook, me]}}
delivery: {{digest_after: 2}}
feeds:
{feeds}
destinations:
  console: {{type: console}}
  hook: {{type: slack, webhook_url: "${{HOOK_URL}}"}}
  bot: {{type: slack, token: "${{SLACK_BOT_TOKEN}}", channel: {CHANNEL}, api_url: "{slack_api.api_url}"}}
  me: {{type: telegram, token: "${{TG}}", chat_id: {tf.CHAT_ID}, api_url: "{telegram_api.url}"}}
""", encoding="utf-8")
    env = {**os.environ, "HOOK_URL": slack_api.webhook_url("alerts"), "SLACK_BOT_TOKEN": sf.TOKEN,
           "TG": tf.TOKEN}
    return partial(botproc.bot, tmp_path / "config.yaml", env=env)
