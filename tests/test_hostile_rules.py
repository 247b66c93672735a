"""Hostile rule files and texts: every bound is a named constant, every refusal one
`FILE:LINE:` line, never a traceback, a crash, a stall or a blow-up. The hostile files are
generated here, in tmp_path."""

from __future__ import annotations

import json
import os
import random
import resource
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from policybot import yamlsrc
from policybot.errors import ConfigError, RuleError
from policybot.matching import conditions, evaluate, scan
from policybot.matching.engine import Engine
from policybot.matching.evaluate import FieldState, near_pairs
from policybot.matching.normalize import normalize
from policybot.matching.rules import MAX_RULES_BYTES, load_rules
from policybot.matching.spec import Near, Term, Terms
from policybot.matching.watch import MAX_WATCH_CHARS, parse_watch
from policybot.model import Item

ROOT = Path(__file__).resolve().parents[1]
MEMORY = 3 << 30   # address space a hostile input may take (Python, libraries, threads: ~1 GB)

# 600 bytes whose title is 9^9 strings when expanded (the "billion laughs"; the title's error
# message used to print it all)
BOMB = "rules:\n  - id: bomb\n    match: {any: [gallium]}\n" + "".join(
    f"    x{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9) if n > 1 else ', '.join(['lol'] * 9)}]\n"
    for n in range(1, 10)) + "    title: *l9\n"


def limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def bot(cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "bot.py"), *args], cwd=cwd, text=True,
                          capture_output=True, timeout=timeout, preexec_fn=limited)


def one_clear_line(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert expected in result.stderr, result.stderr


def errors_of(tmp_path: Path, text: str, name: str = "r.yaml") -> list[str]:
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        load_rules([tmp_path])
    return caught.value.errors


def rule(match: str) -> str:
    return f"rules:\n  - id: r\n    match: {match}\n"


@pytest.fixture
def world(tmp_path: Path) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "ok.yaml").write_text(rule("{any: [gallium]}"))
    (tmp_path / "config.yaml").write_text("storage: {path: state/db.sqlite3}\nrules: rules/\n")
    return tmp_path


# YAML aliases and nesting ---------------------------------------------------------------------
def test_yaml_aliases_are_refused_where_they_are_written(tmp_path: Path) -> None:
    assert len(BOMB) < 700
    errors = errors_of(tmp_path, BOMB)
    assert errors == [f"{tmp_path}/r.yaml:5: YAML aliases (*l1) are not allowed"]
    with pytest.raises(ConfigError, match=r"^x\.yaml:2: YAML aliases \(\*base\) are not allowed$"):
        yamlsrc.loads("a: &base {every: 1m}\nb: {<<: *base}\n", "x.yaml")


def test_alias_bomb_in_check_is_one_line_and_quick(world: Path) -> None:
    (world / "rules" / "bomb.yaml").write_text(BOMB)
    one_clear_line(bot(world, "check"), "rules/bomb.yaml:5: YAML aliases (*l1) are not allowed")
    (world / "rules" / "bomb.yaml").unlink()
    (world / "config.yaml").write_text("storage: {path: state/db.sqlite3}\n" + BOMB)
    one_clear_line(bot(world, "check"), "config.yaml:6: YAML aliases (*l1) are not allowed")


def test_yaml_nesting_deeper_than_max_depth_is_a_located_error(tmp_path: Path) -> None:
    depth = yamlsrc.MAX_DEPTH
    yamlsrc.loads("[" * depth + "]" * depth, "ok.yaml")
    deep = "rules:\n  - id: r\n    match:\n      " + "[" * depth + "]" * depth + "\n"
    assert errors_of(tmp_path, deep) == [
        f"{tmp_path}/r.yaml:4: nested more than {depth} levels deep"]


def test_condition_depth_is_bounded_with_its_line(tmp_path: Path) -> None:
    def nested(levels: int) -> str:
        return "{all: [" * (levels - 1) + "{any: [gallium]}" + "]}" * (levels - 1)

    assert load_rules([_write(tmp_path, "ok.yaml", rule(nested(conditions.MAX_CONDITION_DEPTH)))])
    errors = errors_of(tmp_path, rule(nested(conditions.MAX_CONDITION_DEPTH + 1)), "ok.yaml")
    assert errors == [f"{tmp_path}/ok.yaml:3: rule 'r': conditions nested more than "
                      f"{conditions.MAX_CONDITION_DEPTH} deep"]


def test_200_deep_all_is_an_error_not_a_recursion_traceback(world: Path) -> None:
    (world / "rules" / "deep.yaml").write_text(rule("{all: [" * 200 + "gallium" + "]}" * 200))
    one_clear_line(bot(world, "check"), "rules/deep.yaml:3: nested more than")


def _write(folder: Path, name: str, text: str) -> Path:
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


# terms -----------------------------------------------------------------------------------------
def test_terms_aliases_near_sides_and_regexes_have_a_length_bound(tmp_path: Path) -> None:
    ok, long = "g" * conditions.MAX_TERM_CHARS, "g" * (conditions.MAX_TERM_CHARS + 1)
    regex_ok, regex_long = "a" * conditions.MAX_REGEX_CHARS, "a" * (conditions.MAX_REGEX_CHARS + 1)
    assert load_rules([_write(tmp_path, "r.yaml", f"""\
entities:
  e: [{ok}]
rules:
  - id: r
    match: {{any: [{ok}, $e, /{regex_ok}/, {{near: [{ok}, b], within: 2}}]}}
""")])
    errors = errors_of(tmp_path, f"""\
entities:
  e: [x, {long}]
rules:
  - id: r
    match:
      any: [{long}, /{regex_long}/]
      all: [{{near: [b, {long}], within: 2}}]
""")
    limit, regex, g30 = conditions.MAX_TERM_CHARS, conditions.MAX_REGEX_CHARS, "g" * 30
    assert errors == [
        f"{tmp_path}/r.yaml:2: entity 'e': term '{g30}'... is {limit + 1} characters long "
        f"(at most {limit})",
        f"{tmp_path}/r.yaml:6: term '{g30}'... is {limit + 1} characters long (at most {limit})",
        f"{tmp_path}/r.yaml:6: regex '/{'a' * 29}'... is {regex + 1} characters long "
        f"(at most {regex})",
        f"{tmp_path}/r.yaml:7: term '{g30}'... is {limit + 1} characters long (at most {limit})",
    ]


def test_a_600_kb_term_is_an_error_not_a_segfault(world: Path) -> None:
    (world / "rules" / "huge.yaml").write_text(rule("{any: [x" + "y" * 600_000 + "]}"))
    result = bot(world, "check")
    one_clear_line(result, f"rules/huge.yaml:3: term 'x{'y' * 29}'... is "
                           "600,001 characters long (at most 200)")
    assert len(result.stderr.splitlines()) == 1


def test_watch_terms_and_text_are_bounded() -> None:
    assert parse_watch("g" * conditions.MAX_TERM_CHARS, "telegram:1")
    with pytest.raises(RuleError, match="at most 200"):
        parse_watch("gallium " + "g" * (conditions.MAX_TERM_CHARS + 1), "telegram:1")
    with pytest.raises(RuleError, match=f"at most {MAX_WATCH_CHARS} characters"):
        parse_watch("ab " * MAX_WATCH_CHARS, "telegram:1")


# files: size and kind --------------------------------------------------------------------------
def test_a_rules_file_over_the_size_bound_is_refused_unread(tmp_path: Path) -> None:
    assert MAX_RULES_BYTES == 1 << 20
    filler = "# " + "x" * 98 + "\n"
    text = rule("{any: [gallium]}") + filler * (MAX_RULES_BYTES // len(filler))
    assert len(text) < MAX_RULES_BYTES
    assert load_rules([_write(tmp_path, "r.yaml", text)])
    assert errors_of(tmp_path, text + filler) == [
        f"{tmp_path}/r.yaml: larger than 1 MB: refused"]


def _special(folder: Path, kind: str) -> Path:
    path = folder / f"{kind}.yaml"
    if kind == "device":
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        sock.close()
    return path


@pytest.mark.parametrize(("kind", "said"), [("device", "a device"), ("fifo", "a FIFO"),
                                            ("folder", "a folder"), ("socket", "a socket")])
def test_special_files_in_rules_are_refused_without_reading(tmp_path: Path, kind: str,
                                                            said: str) -> None:
    path = _special(tmp_path, kind)
    with pytest.raises(RuleError) as caught:
        load_rules([tmp_path])
    assert caught.value.errors == [f"{path}: is {said}, not a regular file: refused"]
    if kind != "folder":   # a folder named directly is a folder of rules
        with pytest.raises(RuleError) as caught:
            load_rules([path])
        assert caught.value.errors == [f"{path}: is {said}, not a regular file: refused"]


def test_dev_zero_and_a_fifo_as_rules_in_check_end_at_once(world: Path) -> None:
    _special(world / "rules", "device")
    one_clear_line(bot(world, "check", timeout=30),
                   "rules/device.yaml: is a device, not a regular file: refused")
    (world / "rules" / "device.yaml").unlink()
    _special(world / "rules", "fifo")   # no writer: opening it would hang
    one_clear_line(bot(world, "check", timeout=30),
                   "rules/fifo.yaml: is a FIFO, not a regular file: refused")


def test_a_dangling_symlink_an_editors_lock_file_is_skipped(tmp_path: Path) -> None:
    _write(tmp_path, "r.yaml", rule("{any: [gallium]}"))
    (tmp_path / ".#r.yaml").symlink_to("root@host.1234")
    assert [r.id for r in load_rules([tmp_path]).rules] == ["r"]


# hits ------------------------------------------------------------------------------------------
HITS_RULES = """\
entities:
  ree: [rare earth, rare-earth element]
rules:
  - id: a
    match: {all: [$ree, gallium, dysprosium, export control, /exp\\w+/, {near: [gallium, ban], within: 3}]}
  - id: b
    match: {any: [gallium]}
"""
REPEAT = "gallium export control ban rare earth dysprosium "


def test_hits_are_bounded_where_they_are_collected(tmp_path: Path) -> None:
    engine = Engine(load_rules([_write(tmp_path, "r.yaml", HITS_RULES)]).rules)
    text = REPEAT * 50_000   # 2.5 MB, 300,000 occurrences
    found = scan.scan(engine._automaton, normalize(text).text)
    assert {len(spans) for spans in found.values()} == {scan.MAX_SPANS_PER_KEY}
    matches = engine.match(Item("f", "x", "Gallium", None, text, "", None))
    assert [m.rule_id for m in matches] == ["a", "b"]
    a, b = matches
    assert len(a.hits) <= evaluate.MAX_HITS_PER_MATCH
    assert len(b.hits) == evaluate.MAX_HITS_PER_TERM + 1   # summary, plus the one in the title
    per_term: dict[tuple[str, str], int] = {}
    for hit in a.hits:
        per_term[hit.term, hit.field] = per_term.get((hit.term, hit.field), 0) + 1
    assert max(per_term.values()) == evaluate.MAX_HITS_PER_TERM
    assert {"rare earth", "gallium", "dysprosium", "export control", "/exp\\w+/", "ban"} == {
        term for term, _ in per_term}
    assert [(h.start, h.end) for h in a.hits] == sorted((h.start, h.end) for h in a.hits
                                                         if h.field == "title") + sorted(
        (h.start, h.end) for h in a.hits if h.field == "summary")


def test_max_hits_per_match_keeps_the_first_in_text_order(tmp_path: Path) -> None:
    words = [f"w{n}" for n in range(300)]
    rules = f"rules:\n  - id: r\n    match: {{all: [{', '.join(words)}]}}\n"
    engine = Engine(load_rules([_write(tmp_path, "r.yaml", rules)]).rules)
    text = " ".join(words)
    (match,) = engine.match(Item("f", "x", "", None, text, "", None))
    assert [h.term for h in match.hits] == words[:evaluate.MAX_HITS_PER_MATCH]


def test_near_finds_exactly_the_pairs_of_the_quadratic_definition() -> None:
    rng = random.Random(7)
    for _ in range(300):
        text = " ".join(rng.choice(["a", "b", "ab", "x", "y", "a-b"]) for _ in range(rng.randint(1, 30)))
        norm = normalize(text)
        found = scan.scan(scan.build_automaton(["a", "b", "a b"]), norm.text)
        field = FieldState("summary", 1, norm, found)
        for a, b in (("a", "b"), ("a", "a b"), ("b", "b")):
            node = Near(_terms(a), _terms(b), rng.randint(0, 3))
            assert near_pairs(node, field) == _near_slowly(node, field), (text, a, b)


def _terms(key: str) -> Terms:
    return Terms((Term(key, None, key),))


def _near_slowly(node: Near, field: FieldState) -> list[tuple[int, int]]:
    starts = field.word_starts()
    pairs = set()
    for a in field.found.get(node.a.terms[0].key, ()):
        for b in field.found.get(node.b.terms[0].key, ()):
            first, second = (a, b) if a[0] <= b[0] else (b, a)
            last = sum(1 for s in starts if s <= first[1] - 1) - 1
            begin = sum(1 for s in starts if s <= second[0]) - 1
            if first[1] <= second[0] and max(0, begin - last - 1) <= node.within:
                pairs |= {a, b}
    return sorted(pairs)


def test_test_rules_on_a_10_mb_summary_is_bounded(world: Path) -> None:
    (world / "rules" / "ok.yaml").write_text(HITS_RULES)
    line = {"id": "big", "title": "Gallium", "summary": (REPEAT * 210_000)[:10_000_000]}
    (world / "items.jsonl").write_text(json.dumps(line) + "\n")
    result = bot(world, "test-rules", "items.jsonl", "--json", timeout=120)
    assert result.returncode == 0, result.stderr
    (out,) = [json.loads(text) for text in result.stdout.splitlines()]
    assert out["rules"] == ["a", "b"]
    assert set(out["terms"]) == {"gallium", "rare earth", "dysprosium", "export control",
                                 "/exp\\w+/", "ban"}
