"""The one writer of outbox rows (bot/outbox/rows.py), on both databases."""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import event, select

from bot import outbox
from bot.messages import REPLY_PRIORITY, Inbound, Outbound
from core.db import Database
from core.models import OutboxMessage
from core.states import OutboxStatus
from tests.factories import NOW

ROOT = Path(__file__).resolve().parents[2]


def note(
    key: str | None, *, subject: str | None = "appointment:1", kind: str = "reminder"
) -> outbox.Note:
    return outbox.Note(
        key=key,
        channel="telegram",
        address="7001",
        message=Outbound("hola"),
        kind=kind,
        subject=subject,
        tenant_id=None,
        due_at=NOW,
        template="psv_survey",
        template_vars={"1": "Consultas"},
    )


async def stored(db: Database) -> list[OutboxMessage]:
    async with db.uow() as uow:
        found = list(await uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        uow.session.expunge_all()
    return found


async def test_a_keyed_note_is_written_once(db: Database) -> None:
    async with db.uow() as uow:
        first = await outbox.write(uow, [note("k:1"), note("k:1")], now=NOW)
        await uow.commit()
    async with db.uow() as uow:
        again = await outbox.write(uow, [note("k:1"), note("k:2")], now=NOW)
        await uow.commit()
    assert (first, again) == (1, 1)
    rows = await stored(db)
    assert [r.idempotency_key for r in rows] == ["k:1", "k:2"]
    row = rows[0]
    assert row.status == OutboxStatus.PENDING and row.attempts == 0
    assert row.payload["text"] == "hola"
    assert row.payload["meta"]["template_vars"] == {"1": "Consultas"}
    assert row.template == "psv_survey" and row.kind == "reminder"


async def test_unkeyed_notes_are_all_written(db: Database) -> None:
    async with db.uow() as uow:
        written = await outbox.write(uow, [note(None), note(None)], now=NOW)
        await uow.commit()
    assert written == 2
    assert [r.idempotency_key for r in await stored(db)] == [None, None]


async def test_staged_replies_are_keyed_by_their_inbound_message(db: Database) -> None:
    inbound = Inbound(channel="telegram", user_ref="7001", message_id="m9", text="hola")
    replies = [Outbound("uno"), Outbound("dos")]
    async with db.uow() as uow:
        outbox.stage(uow, outbox.reply_notes(inbound, None, replies, NOW), now=NOW)
        await uow.commit()
    rows = await stored(db)
    assert [r.idempotency_key for r in rows] == ["reply:telegram:m9:0", "reply:telegram:m9:1"]
    assert {(r.kind, r.priority, r.status) for r in rows} == {
        ("reply", REPLY_PRIORITY, OutboxStatus.PENDING)
    }
    assert [r.payload["text"] for r in rows] == ["uno", "dos"]


async def test_withdraw_takes_back_only_what_is_unsent_and_not_kept(db: Database) -> None:
    async with db.uow() as uow:
        await outbox.write(
            uow,
            [note("a"), note("b"), note("c"), note("d", kind="survey"), note("e", subject="x")],
            now=NOW,
        )
        sent = await uow.session.scalar(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == "c")
        )
        assert sent is not None
        sent.status = OutboxStatus.SENT
        await uow.commit()
    async with db.uow() as uow:
        withdrawn = await outbox.withdraw(
            uow, "appointment:1", keep=["b", None], kinds=["reminder"]
        )
        await uow.commit()
    assert withdrawn == 1
    status = {r.idempotency_key: r.status for r in await stored(db)}
    assert status == {
        "a": OutboxStatus.WITHDRAWN,
        "b": OutboxStatus.PENDING,
        "c": OutboxStatus.SENT,
        "d": OutboxStatus.PENDING,
        "e": OutboxStatus.PENDING,
    }


def test_only_the_outbox_writer_makes_outbox_rows() -> None:
    """No module of the application but bot/outbox/rows.py builds or inserts outbox rows."""
    writers = []
    for path in sorted([*ROOT.glob("bot/**/*.py"), *ROOT.glob("core/**/*.py")]):
        if "migrations" in path.parts or path == ROOT / "bot/outbox/rows.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and node.args
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id == "OutboxMessage"
                and isinstance(node.func, ast.Name)
                and node.func.id.endswith("insert")
            ) or (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "OutboxMessage"
            ):
                writers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert writers == []


async def test_notes_are_written_in_one_statement(db: Database) -> None:
    """A booking's five notices were five INSERTs; one multi-row INSERT serves them all."""
    async with db.uow() as uow:
        await outbox.write(uow, [note("k:old")], now=NOW)
        await uow.commit()
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with db.uow() as uow:
            notes = [note("k:old"), note("k:a"), note(None), note("k:b"), note("k:a")]
            written = await outbox.write(uow, notes, now=NOW)
            await uow.commit()
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    assert written == 3
    assert len([s for s in statements if s.lstrip().upper().startswith("INSERT")]) == 1
    assert [r.idempotency_key for r in await stored(db)] == ["k:old", "k:a", None, "k:b"]
