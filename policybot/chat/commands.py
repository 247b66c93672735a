"""Chat commands, the same on every platform: `Commands.handle(dest, "subscribe x")` -> reply.

`dest` is the subscriber ("telegram:123", "slack:C0123"). Replies are built with a `Markup`
(Telegram HTML or Slack mrkdwn); every piece of rule or feed text goes through its `esc`, and
no tag spans two lines, so a long reply may be cut at any newline.

Who may run a command is the platform's business (telegram.py, slack.py): CHANGE_COMMANDS
change a chat's subscriptions, watches or mute; the others only read. Every command gets one
reply (`fit_reply` cuts a long one), and its cost is bounded: at most MAX_IDS ids a command,
found in a dict, and only the first few unknown ones are named.
"""

from __future__ import annotations

import difflib
import html
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from policybot.configread import parse_duration
from policybot.errors import RuleError
from policybot.matching.rules import Rule
from policybot.matching.watch import parse_watch
from policybot.model import Alert, notice_alert
from policybot.render import clean, clip, safe_url, slack_escape, tg_escape, utc_stamp

if TYPE_CHECKING:
    from policybot.app import App

# name -> (arguments, what it does); the order is the order of /help and the command menu
COMMANDS: dict[str, tuple[str, str]] = {
    "start": ("", "what this bot does"),
    "help": ("", "the commands"),
    "rules": ("[word]", "the rules you can subscribe to"),
    "subscribe": ("<rule-id> ...", "alerts for one or more rules"),
    "unsubscribe": ("<rule-id> ... | all", "stop rules' alerts, or everything"),
    "watch": ('<words> "a phrase" -excluded', "a personal rule: all words must appear"),
    "unwatch": ("<id>", "remove a personal watch"),
    "list": ("", "your subscriptions, watches and mute"),
    "mute": ("<duration>", "pause alerts for 30m, 8h, 2d..."),
    "unmute": ("", "resume alerts, with a summary of what you missed"),
}
OPEN_COMMANDS = frozenset({"start", "help", "rules"})   # answer anyone, change nothing
CHANGE_COMMANDS = frozenset({"subscribe", "unsubscribe", "watch", "unwatch", "mute", "unmute"})
MIN_MUTE = 60.0
MAX_MUTE = 30 * 86400.0
MAX_IDS = 20            # rule ids in one /subscribe or /unsubscribe
NAMES_SHOWN = 5         # ids named in a reply (unknown ones, your subscriptions); the rest counted
ID_SHOWN = 64           # characters of a typed id echoed back
RULES_SHOWN = 50        # rules listed by /rules; the rest are counted (narrow with a word)
MAX_WATCHES = 20
MAX_WATCH_TEXT = 200
SUMMARY_TITLES = 5
SUMMARY_RULES = 10
TITLE_MAX = 120


@dataclass(frozen=True, slots=True)
class Markup:
    """How a platform shows a reply. `bold` and `link` take text that is escaped already."""

    prefix: str                          # how a command is typed: "/" or "/policybot "
    esc: Callable[[str], str]
    bold: Callable[[str], str]
    code: Callable[[str], str]           # raw text, shown verbatim (ids to copy)
    link: Callable[[str, str], str]      # (safe http(s) url, escaped label)

    def cmd(self, name: str, args: str = "") -> str:
        return self.code(f"{self.prefix}{name}{' ' + args if args else ''}")


def _slack_code(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "`" + text.replace("`", "'") + "`"


TELEGRAM = Markup(
    prefix="/", esc=tg_escape, bold=lambda s: f"<b>{s}</b>",
    code=lambda s: f"<code>{tg_escape(s)}</code>",
    link=lambda url, label: f'<a href="{html.escape(url, quote=True)}">{label}</a>')
SLACK = Markup(
    prefix="/policybot ", esc=slack_escape, bold=lambda s: f"*{s}*", code=_slack_code,
    link=lambda url, label: f"<{url.replace('&', '&amp;')}|{label}>")


def parse_command(text: str) -> tuple[str, str]:
    """'/Subscribe@my_bot  a b' -> ('subscribe', 'a b'); a Slack 'subscribe a b' alike."""
    head, _, args = text.strip().partition(" ")
    return head.lstrip("/").split("@", 1)[0].lower(), " ".join(args.split())


def watch_id_of(rule: Rule) -> str:
    """The short id people type in /unwatch: the hash that ends a watch rule's id."""
    return rule.id.rsplit(":", 1)[-1]


CUT = "… (cut: the rest did not fit in one message)"


def fit_reply(text: str, limit: int) -> str:
    """One message of at most `limit` characters: a longer reply is cut at a newline."""
    if len(text) <= limit:
        return text
    return f"{split_message(text, limit - len(CUT) - 1)[0]}\n{CUT}"


class Commands:
    def __init__(self, app: App, markup: Markup, *, clock: Callable[[], float] = time.time) -> None:
        self.app = app
        self.m = markup
        self.clock = clock
        self._index: tuple[object, dict[str, Rule]] = (None, {})

    def handle(self, dest: str, text: str) -> str:
        name, args = parse_command(text)
        if name not in COMMANDS:
            return self.unknown(name)
        handler: Callable[[str, str], str] = getattr(self, f"_{name}")
        return handler(dest, args)

    def title(self, text: str) -> str:
        """Rule or feed text, cleaned, cut and escaped for the platform."""
        return self.m.esc(clip(clean(text), TITLE_MAX))

    # help ---------------------------------------------------------------------------------
    def usage(self, name: str) -> str:
        args, _ = COMMANDS[name]
        return f"Usage: {self.m.cmd(name, args)}"

    def help_lines(self) -> list[str]:
        return [f"{self.m.cmd(name, args)} – {self.m.esc(what)}"
                for name, (args, what) in COMMANDS.items()]

    def unknown(self, name: str) -> str:
        shown = self.m.code(f"{self.m.prefix}{name}") if name else "that"
        return "\n".join([f"I don't know {shown}. These are the commands:", *self.help_lines()])

    def _start(self, dest: str, args: str) -> str:
        m = self.m
        return "\n".join([
            m.bold("policybot") + m.esc(" tells you within minutes when trade or industrial policy "
                                        "changes: export controls, tariffs, sanctions, licences."),
            "",
            f"1. {m.cmd('rules')} {m.esc('shows the rules analysts maintain')}",
            f"2. {m.cmd('subscribe', '<rule-id>')} {m.esc('sends you their alerts')}",
            f"3. {m.cmd('watch', 'gallium antimony')} {m.esc('is a rule of your own')}",
            f"{m.cmd('help')} {m.esc('lists every command.')}",
        ])

    def _help(self, dest: str, args: str) -> str:
        return "\n".join([self.m.bold("Commands"), *self.help_lines()])

    # rules and subscriptions ----------------------------------------------------------------
    def rules(self) -> list[Rule]:
        """The analysts' rules (personal watches are not subscribable)."""
        ruleset = self.app.rules.ruleset
        return list(ruleset.rules) if ruleset is not None else []

    def _rules(self, dest: str, args: str) -> str:
        rules = self.rules()
        if not rules:
            return self.m.esc("There are no rules yet.")
        word = args.lower()
        if word:
            rules = [r for r in rules if word in r.id.lower() or word in r.title.lower()]
        mine = set(self.app.store.subscriptions_of(dest))
        lines = [self.m.bold(f"Rules ({len(rules)})") + self.m.esc(" – ✅ = subscribed")]
        for rule in sorted(rules, key=lambda r: r.id)[:RULES_SHOWN]:
            mark = "✅ " if rule.id in mine else "• "
            lines.append(f"{mark}{self.m.code(rule.id)} {self.title(rule.title)}")
        if len(rules) > RULES_SHOWN:
            lines.append(self.m.esc(f"(+{len(rules) - RULES_SHOWN} more: narrow with ")
                         + self.m.cmd("rules", "<word>") + self.m.esc(")"))
        lines.append(self.m.esc("Subscribe with ") + self.m.cmd("subscribe", "<rule-id>"))
        return "\n".join(lines)

    def rule_index(self) -> dict[str, Rule]:
        """Lower-cased id -> rule, built once per loaded rule set."""
        ruleset = self.app.rules.ruleset
        if self._index[0] is not ruleset:
            self._index = (ruleset, {r.id.lower(): r for r in self.rules()})
        return self._index[1]

    def names(self, ids: Sequence[str]) -> str:
        """The first NAMES_SHOWN ids (cut, verbatim) and how many more."""
        shown = ", ".join(self.m.code(clip(i, ID_SHOWN)) for i in ids[:NAMES_SHOWN])
        more = len(ids) - NAMES_SHOWN
        return shown + (self.m.esc(f" (+{more} more)") if more > 0 else "")

    def unknown_rules(self, typed: Sequence[str]) -> str:
        """One line for every id that names no rule: the first few, the closest id to a
        single one, and how many more."""
        if len(typed) == 1:
            close = difflib.get_close_matches(typed[0].lower(), list(self.rule_index()), n=1,
                                              cutoff=0.5)
            hint = f" Did you mean {self.m.code(self.rule_index()[close[0]].id)}?" if close else ""
            return (f"❓ No rule {self.names(typed)}.{hint} "
                    f"{self.m.cmd('rules')} {self.m.esc('lists them.')}")
        return f"❓ No rules {self.names(typed)}. {self.m.cmd('rules')} {self.m.esc('lists them.')}"

    def too_many(self, name: str) -> str:
        return self.m.esc(f"At most {MAX_IDS} rule ids at a time, please. ") + self.usage(name)

    def _subscribe(self, dest: str, args: str) -> str:
        if not args:
            return f"{self.usage('subscribe')} {self.m.esc('(ids from')} {self.m.cmd('rules')})"
        typed = list(dict.fromkeys(args.split()))
        if len(typed) > MAX_IDS:
            return self.too_many("subscribe")
        index = self.rule_index()
        lines, unknown = [], [t for t in typed if t.lower() not in index]
        for rule in (index[t.lower()] for t in typed if t.lower() in index):
            if self.app.store.subscribe(dest, rule.id, self.clock()):
                lines.append(f"✅ Subscribed to {self.m.code(rule.id)}: {self.title(rule.title)}")
            else:
                lines.append(f"Already subscribed to {self.m.code(rule.id)}.")
        if unknown:
            lines.append(self.unknown_rules(unknown))
        if any(line.startswith("✅") for line in lines):
            lines.append(self.m.esc("You will get its new items from now on."))
        return "\n".join(lines)

    def _unsubscribe(self, dest: str, args: str) -> str:
        typed = list(dict.fromkeys(args.split()))
        if not typed or (len(typed) > 1 and "all" in (t.lower() for t in typed)):
            return self.usage("unsubscribe")
        if len(typed) > MAX_IDS:
            return self.too_many("unsubscribe")
        if typed[0].lower() == "all":
            had_watches = bool(self.app.store.watches(dest))
            count = self.app.store.unsubscribe(dest)
            if had_watches:
                self.app.rules.rebuild()
            return self.m.esc(f"Removed all {count} subscriptions and watches." if count
                              else "You had no subscriptions or watches.")
        mine = {r.lower(): r for r in self.app.store.subscriptions_of(dest)}
        gone = [mine[t.lower()] for t in typed if t.lower() in mine]
        lines = [f"Unsubscribed from {self.m.code(r)}." for r in gone
                 if self.app.store.unsubscribe(dest, r)]
        missing = [t for t in typed if t.lower() not in mine]
        if missing:
            left = sorted(set(mine.values()) - set(gone))
            lines.append(f"You are not subscribed to {self.names(missing)}. Your subscriptions: "
                         f"{self.names(left) or self.m.esc('none')}")
        return "\n".join(lines)

    # personal watches -----------------------------------------------------------------------
    def _watch(self, dest: str, args: str) -> str:
        if not args:
            example = self.m.cmd("watch", 'gallium "export ban" -scrap')
            return f"{self.usage('watch')}\n{self.m.esc('For example:')} {example}"
        if len(args) > MAX_WATCH_TEXT:
            return self.m.esc(f"That watch is too long (at most {MAX_WATCH_TEXT} characters).")
        if len(self.app.store.watches(dest)) >= MAX_WATCHES:
            return self.m.esc(f"You have {MAX_WATCHES} watches, the most allowed. Remove one: ") \
                + self.m.cmd("unwatch", "<id>")
        try:
            rule = parse_watch(args, dest)
        except RuleError:
            hint = self.m.esc('Give at least one word or "phrase" to watch.')
            return f"{hint} {self.usage('watch')}"
        wid = watch_id_of(rule)
        if not self.app.store.add_watch(dest, wid, args, self.clock()):
            return f"You already watch that (id {self.m.code(wid)})."
        self.app.rules.rebuild()
        return (f"👀 Watching {self.m.bold(self.m.esc(rule.title))} (id {self.m.code(wid)}): "
                f"{self.m.esc('new items with all of these words reach this chat only.')} "
                f"{self.m.esc('Remove it with')} {self.m.cmd('unwatch', wid)}")

    def _unwatch(self, dest: str, args: str) -> str:
        watches = self.app.store.watches(dest)
        if not args or len(args.split()) > 1:
            return f"{self.usage('unwatch')} {self.m.esc('(ids from')} {self.m.cmd('list')})"
        wid = args.lower()
        if wid.isdigit() and 1 <= int(wid) <= len(watches):
            wid = watches[int(wid) - 1][1]
        if not self.app.store.remove_watch(dest, wid):
            return f"No watch {self.m.code(args)}. {self.m.cmd('list')} {self.m.esc('shows yours.')}"
        self.app.rules.rebuild()
        return f"Removed watch {self.m.code(wid)}."

    # list, mute -----------------------------------------------------------------------------
    def _list(self, dest: str, args: str) -> str:
        subs = self.app.store.subscriptions_of(dest)
        watches = self.app.store.watches(dest)
        lines = self._mute_state(dest)
        if not subs and not watches:
            return "\n".join([*lines, self.m.esc("No subscriptions or watches yet. Try ") +
                              f"{self.m.cmd('rules')}, {self.m.cmd('subscribe', '<rule-id>')} "
                              f"{self.m.esc('or')} {self.m.cmd('watch', '<words>')}"])
        titles = {r.id: r.title for r in self.rules()}
        if subs:
            lines.append(self.m.bold(f"Subscriptions ({len(subs)})"))
            gone = "(this rule no longer exists)"
            lines += [f"• {self.m.code(r)} {self.title(titles.get(r, gone))}" for r in subs]
        if watches:
            lines.append(self.m.bold(f"Watches ({len(watches)})"))
            lines += [f"{n}. {self.m.esc(text)} (id {self.m.code(wid)})"
                      for n, (_, wid, text) in enumerate(watches, start=1)]
        return "\n".join(lines)

    def _mute_state(self, dest: str) -> list[str]:
        until = self.app.store.muted_until(dest)
        if not until or until <= self.clock():
            return []
        return [f"🔕 {self.m.esc(f'Muted until {utc_stamp(until)}.')}"]

    def _mute(self, dest: str, args: str) -> str:
        try:
            if not args or args[-1].isdigit():
                raise ValueError("a unit is needed")
            seconds = parse_duration(args)
        except ValueError:
            return f"{self.usage('mute')} {self.m.esc('such as 30m, 8h or 2d')}"
        if not seconds or seconds < MIN_MUTE or seconds > MAX_MUTE:
            return self.m.esc("A mute lasts from 1 minute to 30 days, such as 30m, 8h or 2d.")
        now = self.clock()
        self.app.store.mute(dest, now + seconds, now)
        return (f"🔕 {self.m.esc(f'Muted until {utc_stamp(now + seconds)}.')} "
                f"{self.m.esc('Then, or at')} {self.m.cmd('unmute')}"
                f"{self.m.esc(', you get one summary of what you missed.')}")

    def _unmute(self, dest: str, args: str) -> str:
        now = self.clock()
        was_muted = self.app.store.is_muted(dest, now)

        def summary(target: str, held: list[Alert]) -> Alert | None:
            return self.mute_notice(target, held, "🔔 Unmuted.", now) if was_muted or held else None

        missed = self.app.store.unmute(dest, now, summary)   # the summary joins the outbox
        if not was_muted and not missed:
            return self.m.esc("You are not muted.")
        return self.m.esc("🔔 Unmuted. A summary of what you missed follows.")

    def mute_notice(self, dest: str, held: Sequence[Alert], heading: str, now: float) -> Alert:
        """The summary of a mute as a notice for the outbox (sent and retried like an alert)."""
        return notice_alert(dest, "mute-ended", self.missed_summary(held, heading),
                            datetime.fromtimestamp(now, UTC))

    # the summary after a mute ---------------------------------------------------------------
    def missed_summary(self, alerts: Sequence[Alert], heading: str) -> str:
        """One short message: how many alerts, per rule, and up to 5 titles (newest first)."""
        m = self.m
        if not alerts:
            return m.esc(f"{heading} Nothing matched while you were muted.")
        lines = [m.esc(f"{heading} While muted, {_plural(len(alerts), 'alert')} matched:")]
        per_rule = Counter(self._rule_label(match.rule_id, match.title)
                           for alert in alerts for match in alert.matches)
        for label, count in per_rule.most_common(SUMMARY_RULES):
            lines.append(f"• {m.esc(label)}: {count}")
        if len(per_rule) > SUMMARY_RULES:
            lines.append(m.esc(f"• and {len(per_rule) - SUMMARY_RULES} more rules"))
        lines.append(m.bold(m.esc("Latest:")))
        for alert in list(reversed(alerts))[:SUMMARY_TITLES]:
            title = self.title(alert.item.title or "(untitled)")
            url = safe_url(alert.item.link)
            lines.append(f"• {m.link(url, title) if url else title}")
        if len(alerts) > SUMMARY_TITLES:
            lines.append(m.esc(f"…and {len(alerts) - SUMMARY_TITLES} more."))
        return "\n".join(lines)

    @staticmethod
    def _rule_label(rule_id: str, title: str) -> str:
        return f'watch "{clip(clean(title), 60)}"' if rule_id.startswith("watch:") else rule_id


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def split_message(text: str, limit: int) -> list[str]:
    """Cut a reply at newlines into parts of at most `limit` characters (a longer single
    line is cut hard; replies never put a tag across lines)."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            parts.append(line[:limit])
            line = line[limit:]
        if current and len(current) + 1 + len(line) > limit:
            parts.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        parts.append(current)
    return parts
