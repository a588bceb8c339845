"""Stable error bodies: `{"error": code, "message": ..., "details"?}` for every refusal."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from bot.flows.schema import FlowError, InvalidFlow
from core.access import Forbidden, Unauthorized
from core.errors import DomainError, InvalidTransition, NotFound
from core.reports import PeriodError

log = logging.getLogger("psv.admin_api")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid",
    429: "too_many_requests",
    500: "internal",
    503: "unavailable",
}
# Seconds a client is asked to wait while the database does not answer.
RETRY_AFTER_S = 5


class ApiError(Exception):
    """A refusal with its HTTP status, stable code, human message and optional details."""

    def __init__(self, status: int, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = CODES.get(status, "error")
        self.message = message
        self.details = details


def invalid(message: str, **details: Any) -> ApiError:
    """A 422: the body or query is wrong."""
    return ApiError(422, message, details=details or None)


def conflict(message: str, **details: Any) -> ApiError:
    """A 409: the request cannot apply to the current state."""
    return ApiError(409, message, details=details or None)


def flow_errors(errors: list[FlowError]) -> dict[str, Any]:
    """Flow validation errors as `details.errors` (line, step, message)."""
    return {"errors": [flow_error_json(e) for e in errors]}


def flow_error_json(error: FlowError) -> dict[str, Any]:
    """One flow error or warning: where (line, column, step), what (English and Spanish),
    the offending text and what is allowed instead."""
    return {
        "line": error.line,
        "column": error.column,
        "step": error.step,
        "message": error.message,
        "message_es": error.es or error.message,
        "text": error.text,
        "allowed": list(error.allowed),
    }


def error_response(
    status: int, message: str, details: dict[str, Any] | None = None
) -> web.Response:
    """The JSON body of a refusal."""
    body: dict[str, Any] = {"error": CODES.get(status, "error"), "message": message}
    if details:
        body["details"] = details
    return web.json_response(body, status=status)


def _from_domain(exc: DomainError) -> web.Response:
    if isinstance(exc, Unauthorized):
        response = error_response(401, exc.detail)
        response.headers["WWW-Authenticate"] = 'Bearer realm="psv-admin"'
        return response
    if isinstance(exc, Forbidden):
        return error_response(403, exc.detail)
    if isinstance(exc, NotFound):
        return error_response(404, exc.detail)
    if isinstance(exc, InvalidTransition):
        return error_response(422, exc.detail)
    return error_response(409, exc.detail, {"reason": exc.reason})


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every refusal into the stable JSON error body."""
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.message, exc.details)
    except InvalidFlow as exc:
        return error_response(422, "the flow does not validate", flow_errors(exc.errors))
    except DomainError as exc:
        return _from_domain(exc)
    except PeriodError as exc:
        return error_response(422, str(exc))
    except json.JSONDecodeError as exc:
        return error_response(400, f"the body is not valid JSON: {exc.msg} at {exc.pos}")
    except IntegrityError:
        return error_response(409, "the change conflicts with existing data")
    except web.HTTPRequestEntityTooLarge:
        return error_response(413, "the body is too large (1 MiB at most)")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(exc.status, exc.reason)
    except (OperationalError, InterfaceError, ConnectionError, TimeoutError) as exc:
        log.warning("admin API %s: the database did not answer (%s)", _route(request), _kind(exc))
        response = error_response(503, "the database is not answering; try again shortly")
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response
    except Exception as exc:
        # The exception's message can quote the request (or a statement's parameters): the
        # log keeps where it failed and what kind of error it was, never the message.
        where = "".join(traceback.format_tb(exc.__traceback__))
        log.error("admin API %s failed: %s\n%s", _route(request), _kind(exc), where)
        return error_response(500, "internal error; the operators have the details in the log")


def _route(request: web.Request) -> str:
    """The method and route template (not the concrete path, which may hold anything)."""
    resource = request.match_info.route.resource
    template = resource.canonical if resource is not None else "?"
    return f"{request.method} {template}"


def _kind(exc: BaseException) -> str:
    return f"{type(exc).__module__}.{type(exc).__qualname__}"
