"""Calendar files (.ics, RFC 5545) for an appointment or a training event, with an alarm."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Alarm, Calendar, Event

PRODID = "-//MTPE//PSV//ES"
UID_DOMAIN = "psv.trabajo.gob.pe"
ALARM_BEFORE = timedelta(hours=1)
MIME_TYPE = "text/calendar"


def uid(kind: str, entity_id: int) -> str:
    """A stable UID, so a calendar sent twice updates one entry instead of adding another."""
    return f"{kind}-{entity_id}@{UID_DOMAIN}"


def calendar_file(
    *,
    uid: str,
    start: datetime,
    end: datetime,
    summary: str,
    description: str,
    now: datetime,
    url: str | None = None,
    alarm_text: str | None = None,
) -> str:
    """One VEVENT in UTC with a display alarm an hour before; returns the file's text."""
    if start.tzinfo is None or end.tzinfo is None or now.tzinfo is None:
        raise ValueError("calendar times must be aware")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", start.astimezone(UTC))
    event.add("dtend", end.astimezone(UTC))
    event.add("summary", summary)
    event.add("description", description)
    if url:
        event.add("url", url)
        event.add("location", url)
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", alarm_text or summary)
    alarm.add("trigger", -ALARM_BEFORE)
    event.add_component(alarm)
    calendar.add_component(event)
    data: bytes = calendar.to_ical()
    return data.decode("utf-8")
