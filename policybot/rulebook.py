"""The live rules: the last good RuleSet and its compiled Engine, reloaded when files change.

A broken edit logs every error as FILE:LINE and leaves the last good rules active.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from policybot.errors import RuleError
from policybot.matching.engine import Engine
from policybot.matching.rules import Rule, RuleSet, load_rules
from policybot.model import Feed, Item, Match

log = logging.getLogger(__name__)


def rule_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml")))
        else:
            files.append(path)
    return files


class RuleBook:
    def __init__(self, paths: Sequence[Path], *, destinations: Iterable[str] | None = None,
                 feeds: Mapping[str, Sequence[str]] | None = None,
                 extra_rules: Callable[[], Sequence[Rule]] = lambda: ()) -> None:
        """`destinations` / `feeds` None: rules may name any (a dry run checks no routing)."""
        self.paths = tuple(paths)
        self.destinations = None if destinations is None else frozenset(destinations)
        self.feeds = None if feeds is None else dict(feeds)
        self.extra_rules = extra_rules
        self.ruleset: RuleSet | None = None
        self.engine: Engine | None = None
        self.rules_by_id: dict[str, Rule] = {}
        self.stamp: tuple[tuple[str, float, int], ...] = ()

    def load(self) -> RuleSet:
        """Load now; raises RuleError (with every error) and keeps the previous rules."""
        stamp = self._stamp()
        ruleset = load_rules(list(self.paths), destinations=self.destinations, feeds=self.feeds)
        self.stamp = stamp
        self.ruleset = ruleset
        self.rebuild()
        return ruleset

    def rebuild(self) -> None:
        """Recompile the engine (rules changed, or a personal /watch was added)."""
        assert self.ruleset is not None
        rules = [*self.ruleset.rules, *self.extra_rules()]
        self.engine = Engine(rules)
        self.rules_by_id = {r.id: r for r in rules}

    def reload_if_changed(self) -> bool:
        """The reload job: True when new rules took effect."""
        if self._stamp() == self.stamp:
            return False
        try:
            ruleset = self.load()
        except RuleError as exc:
            self.stamp = self._stamp()  # report a broken edit once, not every few seconds
            log.error("rules not reloaded, the last good rules stay active:\n%s", "\n".join(exc.errors))
            return False
        log.info("rules reloaded: %d rules", len(ruleset.rules))
        return True

    def match(self, item: Item, feed: Feed | None = None) -> tuple[Match, ...]:
        assert self.engine is not None, "RuleBook.load() first"
        return self.engine.match(item, feed)

    def _stamp(self) -> tuple[tuple[str, float, int], ...]:
        result = []
        for path in rule_files(self.paths):
            try:
                st = path.stat()
            except OSError:
                continue
            result.append((str(path), st.st_mtime, st.st_size))
        return tuple(result)
