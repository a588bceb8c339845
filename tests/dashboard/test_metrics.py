"""/metrics after real traffic through `psv serve`: counters and histograms move."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.dashboard.support import CHAT, db_rows, sample, scrape, tap, text_of, up_to_confirmation
from tests.e2e.stack import Stack


def parse(stored: str) -> datetime:
    found = datetime.fromisoformat(stored)
    return found if found.tzinfo else found.replace(tzinfo=UTC)


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with Stack(tmp_path) as running:
        yield running


async def test_a_booking_moves_the_metrics(stack: Stack) -> None:
    before = await scrape(stack)
    assert sample(before, "psv_bookings_total", outcome="booked") == 0
    assert sample(before, "psv_outbox_depth", status="pending") == 0
    assert sample(before, "psv_database_up") == 1

    confirm = await up_to_confirmation(stack)
    replies = await tap(stack, confirm, "Sí")
    assert "Su cita está confirmada" in text_of(replies)
    # A refused webhook (wrong secret) is an error of its kind.
    assert await stack.tg_post(stack.tg_text(CHAT, "hola"), secret="wrong") == 401

    after = await scrape(stack)
    [(inbound,)] = db_rows(stack, "SELECT count(*) FROM inbound_message WHERE status = 'done'")
    assert sample(after, "psv_inbound_messages_total", channel="telegram", status="queued") == (
        inbound
    )
    assert sample(after, "psv_bookings_total", outcome="booked") == 1
    [(booked,)] = db_rows(stack, "SELECT count(*) FROM appointment WHERE status = 'booked'")
    assert booked == 1
    sent = sample(after, "psv_outbound_messages_total", channel="telegram", status="sent")
    [(in_db,)] = db_rows(
        stack, "SELECT count(*) FROM outbox_message WHERE status = 'sent' AND channel = 'telegram'"
    )
    assert sent == in_db > 0
    # Every webhook answered (14 turns + the refused one) is in the latency histogram.
    answered = sample(after, "psv_webhook_seconds_count", channel="telegram", code="200")
    assert answered == inbound
    assert sample(after, "psv_webhook_seconds_count", channel="telegram", code="401") == 1
    assert sample(after, "psv_turn_seconds_count") == inbound
    assert sample(after, "psv_turn_seconds_bucket", le="+Inf") == inbound
    assert sample(after, "psv_errors_total", kind="webhook_refused", detail="401") == 1
    # Reminders wait in the outbox: depth counts them; none is due yet.
    [(pending,)] = db_rows(stack, "SELECT count(*) FROM outbox_message WHERE status = 'pending'")
    assert pending >= 1
    assert sample(after, "psv_outbox_depth", status="pending") == pending
    # The oldest due pending message's age matches the database (0 when none is due).
    now = datetime.now(UTC)
    due = [
        parse(at)
        for (at,) in db_rows(stack, "SELECT due_at FROM outbox_message WHERE status = 'pending'")
    ]
    oldest = max([(now - at).total_seconds() for at in due if at <= now], default=0.0)
    assert abs(sample(after, "psv_outbox_oldest_due_seconds") - oldest) < 5
    replies = [
        parse(at)
        for (at,) in db_rows(
            stack,
            "SELECT due_at FROM outbox_message WHERE status = 'pending' AND priority = 10",
        )
    ]
    oldest_reply = max([(now - at).total_seconds() for at in replies if at <= now], default=0.0)
    assert abs(sample(after, "psv_outbox_oldest_reply_seconds") - oldest_reply) < 5
    assert sample(after, "psv_inbox_queued") == 0
