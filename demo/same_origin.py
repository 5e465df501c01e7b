"""The demo answers its own page only: requests for another host name, and requests sent by pages elsewhere.

A page on any web site can send requests to http://127.0.0.1:7860, and a site whose name its owner points at
127.0.0.1 (DNS rebinding) can even read the answers. So on a loopback address the demo serves only the names
of that address (``Host``), and whatever the address, a request that a browser sent from another page
(``Origin``) is refused.
"""

from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def served_hosts(host: str, port: int) -> set[str] | None:
    """The ``Host`` headers the demo answers on ``host``:``port``; None (any) when it serves other machines."""
    if host not in LOOPBACK:
        return None
    return {f"{name}:{port}" for name in ("127.0.0.1", "localhost", "[::1]")}


class SameOrigin:
    """ASGI middleware: 421 for a ``Host`` not in ``hosts``, 403 for an ``Origin`` other than the page's own."""

    def __init__(self, app: ASGIApp, hosts: set[str] | None):
        self.app, self.hosts = app, hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and (refusal := self.refusal(dict(scope["headers"]))):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await PlainTextResponse(refusal[1], status_code=refusal[0])(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def refusal(self, headers: dict[bytes, bytes]) -> tuple[int, str] | None:
        host = headers.get(b"host", b"").decode("latin-1").lower()
        if self.hosts is not None and host not in self.hosts:
            return 421, f"This demo serves {' or '.join(sorted(self.hosts))}, not {host or 'a request without a Host'}."
        origin = headers.get(b"origin")
        if origin is not None and origin.decode("latin-1").lower() not in (f"http://{host}", f"https://{host}"):
            return 403, "This demo answers its own page only, not a page served elsewhere."
        return None
