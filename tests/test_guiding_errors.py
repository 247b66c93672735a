"""Rule and config errors that guide a newcomer: the path as typed, "did you mean", the section
a key belongs under, which clause an example failed, what RE2 cannot do. One bad file per case
(tests/data/rules/), full messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from policybot.config import load_config
from policybot.errors import ConfigError, RuleError
from policybot.matching.rules import check_examples, load_rules

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
RULE_KEYS = "id, title, severity, match, fields, feeds, notify, examples"


@pytest.fixture(autouse=True)
def _in_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA)


def rule_errors(path: str) -> list[str]:
    with pytest.raises(RuleError) as caught:
        load_rules([path])
    return caught.value.errors


def config_errors(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    return [e.removeprefix(f"{path}:") for e in caught.value.errors]


def test_a_misspelt_match_key_suggests_the_right_one() -> None:
    assert rule_errors("rules/misspelt_match_key.yaml") == [
        "rules/misspelt_match_key.yaml:5: rule 'tariffs': unknown key 'anyy' in match "
        "(expected: all, any, none, in, near, within) (did you mean 'any'?)"]


def test_a_misspelt_rule_key_suggests_the_right_one() -> None:
    assert rule_errors("rules/misspelt_examples.yaml") == [
        f"rules/misspelt_examples.yaml:5: rule 'tariffs': unknown key 'exampels' "
        f"(expected: {RULE_KEYS}) (did you mean 'examples'?)"]


def test_a_key_one_level_too_high_says_where_it_belongs() -> None:
    assert rule_errors("rules/none_outside_match.yaml") == [
        f"rules/none_outside_match.yaml:5: rule 'tariffs': unknown key 'none' "
        f"(expected: {RULE_KEYS}) (did you mean to put 'none' under 'match:'?)",
        f"rules/none_outside_match.yaml:8: rule 'tariffs': unknown key 'no_match' "
        f"(expected: {RULE_KEYS}) (did you mean to put 'no_match' under 'examples:'?)"]


def test_what_re2_cannot_do_is_explained() -> None:
    source = "rules/re2_unsupported.yaml"
    assert rule_errors(source) == [
        f"{source}:5: invalid regex /(?<!anti-)dumping duty/: invalid perl operator: (?<! "
        "(lookbehind is not supported by RE2: match the words before it as part of the regex, "
        "or use a term with none: or near:)",
        f"{source}:6: invalid regex /tariff(?= increase)/: invalid perl operator: (?= "
        "(lookahead is not supported by RE2: match the words after it as part of the regex, "
        "or use a term with none: or near:)",
        f"{source}:7: invalid regex /(duty)\\s+\\1/: invalid escape sequence: \\1 "
        "(backreferences (\\1) are not supported by RE2: write the repeated text out)",
        f"{source}:8: invalid regex /(?>tariff)s/: invalid perl operator: (?> "
        "(atomic groups and possessive quantifiers are not supported by RE2 (nor needed: it "
        "never backtracks))"]


def test_a_failing_example_says_which_clause_did_not_hold() -> None:
    source = "rules/failing_example_clause.yaml"
    assert check_examples(load_rules([source])) == [
        f"{source}:9: rule 'tariffs': example 'Opinion: the tariff raise' did not match: "
        "none failed: in title: 'opinion' 'Opinion' in title",
        f"{source}:10: rule 'tariffs': example 'Tariff news' did not match: "
        "any failed: no 'raise', no 'cut'"]


def test_config_keys_misspelt_or_misplaced(tmp_path: Path) -> None:
    assert config_errors(tmp_path, """\
storage: {path: state.db}
every: 10m
feeds:
  - id: mofcom
    url: https://example.org/feed.xml
    evry: 30m
destinations:
  desk: {type: slack, webhook_url: "https://hooks.example/x", chanel: C0123ABCD}
""") == [
        "2: config: unknown key 'every' (expected: storage, rules, defaults, feeds, destinations, "
        "telegram, slack, delivery, ops, metrics, health, fetch, console, stories) "
        "(did you mean to put 'every' under 'defaults:'?)",
        "8: destination 'desk': unknown key 'chanel' (expected: type, webhook_url, token, "
        "channel, chat_id, api_url, rate) (did you mean 'channel'?)",
        "6: feed 'mofcom': unknown key 'evry' (expected: id, url, every, tags, backfill, title) "
        "(did you mean 'every'?)"]


def test_check_names_rule_files_relative_to_the_current_folder(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "x.yaml").write_bytes(
        (DATA / "rules" / "misspelt_match_key.yaml").read_bytes())
    (tmp_path / "config.yaml").write_text("rules: rules/\n", encoding="utf-8")
    result = subprocess.run([sys.executable, str(ROOT / "bot.py"), "check"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "rules/x.yaml:5: rule 'tariffs': unknown key 'anyy' in match "
        "(expected: all, any, none, in, near, within) (did you mean 'any'?)"]


def test_an_absolute_config_path_inside_the_current_folder_is_shown_relative(
        tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("rules: rules/\ndefaults: {evry: 10m}\n", encoding="utf-8")
    result = subprocess.run([sys.executable, str(ROOT / "bot.py"), "check", "--config",
                             str(tmp_path / "config.yaml")], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "config.yaml:2: defaults: unknown key 'evry' (expected: every, backfill, notify) "
        "(did you mean 'every'?)"]
