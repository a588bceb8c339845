"""The admin API over HTTP (httpx, synchronous): requests, error bodies, pages, downloads."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from admin_cli.errors import CliError, ExitCode, exit_code_for_status

if TYPE_CHECKING:
    import httpx

API_PREFIX = "/api/admin"
PAGE_MAX = 500


def _user_agent() -> str:
    # importlib.metadata and httpx are imported when a request is made: `psv-admin --help`
    # and a mistyped command then start in a fraction of the time (issue #16).
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"psv-admin/{version('psv')}"
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "psv-admin"


def path(*segments: str | int) -> str:
    """An API path from segments, each one URL-quoted: path("tenants", "PE-ARE", "flows")."""
    return "/" + "/".join(quote(str(segment), safe="") for segment in segments)


def _clean(params: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (params or {}).items() if v is not None}


def api_error(response: httpx.Response) -> CliError:
    """The CliError for an error answer, from its `{"error", "message", "details"}` body."""
    status = response.status_code
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict) and ("error" in body or "message" in body):
        code = str(body.get("error") or "")
        message = str(body.get("message") or code or f"HTTP {status}")
        details = body.get("details")
    else:
        code = ""
        text = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
        message = f"The server answered HTTP {status}" + (f": {text}" if text else ".")
        details = None
    hint = None
    if status == 401:
        hint = "The token is unknown, revoked or expired: run psv-admin login again."
    elif status == 429:
        wait = response.headers.get("Retry-After", "60")
        hint = (
            f"Too many refused tokens came from this address: wait {wait} s, then check the token."
        )
    elif status == 404 and not code:
        hint = "The server may not offer this route (is it an older psv version?)."
    elif status >= 500:
        hint = "The server failed; its log says why. Nothing you sent was changed."
    return CliError(
        message,
        exit_code_for_status(status),
        code=code or None,
        status=status,
        details=details,
        hint=hint,
    )


class Client:
    """A client of one PSV server's admin API with one bearer token."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        import httpx

        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url + API_PREFIX,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": _user_agent(),
            },
            timeout=timeout,
            transport=transport,
        )
        self._me: dict[str, Any] | None = None

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        import httpx

        try:
            response = self._http.send(request, stream=stream)
        except httpx.TimeoutException as exc:
            raise CliError(
                f"The server at {self.url} did not answer in time.", ExitCode.SERVER
            ) from exc
        except httpx.HTTPError as exc:
            raise CliError(
                f"Cannot reach the server at {self.url} ({exc.__class__.__name__}).",
                ExitCode.SERVER,
                hint="Check the URL (psv-admin whoami) and that psv serve is running.",
            ) from exc
        if response.status_code >= 400:
            if stream:
                response.read()
                response.close()
            raise api_error(response)
        return response

    def request(
        self,
        method: str,
        api_path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        content: bytes | Iterator[bytes] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Send one request; the decoded JSON answer (None when empty), or raise CliError."""
        extra = dict(headers or {})
        if body is not None:
            content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        if content is not None:
            extra.setdefault("Content-Type", "application/json")
        request = self._http.build_request(
            method, api_path.lstrip("/"), params=_clean(params), content=content, headers=extra
        )
        response = self._send(request)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise CliError(
                f"The server's answer to {method} {api_path} is not JSON.", ExitCode.SERVER
            ) from exc

    def get(self, api_path: str, **params: Any) -> Any:
        """GET with query parameters (None values left out)."""
        return self.request("GET", api_path, params=params)

    def post(self, api_path: str, body: Any = None) -> Any:
        """POST a JSON body (an empty object when none)."""
        return self.request("POST", api_path, body={} if body is None else body)

    def patch(self, api_path: str, body: Any) -> Any:
        """PATCH a JSON body."""
        return self.request("PATCH", api_path, body=body)

    def put(self, api_path: str, body: Any) -> Any:
        """PUT a JSON body."""
        return self.request("PUT", api_path, body=body)

    def delete(self, api_path: str) -> Any:
        """DELETE a resource."""
        return self.request("DELETE", api_path)

    def items(
        self, api_path: str, params: dict[str, Any] | None = None, *, limit: int | None = 50
    ) -> tuple[list[Any], bool]:
        """Up to `limit` items of a paginated list (None: all), and whether more remain."""
        query = _clean(params)
        found: list[Any] = []
        cursor: str | None = None
        while True:
            want = PAGE_MAX if limit is None else min(PAGE_MAX, limit - len(found))
            page = self.get(api_path, **query, limit=want, cursor=cursor)
            if isinstance(page, list):  # an unpaginated list
                found.extend(page)
                return (found if limit is None else found[:limit]), (
                    limit is not None and len(page) > limit
                )
            if not isinstance(page, dict) or not isinstance(page.get("items"), list):
                raise CliError(
                    f"The server's answer to GET {api_path} is not a list.", ExitCode.SERVER
                )
            found.extend(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return found, False
            if limit is not None and len(found) >= limit:
                return found[:limit], True

    def download(
        self,
        api_path: str,
        params: dict[str, Any] | None,
        sink: Callable[[bytes], None],
        *,
        on_start: Callable[[int | None], None] | None = None,
        chunk_size: int = 64 * 1024,
    ) -> int:
        """Stream a GET answer's body into `sink` chunk by chunk; the number of bytes."""
        import httpx

        request = self._http.build_request(
            "GET", api_path.lstrip("/"), params=_clean(params), headers={"Accept": "*/*"}
        )
        response = self._send(request, stream=True)
        total = 0
        try:
            length = response.headers.get("Content-Length")
            if on_start is not None:
                on_start(int(length) if length and length.isdigit() else None)
            for chunk in response.iter_bytes(chunk_size):
                sink(chunk)
                total += len(chunk)
        except httpx.HTTPError as exc:
            raise CliError(
                f"The download from {self.url} broke off ({exc.__class__.__name__}).",
                ExitCode.SERVER,
            ) from exc
        finally:
            response.close()
        return total

    def me(self) -> dict[str, Any]:
        """GET /me (once per run): the token's name, role, tenant and expiry."""
        if self._me is None:
            answer = self.get("/me")
            if not isinstance(answer, dict):
                raise CliError("The server's answer to GET /me is not an object.", ExitCode.SERVER)
            self._me = answer
        return self._me

    def tenant(self, chosen: str | None) -> str:
        """The region to act on: the one named, else the token's own."""
        if chosen:
            return chosen.strip().upper()
        own = self.me().get("tenant")
        if not own:
            raise CliError(
                "This token is national: name the region with --tenant CODE (e.g. PE-ARE).",
                ExitCode.USAGE,
            )
        return str(own)
