"""The command line's entry point, as `bot.py` and `python -m policybot` call it.

Standard library only: it runs before anything third-party is imported, so that a Python
without the bot's dependencies (the system one, not `.venv`) gets one line saying which
Python to use instead of a ModuleNotFoundError traceback.
"""

from __future__ import annotations

import sys

NO_DEPS_EXIT = 1


def missing_dependency(exc: ModuleNotFoundError) -> str | None:
    """The third-party module missing, or None when it is ours or the standard library's
    (a bug, which keeps its traceback)."""
    top = (exc.name or "").split(".")[0]
    if not top or top == "policybot" or top in sys.stdlib_module_names:
        return None
    return top


def main() -> int:
    try:
        from policybot.cli import main as cli_main

        return cli_main()
    except ModuleNotFoundError as exc:
        module = missing_dependency(exc)
        if module is None:
            raise
        sys.stderr.write(
            f"policybot: this Python ({sys.executable}) lacks the module '{module}': "
            "use `make run`, or `.venv/bin/python bot.py ...` once `make run` has made .venv\n")
        return NO_DEPS_EXIT
