"""What every response carries and what no response may leak.

``Guard`` is a plain ASGI middleware around the whole app: it adds the
security headers to every response (error pages and static files included),
turns away over-long addresses before any route runs, and turns an unexpected
exception into the generic 500 page, so no stack trace ever reaches a client.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

__all__ = ["HEAD_FLAG", "MAX_PATH", "MAX_QUERY", "SECURITY_HEADERS", "Guard", "safe_url"]

log = logging.getLogger("newsloom.web")

# No script anywhere and only our own stylesheet: even if some text escaped
# the templates' escaping, a browser would run none of it.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: dict[str, str] = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    # Outbound links to outlets tell them nothing about what the reader read here.
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}
HEAD_FLAG = "newsloom.head"
MAX_QUERY = 1024  # bytes of query string; a search needs far less
MAX_PATH = 512

_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def safe_url(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) address, else None.

    Stored URLs come from pages on the open web: ``javascript:``, ``data:`` and
    friends must never become a link.  Browsers ignore tabs, newlines and
    leading spaces inside a scheme ("java\\tscript:"), so those are refused too.
    """
    if not url or _CONTROL.search(url.strip()) or len(url) > 4096:
        return None
    text = url.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return text


ErrorPage = Callable[[str, int, str], tuple[bytes, str]]


class Guard:
    """ASGI middleware: security headers, address limits, no stack traces."""

    def __init__(self, app: Any, error_page: ErrorPage) -> None:
        self.app = app
        # error_page(path, status, message) -> (body, content type)
        self.error_page = error_page

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        # HEAD is answered as GET without a body (link checkers, feed readers);
        # routes see the flag and do not count it as a view.
        head = scope.get("method") == "HEAD"
        if head:
            scope = {**scope, "method": "GET", HEAD_FLAG: True}

        async def send_with_headers(message: dict[str, Any]) -> None:
            nonlocal started
            if head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            if message["type"] == "http.response.start":
                started = True
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.decode("latin-1").lower() not in SECURITY_HEADERS
                ]
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        path = scope.get("path", "")
        if len(scope.get("query_string", b"")) > MAX_QUERY or len(path) > MAX_PATH:
            await self._error(path, 414, "That address is too long.", send_with_headers)
            return
        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("error serving %s", path)
            if started:  # headers are gone: all that is left is to cut the response
                raise
            await self._error(path, 500, "Something went wrong on our side.", send_with_headers)

    async def _error(self, path: str, status: int, message: str, send: Any) -> None:
        body, content_type = self.error_page(path, status, message)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", content_type.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
