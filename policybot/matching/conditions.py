"""The `match:` language: terms, `$entities`, `/regex/`, `near`, nested all / any / none.

Every function reports problems through a `Context` (one per file being checked) and keeps
going, so that `load_rules` can report every error at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import re2

from policybot.errors import ConfigError
from policybot.matching.normalize import normalize_term
from policybot.matching.spec import Group, Near, Node, Regex, Term, Terms
from policybot.model import FIELDS
from policybot.yamlsrc import MAX_BYTES, key_hint, line_of, read_bytes, suggest

MATCH_KEYS = ("all", "any", "none")
SCOPE_KEY = "in"            # {in: title, any: [...]}: the group looks at these fields only
NEAR_KEYS = ("near", "within")
MAX_TERM_CHARS = 200        # a phrase, an entity alias, a `near` side, a /watch word
MAX_REGEX_CHARS = 500       # a /regex/ between its slashes
MAX_CONDITION_DEPTH = 10    # all / any / none groups inside one another (a rule needs 2 or 3)
_YAML_BOOLS = r"yes|no|true|false|on|off"


@dataclass
class Context:
    """Where we are (file, rule) and the errors found so far, as (source, line, message)."""

    source: str
    errors: list[tuple[str, int, str]]
    entities: Mapping[str, Terms] = field(default_factory=dict)
    subject: str = ""          # "rule 'x': " for rule-level messages
    depth: int = 0             # groups open around the condition being read
    _lines: list[str] | None = None

    def error(self, line: int, message: str, *, about_rule: bool = True) -> None:
        prefix = self.subject if about_rule else ""
        self.errors.append((self.source, line, f"{self.source}:{line}: {prefix}{message}"))

    def line_text(self, line: int) -> str:
        if self._lines is None:
            try:
                data = read_bytes(Path(self.source), MAX_BYTES)
                self._lines = data.decode("utf-8").splitlines()
            except (ConfigError, UnicodeDecodeError):
                self._lines = []
        return self._lines[line - 1] if 0 < line <= len(self._lines) else ""


def regex_options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    return options


def not_a_string(ctx: Context, value: Any, line: int) -> None:
    """`term must be a string, got false (quote it: "NO")` with the spelling from the file."""
    if isinstance(value, Mapping):
        ctx.error(line, "term must be a string, got a mapping", about_rule=False)
        return
    if isinstance(value, list):
        ctx.error(line, "term must be a string, got a list", about_rule=False)
        return
    shown = _yaml_name(value)
    token = _source_token(ctx.line_text(line), value)
    hint = "" if value is None and token is None else f' (quote it: "{token or shown}")'
    ctx.error(line, f"term must be a string, got {shown}{hint}", about_rule=False)


def _yaml_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _source_token(line: str, value: Any) -> str | None:
    """The scalar as written on `line` (YAML 1.1 reads NO as false, 0x1F as 31...)."""
    if isinstance(value, bool):
        pattern, wanted = _YAML_BOOLS, (lambda token: _bool_of(token) is value)
    elif value is None:
        pattern, wanted = r"null|~", (lambda token: True)
    elif isinstance(value, int | float | date):
        pattern, wanted = r"[-+.\w:]+", (lambda token: any(ch.isdigit() for ch in token))
    else:
        return None
    tokens = re.finditer(rf"(?<![\w'\"$/-])(?:{pattern})(?![\w'\"-])", line, re.IGNORECASE)
    return next((found.group() for found in tokens if wanted(found.group())), None)


def _bool_of(token: str) -> bool:
    return token.lower() in ("yes", "true", "on")


def too_long(ctx: Context, text: str, line: int, *, about_rule: bool = False) -> bool:
    """Report a term (or regex) longer than its bound, before anything compiles it."""
    regex = len(text) >= 2 and text.startswith("/") and text.endswith("/")
    limit, what = (MAX_REGEX_CHARS, "regex") if regex else (MAX_TERM_CHARS, "term")
    size = len(text) - 2 if regex else len(text)
    if size <= limit:
        return False
    ctx.error(line, f"{what} {text[:30]!r}... is {size:,} characters long "
              f"(at most {limit})", about_rule=about_rule)
    return True


def term_node(ctx: Context, raw: Any, line: int, *, allow_regex: bool = True) -> Node | None:
    """A string element: a phrase, `$entity` or `/regex/`; None after reporting an error."""
    if not isinstance(raw, str):
        not_a_string(ctx, raw, line)
        return None
    text = raw.strip()
    if too_long(ctx, text, line):
        return None
    if len(text) >= 2 and text.startswith("/") and text.endswith("/"):
        if not allow_regex:
            ctx.error(line, f"'near' takes phrases or $entities, not a regex: {text}",
                      about_rule=False)
            return None
        return regex_node(ctx, text[1:-1], line)
    if text.startswith("$"):
        return entity_ref(ctx, text, line)
    key = normalize_term(text)
    if not key:
        ctx.error(line, f"empty term {raw!r}", about_rule=False)
        return None
    return Terms((Term(text, None, key),))


def entity_ref(ctx: Context, text: str, line: int) -> Terms | None:
    terms = ctx.entities.get(text[1:])
    if terms is None:
        known = [f"${name}" for name in ctx.entities]
        ctx.error(line, f"unknown entity '{text}'{suggest(text, known)}", about_rule=False)
    return terms


def regex_node(ctx: Context, pattern: str, line: int) -> Regex | None:
    try:
        compiled = re2.compile(pattern, regex_options())
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        ctx.error(line, f"invalid regex /{pattern}/: {detail}{re2_hint(detail)}", about_rule=False)
        return None
    if compiled.search("") is not None:
        ctx.error(line, f"regex /{pattern}/ matches empty text, so it would match every item",
                  about_rule=False)
        return None
    return Regex(pattern, compiled)


# RE2 (linear time, no catastrophic backtracking) leaves out what needs backtracking; its
# errors name the operator only. What each means, and what to write instead:
_RE2_HINTS = (
    (re.compile(r"invalid perl operator: \(\?<[=!]"), "lookbehind is not supported by RE2: "
     "match the words before it as part of the regex, or use a term with none: or near:"),
    (re.compile(r"invalid perl operator: \(\?[=!]"), "lookahead is not supported by RE2: "
     "match the words after it as part of the regex, or use a term with none: or near:"),
    (re.compile(r"invalid perl operator: \(\?>|bad repetition operator: [*+?]\+"),
     "atomic groups and possessive quantifiers are not supported by RE2 (nor needed: it never "
     "backtracks)"),
    (re.compile(r"invalid escape sequence: \\[1-9]"),
     "backreferences (\\1) are not supported by RE2: write the repeated text out"),
)


def re2_hint(detail: str) -> str:
    """' (lookbehind is not supported by RE2: ...)' for RE2's terse errors, else ''."""
    return next((f" ({hint})" for pattern, hint in _RE2_HINTS if pattern.match(detail)), "")


def group_part(ctx: Context, op: str, value: Any, line: int) -> Group | None:
    """The list under `all`, `any` or `none` (a single string is a list of one)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        ctx.error(line, f"'{op}' must be a list of terms")
        return None
    if not value:
        ctx.error(line, f"empty '{op}'")
        return None
    children = [element(ctx, item, line_of(value, index)) for index, item in enumerate(value)]
    if any(child is None for child in children):
        return None
    return Group(op, tuple(child for child in children if child is not None))


def element(ctx: Context, raw: Any, line: int) -> Node | None:
    """One element of all/any/none: a term, a nested {all/any/none} or a {near, within}."""
    if not isinstance(raw, Mapping):
        return term_node(ctx, raw, line)
    if "near" in raw:
        return near_node(ctx, raw)
    return condition(ctx, raw, getattr(raw, "line", line))


def condition(ctx: Context, raw: Any, line: int) -> Group | None:
    """A mapping of all / any / none; holds when every part given holds."""
    if not isinstance(raw, Mapping) or not raw:
        ctx.error(line, f"empty match (expected: {', '.join(MATCH_KEYS)})")
        return None
    if ctx.depth >= MAX_CONDITION_DEPTH:
        ctx.error(line, f"conditions nested more than {MAX_CONDITION_DEPTH} deep")
        return None
    ctx.depth += 1
    try:
        return _condition(ctx, raw)
    finally:
        ctx.depth -= 1


def _condition(ctx: Context, raw: Mapping[str, Any]) -> Group | None:
    ok = True
    for key in raw:
        if key not in MATCH_KEYS and key != SCOPE_KEY:
            known = (*MATCH_KEYS, SCOPE_KEY, *NEAR_KEYS)
            ctx.error(line_of(raw, key), f"unknown key '{key}' in match "
                      f"(expected: {', '.join(known)}){key_hint(str(key), known)}")
            ok = False
    scope = _scope(ctx, raw) if SCOPE_KEY in raw else None
    parts = [group_part(ctx, op, raw[op], line_of(raw, op)) for op in MATCH_KEYS if op in raw]
    if SCOPE_KEY in raw and scope is None:
        ok = False
    if ok and not parts:
        ctx.error(line_of(raw, SCOPE_KEY), f"'in' needs a condition beside it "
                  f"(expected: {', '.join(MATCH_KEYS)})")
        ok = False
    if not ok or any(part is None for part in parts):
        return None
    return Group("all", tuple(part for part in parts if part is not None), scope)


def _scope(ctx: Context, raw: Mapping[str, Any]) -> tuple[str, ...] | None:
    """`in: title` or `in: [title, summary]`: field names, in FIELDS order."""
    value, line = raw[SCOPE_KEY], line_of(raw, SCOPE_KEY)
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        ctx.error(line, f"'in' must be a field or a list of fields ({', '.join(FIELDS)})")
        return None
    unknown = [name for name in names if name not in FIELDS]
    if unknown:
        ctx.error(line, f"unknown field '{unknown[0]}' in 'in' (expected: {', '.join(FIELDS)})")
        return None
    return tuple(name for name in FIELDS if name in names)


def near_node(ctx: Context, raw: Mapping[str, Any]) -> Near | None:
    line = line_of(raw, "near")
    for key in raw:
        if key not in NEAR_KEYS:
            ctx.error(line_of(raw, key),
                      f"unknown key '{key}' in near (expected: {', '.join(NEAR_KEYS)})"
                      f"{suggest(str(key), NEAR_KEYS)}")
            return None
    pair = raw["near"]
    if not isinstance(pair, list) or len(pair) != 2:
        ctx.error(line, "'near' must be a list of two terms, like near: [export, ban]")
        return None
    sides = [term_node(ctx, item, line_of(pair, i), allow_regex=False)
             for i, item in enumerate(pair)]
    within = _within(ctx, raw, line)
    a, b = sides
    if not isinstance(a, Terms) or not isinstance(b, Terms) or within is None:
        return None
    return Near(a, b, within)


def _within(ctx: Context, raw: Mapping[str, Any], line: int) -> int | None:
    if "within" not in raw:
        ctx.error(line, "'near' needs 'within: N' (the most words allowed between the terms)")
        return None
    within = raw["within"]
    if isinstance(within, bool) or not isinstance(within, int) or within < 0:
        ctx.error(line_of(raw, "within"),
                  f"'within' must be a whole number of words >= 0, got {within!r}")
        return None
    return within
