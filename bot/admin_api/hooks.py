"""Functions of modules other engineers are landing (bot/notify.py, core/meetings.py).

HOOK: each is looked up when called, so the admin API works with or without them; once they
are committed everywhere these lookups can become plain imports.
"""

from __future__ import annotations

import importlib
from typing import Any


def optional(module: str, name: str) -> Any:
    """The function `name` of `module`, or None while that module or function is missing."""
    try:
        found = importlib.import_module(module)
    except ModuleNotFoundError:
        return None
    return getattr(found, name, None)


def after_day_off() -> Any:
    """bot.notify.after_day_off: moves or re-asks the appointments in a specialist's days off."""
    return optional("bot.notify", "after_day_off")


def event_cancelled() -> Any:
    """bot.notify.event_cancelled: tells every registrant and withdraws their reminders."""
    return optional("bot.notify", "event_cancelled")


def attach_link() -> Any:
    """core.meetings.attach_link: gives a video event its session link."""
    return optional("core.meetings", "attach_link")
