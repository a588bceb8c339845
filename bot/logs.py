"""Structured logs: one JSON object per line, never personal data (callers pass pseudonyms)."""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line: time, level, logger, message (and the error)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str = "INFO") -> None:
    """Send PSV's logs to stderr as JSON lines; keep libraries' chatter at warnings."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("psv").setLevel(level)
    # aiohttp's access log carries client addresses and paths only, no bodies.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def pseudonym(value: str) -> str:
    """A stable, non-reversible tag for logs in place of a chat id or phone number."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]
