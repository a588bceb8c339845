"""Flows: line-numbered errors, drafts, publish and rollback for NEW conversations only, try."""

from __future__ import annotations

import itertools

from sqlalchemy import func, select

from bot.conversation.engine import Engine
from bot.flows.registry import template_sources
from bot.messages import Inbound
from core.models import (
    Appointment,
    AuditEntry,
    Citizen,
    Conversation,
    FlowVersion,
    OutboxMessage,
)
from tests.admin_api.conftest import Api
from tests.factories import add_specialist

NATIONAL_TEXT = "¿En qué le puedo ayudar?"
_ids = itertools.count(1)


def menu(text: str) -> str:
    source = template_sources()["menu"]
    assert NATIONAL_TEXT in source
    return source.replace(NATIONAL_TEXT, text)


async def talk(api: Api, user: str, text: str) -> tuple[int | None, str]:
    """One turn through the real engine; the pinned version id and the replies' text."""
    engine = Engine(api.db, api.ctx.settings)
    replies = await engine.handle(Inbound("test", user, f"m{next(_ids)}", text=text))
    async with api.db.uow() as uow:
        pinned = await uow.session.scalar(
            select(Conversation.flow_version_id).where(
                Conversation.channel == "test", Conversation.user_ref == user
            )
        )
    return pinned, "\n".join(r.text for r in replies)


async def person(api: Api, user: str) -> None:
    """A person of Arequipa who has accepted the privacy notice, at the menu next."""
    async with api.db.uow() as uow:
        uow.session.add(
            Conversation(
                channel="test",
                user_ref=user,
                answers={},
                memory={"consent": "2026-01-01T00:00:00+00:00", "region": "PE-ARE"},
                state={},
            )
        )
        await uow.commit()


async def test_errors_have_line_numbers_and_store_nothing(api: Api) -> None:
    token = await api.token("regional", "PE-ARE")
    broken = menu("Hola").replace("goto: help\n", "goto: nowhere\n")
    line = broken.splitlines().index("  main:") + 1  # the validator names the step's line
    help_line = broken.splitlines().index("  help:") + 1
    for path in ("validate", "drafts"):
        status, body = await api.call(
            "POST", f"/tenants/PE-ARE/flows/menu/{path}", token, {"yaml": broken}
        )
        assert status == 422 and body["error"] == "invalid"
        errors = body["details"]["errors"]
        assert any(e["line"] == line and "nowhere" in e["message"] for e in errors), errors
        assert any(e["line"] == help_line and e["step"] == "help" for e in errors), errors
    bad_yaml = "flow: menu\nsteps:\n  main: [unclosed\n"
    status, body = await api.call(
        "POST", "/tenants/PE-ARE/flows/menu/validate", token, {"yaml": bad_yaml}
    )
    assert status == 422 and body["details"]["errors"][0]["line"] >= 3
    renamed = menu("Hola").replace("flow: menu", "flow: book", 1)
    status, body = await api.call(
        "POST", "/tenants/PE-ARE/flows/menu/validate", token, {"yaml": renamed}
    )
    assert status == 422 and "saved as 'menu'" in body["details"]["errors"][0]["message"]
    status, body = await api.call(
        "POST", "/tenants/PE-ARE/flows/menu/validate", token, {"yaml": menu("Hola")}
    )
    assert status == 200 and body == {"ok": True, "warnings": []}
    async with api.db.uow() as uow:
        stored = await uow.session.scalar(
            select(func.count()).select_from(FlowVersion).where(FlowVersion.tenant_id.is_not(None))
        )
    assert stored == 0
    status, body = await api.call("GET", "/tenants/PE-ARE/flows/nonexistent", token)
    assert status == 404


async def test_publish_and_rollback_change_new_conversations_only(api: Api) -> None:
    token = await api.token("regional", "PE-ARE", name="ana")
    base = "/tenants/PE-ARE/flows/menu"
    await person(api, "old")
    old_pin, text = await talk(api, "old", "hola")
    assert NATIONAL_TEXT in text and old_pin is not None

    status, body = await api.call(
        "POST", f"{base}/drafts", token, {"yaml": menu("¿Qué necesita, v1?")}
    )
    assert status == 201 and body["version"] == 1
    status, body = await api.call("POST", f"{base}/rollback", token, {})
    assert status == 409 and body["error"] == "conflict"
    # A draft is not live: a new person still gets the national text.
    await person(api, "before")
    _, text = await talk(api, "before", "hola")
    assert NATIONAL_TEXT in text

    status, body = await api.call("POST", f"{base}/publish", token, {})
    assert status == 200 and body["version"] == 1 and body["status"] == "published"
    await person(api, "new1")
    pin1, text = await talk(api, "new1", "hola")
    assert "¿Qué necesita, v1?" in text and pin1 != old_pin
    # The older conversation finishes on the version it pinned.
    pin, text = await talk(api, "old", "xyzzy")
    assert pin == old_pin and "¿Qué necesita" not in text

    status, body = await api.call(
        "POST", f"{base}/drafts", token, {"yaml": menu("¿Qué necesita, v2?")}
    )
    assert status == 201 and body["version"] == 2
    status, body = await api.call(
        "POST", f"{base}/drafts", token, {"yaml": menu("¿Qué necesita, v3?")}
    )
    assert status == 201 and body["version"] == 3  # replaces the unpublished v2
    status, body = await api.call("POST", f"{base}/publish", token, {})
    assert status == 200 and body["version"] == 3
    await person(api, "new3")
    _, text = await talk(api, "new3", "hola")
    assert "v3?" in text

    status, body = await api.call("GET", base, token)
    assert body["version"] == 3 and body["source_of"] == "region" and "v3?" in body["yaml"]
    status, body = await api.call("GET", f"{base}/diff?against=previous", token)
    assert '-      es: "¿Qué necesita, v2?"' in body["diff"].splitlines()
    assert '+      es: "¿Qué necesita, v3?"' in body["diff"].splitlines()
    status, body = await api.call("GET", f"{base}/diff?against=national&version=1", token)
    assert f'-      es: "{NATIONAL_TEXT}"' in body["diff"].splitlines()
    status, body = await api.call("GET", f"{base}/graph?version=3", token)
    assert body["mermaid"].startswith("flowchart TD") and "main" in body["mermaid"]

    status, body = await api.call("POST", f"{base}/rollback", token, {})
    assert status == 200 and body["version"] == 1
    await person(api, "after")
    pin, text = await talk(api, "after", "hola")
    assert "v1?" in text and pin == pin1

    status, body = await api.call("GET", f"{base}/versions", token)
    states = {v["version"]: (v["status"], v["live"]) for v in body["items"]}
    assert states == {1: ("published", True), 2: ("retired", False), 3: ("retired", False)}
    status, body = await api.call("GET", "/tenants/PE-ARE/flows", token)
    row = next(f for f in body["items"] if f["name"] == "menu")
    assert row == {"name": "menu", "live_version": 1, "draft_version": None, "source": "region"}
    # v1 was the first the region published: rolling it back leaves the national template.
    status, body = await api.call("POST", f"{base}/rollback", token, {})
    assert status == 200 and body["source_of"] == "national" and body["version"] is None
    await person(api, "national again")
    _, text = await talk(api, "national again", "hola")
    assert NATIONAL_TEXT in text
    status, body = await api.call("POST", f"{base}/rollback", token, {})
    assert status == 409  # nothing of the region is live

    async with api.db.uow() as uow:
        entries = list(
            await uow.session.scalars(
                select(AuditEntry).where(AuditEntry.entity == "flow").order_by(AuditEntry.id)
            )
        )
        uow.session.expunge_all()
    actions = [e.action for e in entries]
    assert actions == [
        "flow.draft",
        "flow.publish",
        "flow.draft",
        "flow.draft",
        "flow.publish",
        "flow.rollback",
        "flow.rollback",
    ]
    assert all(e.actor.endswith(":ana") for e in entries)
    assert entries[4].before["version"] == 1 and entries[4].after["version"] == 3
    assert entries[5].before["version"] == 3 and entries[5].after["version"] == 1


async def test_try_runs_a_draft_without_reaching_anyone(api: Api) -> None:
    token = await api.token("regional", "PE-ARE")
    base = "/tenants/PE-ARE/flows/menu"
    await api.call("POST", f"{base}/drafts", token, {"yaml": menu("¿Probando el borrador?")})
    status, body = await api.call("POST", f"{base}/try", token, {"version": 1, "text": ""})
    assert status == 200, body
    assert body["version"] == 1 and body["step"] == "main"
    assert "¿Probando el borrador?" in body["replies"][0]["text"]
    assert body["replies"][0]["options"][0]["label"] == "Pedir una cita"
    session = body["session"]
    status, body = await api.call(
        "POST", f"{base}/try", token, {"session": session, "text": "ayuda"}
    )
    assert status == 200 and body["session"] == session
    assert any("«menú»" in r["text"] for r in body["replies"])
    # Another region cannot drive this session, and an unknown one is 404.
    cusco = await api.token("regional", "PE-CUS")
    status, _ = await api.call(
        "POST", "/tenants/PE-CUS/flows/menu/try", cusco, {"session": session, "text": "hola"}
    )
    assert status == 404
    async with api.db.uow() as uow:
        queued = await uow.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.channel == "try")
        )
    assert queued == 0
    # The draft stayed a draft.
    status, body = await api.call("GET", f"{base}/versions", token)
    assert [v["status"] for v in body["items"]] == ["draft"]


async def test_a_booking_tried_in_the_sandbox_leaves_nothing_behind(api: Api) -> None:
    """Every effect of a tried turn is rolled back: no appointment, card, citizen or row."""
    async with api.db.uow() as uow:
        await add_specialist(uow, "PE-ARE")
        await uow.commit()
    token = await api.token("regional", "PE-ARE")
    base = "/tenants/PE-ARE/flows/menu"
    await api.call("POST", f"{base}/drafts", token, {"yaml": menu("¿Probando el borrador?")})
    status, body = await api.call("POST", f"{base}/try", token, {"version": 1, "text": ""})
    session = body["session"]
    said = [
        "pedir una cita", "consultas laborales", "lo antes posible", "1", "1", "40123456",
        "Lucía Quispe", "Despido sin pago", "sí",
    ]  # fmt: skip
    for text in said:
        status, body = await api.call(
            "POST", f"{base}/try", token, {"session": session, "text": text}
        )
        assert status == 200, body
    assert any("confirmada" in r["text"] for r in body["replies"]), body["replies"]
    async with api.db.uow() as uow:
        for model in (Appointment, OutboxMessage, Citizen):
            count = await uow.session.scalar(select(func.count()).select_from(model))
            assert count == 0, model.__name__
