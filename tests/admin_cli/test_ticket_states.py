"""Ticket states are defined once (core/states.py); the CLI's own enum must read the same."""

from __future__ import annotations

from admin_cli.commands.tickets import TicketStatus as CliTicketStatus
from bot.admin_api.tickets import STATUSES
from core.states import TicketStatus


def test_the_cli_ticket_statuses_equal_the_core_ones() -> None:
    # admin_cli speaks HTTP only and imports nothing of core (test_wall.py), so it keeps a copy.
    assert [s.value for s in CliTicketStatus] == [s.value for s in TicketStatus]


def test_the_admin_api_filters_by_the_core_ticket_statuses() -> None:
    assert tuple(s.value for s in TicketStatus) == STATUSES
