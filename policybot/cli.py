"""python bot.py <command>: subcommands -> app functions.

A PolicybotError prints its message (one line per error) to stderr and exits 1; anything
else is a bug and prints a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from policybot import __version__
from policybot.errors import PolicybotError

log = logging.getLogger("policybot")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bot.py", description="policybot: trade-policy change alerts from feeds to chat.")
    parser.add_argument("--version", action="version", version=f"policybot {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default="config.yaml", help="config file (default: config.yaml)")
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", parents=[common], help="run the service until SIGINT/SIGTERM")
    sub.add_parser("once", parents=[common], help="poll every feed once, deliver what is due, exit")
    sub.add_parser("check", parents=[common], help="validate config and rules")
    tr = sub.add_parser("test-rules", parents=[common],
                        help="dry run: show what the rules match in feeds or files; sends nothing")
    tr.add_argument("sources", nargs="*", metavar="SOURCE",
                    help="feed URL, feed file, or JSON Lines file of items")
    tr.add_argument("--rule", action="append", metavar="ID", help="only this rule (repeatable)")
    tr.add_argument("--json", action="store_true", help="one JSON line per item")
    tr.add_argument("--explain", action="store_true",
                    help="every item, with one line per rule: which part held or failed")
    tr.add_argument("--since", metavar="AGE",
                    help="backtest against items the bot polled in this window (e.g. 30d)")
    sub.add_parser("status", parents=[common], help="feeds, outbox, alerts per rule, subscriptions")
    st = sub.add_parser("send-test", parents=[common], help="post a test alert to one destination")
    st.add_argument("destination", metavar="DESTINATION")
    return parser


def setup_logging(verbose: bool) -> None:
    from policybot.notify.base import RedactingFilter

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%Y-%m-%dT%H:%M:%S")
    for handler in logging.getLogger().handlers:  # control characters, from the first line on
        handler.addFilter(RedactingFilter(()))    # (commands.load adds the config's secrets)
    for noisy in ("apscheduler", "httpx", "telegram", "aiohttp.access", "slack_sdk"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    from policybot import commands  # after parsing: `--version` and `--help` load no command

    handler = {
        "run": commands.run, "once": commands.once, "check": commands.check,
        "test-rules": commands.test_rules, "status": commands.status,
        "send-test": commands.send_test,
    }[args.command]
    try:
        result = handler(args)
        if isinstance(result, int):  # check, status: no event loop, no asyncio import
            return result
        import asyncio

        return asyncio.run(result)
    except PolicybotError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            print(line, file=sys.stderr)  # noqa: T201 - the CLI's one-line error contract
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `bot.py status | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # as the Python docs advise
        return 0
