"""Calendar files, parsed back with icalendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from core import ics

LIMA = ZoneInfo("America/Lima")
START = datetime(2026, 12, 1, 9, 0, tzinfo=LIMA)
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
LINK = "https://meet.jit.si/psv-abcdef"


def _parse(text: str) -> Calendar:
    return Calendar.from_ical(text)


def _make(**overrides: object) -> str:
    values: dict[str, object] = {
        "uid": ics.uid("appointment", 42),
        "start": START,
        "end": START + timedelta(minutes=30),
        "summary": "Consultas laborales",
        "description": f"Entre a la videollamada con este enlace: {LINK}",
        "now": NOW,
        "url": LINK,
    }
    values.update(overrides)
    return ics.calendar_file(**values)  # type: ignore[arg-type]


def test_one_event_with_uid_summary_and_link() -> None:
    calendar = _parse(_make())
    [event] = calendar.walk("VEVENT")
    assert str(event["UID"]) == "appointment-42@psv.trabajo.gob.pe"
    assert str(event["SUMMARY"]) == "Consultas laborales"
    assert LINK in str(event["DESCRIPTION"])
    assert str(event["URL"]) == LINK
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"])


def test_times_are_in_utc() -> None:
    text = _make()
    assert "DTSTART:20261201T140000Z" in text  # 09:00 in Lima is 14:00 UTC
    assert "DTEND:20261201T143000Z" in text
    [event] = _parse(text).walk("VEVENT")
    assert event.decoded("DTSTART") == START
    assert event.decoded("DTSTART").utcoffset() == timedelta(0)
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=30)
    assert event.decoded("DTSTAMP") == NOW


def test_a_display_alarm_one_hour_before() -> None:
    [event] = _parse(_make(alarm_text="Su cita empieza en una hora.")).walk("VEVENT")
    [alarm] = event.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert alarm.decoded("TRIGGER") == -timedelta(hours=1)
    assert str(alarm["DESCRIPTION"]) == "Su cita empieza en una hora."


def test_without_link_there_is_no_url() -> None:
    [event] = _parse(_make(url=None, description="El especialista le llamará.")).walk("VEVENT")
    assert "URL" not in event
    assert "LOCATION" not in event


def test_non_ascii_text_survives() -> None:
    [event] = _parse(_make(summary="Liquidación de beneficios — Áncash")).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Liquidación de beneficios — Áncash"


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        _make(start=datetime(2026, 12, 1, 9, 0))


def test_lines_end_with_crlf() -> None:
    text = _make()
    assert text.startswith("BEGIN:VCALENDAR\r\n")
    assert text.rstrip("\r\n").endswith("END:VCALENDAR")
