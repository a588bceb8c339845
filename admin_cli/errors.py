"""Exit codes of `psv-admin` and the one error type its commands raise."""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """Process exit codes; scripts may rely on them (docs/admin-cli.md lists them)."""

    OK = 0
    FAILURE = 1  # anything else: a local file that cannot be written, an aborted edit
    USAGE = 2  # wrong command line (Click's own code for usage errors)
    UNAUTHORIZED = 3  # 401, or not logged in; 429 after too many refused tokens
    FORBIDDEN = 4  # 403: outside the token's role or region
    NOT_FOUND = 5  # 404
    INVALID = 6  # 422 or 400: the server refused what was sent
    CONFLICT = 7  # 409: e.g. nothing to roll back to
    SERVER = 8  # 5xx, an unreadable answer, or the server cannot be reached


STATUS_EXIT = {
    400: ExitCode.INVALID,
    401: ExitCode.UNAUTHORIZED,
    403: ExitCode.FORBIDDEN,
    404: ExitCode.NOT_FOUND,
    409: ExitCode.CONFLICT,
    422: ExitCode.INVALID,
    429: ExitCode.UNAUTHORIZED,
}


def exit_code_for_status(status: int) -> ExitCode:
    """The exit code for an HTTP error status."""
    if status in STATUS_EXIT:
        return STATUS_EXIT[status]
    if status >= 500:
        return ExitCode.SERVER
    if 400 <= status < 500:
        return ExitCode.INVALID
    return ExitCode.SERVER


class CliError(Exception):
    """A failure to report to the admin: one message, optional details and hint, an exit code."""

    def __init__(
        self,
        message: str,
        exit_code: ExitCode = ExitCode.FAILURE,
        *,
        code: str | None = None,
        status: int | None = None,
        details: Any = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.code = code
        self.status = status
        self.details = details
        self.hint = hint
