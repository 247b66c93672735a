"""A newcomer's first commands: the wrong Python, the refusal and test texts, a calm log."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("entry", [["bot.py"], ["-m", "policybot"]])
def test_a_python_without_the_dependencies_says_which_to_use(entry: list[str]) -> None:
    # -S: no site-packages (the venv's included); -E -s: no PYTHONPATH, no user site. The
    # repository itself stays importable (the script's folder, or the cwd for -m).
    result = subprocess.run([sys.executable, "-E", "-s", "-S", *entry, "check"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"policybot: this Python ({sys.executable}) lacks the module '")
    assert line.endswith("': use `make run`, or `.venv/bin/python bot.py ...` "
                         "once `make run` has made .venv")


def test_a_missing_module_of_our_own_keeps_its_traceback() -> None:
    from policybot.entry import missing_dependency

    assert missing_dependency(ModuleNotFoundError(name="aiohttp")) == "aiohttp"
    assert missing_dependency(ModuleNotFoundError(name="telegram.ext")) == "telegram"
    assert missing_dependency(ModuleNotFoundError(name="policybot.nothing")) is None
    assert missing_dependency(ModuleNotFoundError(name="tomllib")) is None
