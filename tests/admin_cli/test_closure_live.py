"""`psv-admin closures add` against the real `psv serve`: the counts of what the closure did.

A citizen books on Telegram (the fake Bot API), the admin closes that day; the CLI prints how
many appointments were moved, cancelled and re-offered, and the citizen's chat receives the
apology with new times.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tests.admin_cli.test_live import Live, _book, _text, live

__all__ = ["live"]  # the running server of test_live, started again for this module

LIMA = ZoneInfo("America/Lima")


async def test_closing_a_booked_day_prints_what_became_of_its_appointments(live: Live) -> None:
    chat = 9100077
    assert "Su cita está confirmada" in await _book(live.stack, chat)
    [booked] = await live.json("appointments", "list", "--status", "booked")
    day = datetime.fromisoformat(booked["start"]).astimezone(LIMA).date().isoformat()
    before = len(live.stack.tg_sent(chat))

    closed = await live.run("closures", "add", "--from", day, "--reason", "Paro regional")

    assert closed.exit_code == 0, closed.output
    assert f"Closed PE-ARE from {day} to {day}" in closed.stdout
    assert (
        "Appointments in those days: 0 moved to colleagues, 1 cancelled, "
        "of which 1 citizens were offered new times." in " ".join(closed.stdout.split())
    )
    [cancelled] = await live.json("appointments", "list", "--status", "cancelled")
    assert cancelled["id"] == booked["id"]
    told = ""
    for _ in range(20):  # the worker sends it within its pacing; later notices may follow
        told += _text(await live.stack.tg_wait(chat, before))
        before = len(live.stack.tg_sent(chat))
        if "fue cancelada" in told:
            break
    assert "fue cancelada" in told and "nuevo horario" in told
    # The same day again: a second closure finds nothing left to follow up.
    again = await live.json("closures", "add", "--from", day, "--reason", "Paro regional")
    assert again["appointments"] == {"moved": 0, "cancelled": 0, "reoffered": 0}
