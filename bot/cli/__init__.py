"""The `psv` command: database, seed, the booking core, the processes and the channels.

Commands live by topic beside this file (database, processes, channels, chat, flows,
tokens); each imports what it needs when it runs, so `psv --help` stays fast.
"""

from __future__ import annotations

import sys

from bot.cli import channels, chat, database, flows, processes, tokens
from bot.cli.app import app

__all__ = ["app", "channels", "chat", "database", "flows", "main", "processes", "tokens"]


def main() -> None:
    """Entry point of the `psv` console script."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
