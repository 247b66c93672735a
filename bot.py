"""policybot entry point: python bot.py <command> [--config FILE]."""
from policybot.cli import main

raise SystemExit(main())
