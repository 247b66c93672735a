"""The blind story sets (tests/data/stories-blind.jsonl and stories-final.jsonl) are measurements,
not targets: no floor here on purpose. These tests only keep them well formed, disjoint from the
other sets, and printed by `python -m bench.eval_stories` (what `make eval` runs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench import eval_stories

ROOT = Path(__file__).resolve().parents[1]
VALIDATOR = ROOT / "tests" / "data" / "shared" / "eval" / "validate_stories.py"


def _validate(first: Path, second: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(VALIDATOR), str(first), str(second)],
                          capture_output=True, text=True, timeout=120)


def test_blind_set_is_valid_and_shares_nothing_with_dev_or_extra() -> None:
    for other in (eval_stories.DATA, eval_stories.EXTRA):
        done = _validate(other, eval_stories.BLIND)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "shared story or group keys between the files: 0" in done.stdout
        assert "WARNING" not in done.stdout, done.stdout


def test_final_set_is_valid_and_shares_nothing_with_the_other_three() -> None:
    for other in (eval_stories.DATA, eval_stories.EXTRA, eval_stories.BLIND):
        done = _validate(other, eval_stories.FINAL)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "shared story or group keys between the files: 0" in done.stdout
        assert "WARNING" not in done.stdout, done.stdout


def test_eval_prints_the_blind_block_after_the_extra_one_and_the_final_block_last() -> None:
    done = subprocess.run([sys.executable, "-m", "bench.eval_stories"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    extra = lines.index(f"{eval_stories.EXTRA_LABEL}:")
    blind = lines.index(f"{eval_stories.BLIND_LABEL}:")
    assert blind > extra
    assert lines[blind + 1].startswith("stories all: 127 items  pairwise precision ")
    assert [line.split(":")[0] for line in lines[blind + 1:blind + 4]] == [
        "stories all", "stories tune", "stories holdout"]
    final = lines.index(f"{eval_stories.FINAL_LABEL}:")
    assert final == blind + 4
    assert lines[final + 1].startswith("stories all: 122 items  pairwise precision ")
    assert [line.split(":")[0] for line in lines[final + 1:]] == [
        "stories all", "stories tune", "stories holdout"]
