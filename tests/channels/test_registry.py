"""Channels own their webhooks: a channel is one module plus one registry line.

A fake channel defined here registers itself; the real server serves its webhook (bot/server.py
knows no channel by name), its messages reach the inbox and the engine, and the outbox worker
sends the replies through it, paced by the limits it declared.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.bootstrap import bootstrap, build_pacers
from bot.channels.base import Outcome, Parsed, SendContext, SendResult, WebhookError
from bot.channels.registry import (
    BUILT_IN,
    ChannelPlugin,
    Gateway,
    Route,
    SendLimits,
    load,
    register,
    unregister,
)
from bot.messages import Inbound, Outbound
from bot.server import Server
from core.db import Database
from core.models import InboundMessage
from core.settings import Settings
from tests.conftest import reset

FAKE = "fakechat"
PATH = "/webhooks/fakechat"
TOKEN = "let-me-in"
SERVER_PY = Path(__file__).resolve().parents[2] / "bot" / "server.py"


class FakeChannel:
    """Records what the outbox worker sends through it."""

    name = FAKE

    def __init__(self) -> None:
        self.sent: list[tuple[str, Outbound]] = []
        self.closed = False

    async def send(self, address: str, message: Outbound, context: SendContext) -> SendResult:
        self.sent.append((address, message))
        return SendResult(Outcome.SENT, (f"fake-{len(self.sent)}",))

    async def close(self) -> None:
        self.closed = True


async def fake_webhook(request: web.Request, gateway: Gateway) -> web.Response:
    """POST /webhooks/fakechat: a JSON message, authenticated by a header."""
    if gateway.channel(FAKE) is None:
        return web.Response(status=404, text="fakechat is off")
    if request.headers.get("X-Fake-Token") != TOKEN:
        return gateway.refuse(FAKE, WebhookError(401, "wrong token"))
    data = await request.json()
    inbound = Inbound(channel=FAKE, user_ref=data["from"], message_id=data["id"], text=data["text"])
    await gateway.accept(Parsed(inbound))
    return web.json_response({"ok": True})


@pytest.fixture
def fake_plugin() -> Iterator[ChannelPlugin]:
    plugin = register(
        ChannelPlugin(
            FAKE,
            build=lambda _settings: FakeChannel(),
            limits=lambda _settings: SendLimits(12, 6),
            routes=(Route("POST", PATH, fake_webhook),),
        )
    )
    yield plugin
    unregister(FAKE)


def settings_for(db: Database, **extra: Any) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=db.url,
        public_url="http://psv.example.test",
        **extra,
    )


@pytest.fixture
async def served(
    fake_plugin: ChannelPlugin, sqlite_db: Database
) -> AsyncIterator[tuple[Server, TestClient[Any, Any]]]:
    await reset(sqlite_db)
    # The server disposes its Database on shutdown: it gets its own, on the same database.
    server = Server(settings_for(sqlite_db), Database(sqlite_db.url))
    client: TestClient[Any, Any] = TestClient(TestServer(server.app))
    await client.start_server()
    try:
        yield server, client
    finally:
        await client.close()


async def post(client: TestClient[Any, Any], message_id: str, text: str, token: str = TOKEN) -> int:
    body = {"from": "fake-user-1", "id": message_id, "text": text}
    async with client.post(PATH, json=body, headers={"X-Fake-Token": token}) as answer:
        await answer.read()
        return answer.status


async def inbound_ids(db: Database) -> list[str]:
    async with db.uow() as uow:
        rows = await uow.session.scalars(
            select(InboundMessage.message_id).where(InboundMessage.channel == FAKE)
        )
        return list(rows)


async def test_a_registered_channel_gets_its_webhook_served_and_its_replies_sent(
    served: tuple[Server, TestClient[Any, Any]], sqlite_db: Database
) -> None:
    server, client = served
    assert await post(client, "m-1", "hola", token="wrong") == 401
    assert await inbound_ids(sqlite_db) == []
    assert await post(client, "m-1", "hola") == 200
    assert await post(client, "m-1", "hola") == 200  # a redelivery is acknowledged, kept once
    assert await inbound_ids(sqlite_db) == ["m-1"]
    fake = server.channels[FAKE]
    assert isinstance(fake, FakeChannel)
    for _ in range(200):  # the inbox runs the turn, the outbox worker sends the reply
        if fake.sent:
            break
        await asyncio.sleep(0.05)
    assert fake.sent and fake.sent[0][0] == "fake-user-1"
    assert fake.sent[0][1].text


async def test_a_channel_off_stays_served_but_answers_404(
    fake_plugin: ChannelPlugin, sqlite_db: Database
) -> None:
    await reset(sqlite_db)
    server = Server(settings_for(sqlite_db), Database(sqlite_db.url), channels={})
    async with TestClient(TestServer(server.app)) as client:
        assert await post(client, "m-2", "hola") == 404
    assert await inbound_ids(sqlite_db) == []


def test_the_composition_root_builds_and_paces_every_registered_channel(
    fake_plugin: ChannelPlugin, sqlite_db: Database
) -> None:
    settings = settings_for(sqlite_db, outbox_workers=2)
    parts = bootstrap(settings, sqlite_db, role="worker")
    assert set(parts.channels) == {FAKE}  # telegram and whatsapp have no credentials here
    assert parts.worker.channels.keys() == {FAKE}
    assert parts.worker.tag is not None
    pacer = build_pacers(settings)[FAKE]
    assert (pacer.overall.rate, pacer.overall.burst) == (6, 3)
    assert set(parts.pacers) == set(BUILT_IN) | {FAKE}


def test_built_in_channels_register_their_own_routes() -> None:
    plugins = load()
    assert list(plugins)[: len(BUILT_IN)] == list(BUILT_IN)
    paths = {route.path for plugin in plugins.values() for route in plugin.routes}
    assert {"/webhooks/telegram", "/webhooks/whatsapp", "/webhooks/whatsapp/status"} <= paths
    source = SERVER_PY.read_text(encoding="utf-8").lower()
    assert not [name for name in BUILT_IN if name in source]  # the server names no channel


def test_a_channel_name_is_registered_once(fake_plugin: ChannelPlugin) -> None:
    assert register(fake_plugin) is fake_plugin  # the same registration again is harmless
    with pytest.raises(ValueError, match="already registered"):
        register(ChannelPlugin(FAKE, build=lambda _s: None, limits=lambda _s: SendLimits(1, 1)))
