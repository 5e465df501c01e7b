"""The demo's queue takes the functions its page has: a ``queue/join`` request that names another
(``fn_index``) is answered 404 with the functions there are, where Gradio would fail with a KeyError, answer
500 and print a traceback in the student's terminal.
"""

from __future__ import annotations

import json

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1_048_576  # a review of the page's 20,000 characters, as JSON, takes far less


class KnownFunctions:
    """ASGI middleware: 404 for a ``queue/join`` whose ``fn_index`` is not in ``indexes``, 413 for a body over
    MAX_BODY_BYTES; every other request, and a body Gradio itself refuses (422), goes through unread."""

    def __init__(self, app: ASGIApp, indexes: set[int]):
        self.app, self.indexes = app, indexes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].endswith("/queue/join"):
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > MAX_BODY_BYTES:
                await JSONResponse({"detail": f"a request takes at most {MAX_BODY_BYTES:,} bytes"},
                                   status_code=413)(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        index = _fn_index(body)
        if isinstance(index, int) and not isinstance(index, bool) and index not in self.indexes:
            await JSONResponse({"detail": f"this page has no function {index}; it has {sorted(self.indexes)}"},
                               status_code=404)(scope, receive, send)
            return
        await self.app(scope, _replaying(body, receive), send)


def _fn_index(body: bytes) -> object:
    try:
        request = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return request.get("fn_index") if isinstance(request, dict) else None


def _replaying(body: bytes, receive: Receive) -> Receive:
    """``receive`` that gives the body already read first, then what the connection sends (its end)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay
