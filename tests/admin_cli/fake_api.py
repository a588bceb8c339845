"""A small aiohttp server on loopback for the CLI's generic HTTP behaviour (not the real API).

It answers what each test scripts, and records what the CLI sent. The real API is exercised by
test_live.py against `psv serve`.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Answer = Callable[[web.Request, bytes], Awaitable[web.StreamResponse] | web.StreamResponse]


@dataclass
class Seen:
    """One request the CLI made."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeApi:
    """Scripted answers per (method, path); everything else is a 404 in the API's error form."""

    routes: dict[tuple[str, str], Answer | tuple[int, Any]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _runner: web.AppRunner | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def on(self, method: str, path: str, answer: Answer | tuple[int, Any]) -> None:
        self.routes[(method, "/api/admin" + path)] = answer

    def requests(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path == "/api/admin" + path]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append(
            Seen(request.method, request.path, dict(request.query), dict(request.headers), body)
        )
        answer = self.routes.get((request.method, request.path))
        if answer is None:
            return web.json_response(
                {"error": "not_found", "message": f"no route {request.path}"}, status=404
            )
        if isinstance(answer, tuple):
            status, payload = answer
            if isinstance(payload, str | bytes):
                return web.Response(status=status, body=payload)
            return web.json_response(payload, status=status)
        result = answer(request, body)
        if asyncio.iscoroutine(result):
            result = await result
        return result  # type: ignore[return-value]

    def start(self) -> None:
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._handle)
            self._runner = web.AppRunner(app)
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        assert ready.wait(10), "fake API did not start"

    def stop(self) -> None:
        assert self._loop is not None and self._thread is not None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
