"""What every response carries and what no response may leak.

``Guard`` is a plain ASGI middleware around the whole app: it adds the
security headers to every response (error pages and static files included),
turns away over-long addresses before any route runs, answers 429 to a client
that searches faster than ``RateLimiter`` allows, turns an unexpected
exception into the generic 500 page, so no stack trace ever reaches a client,
and logs every request slower than ``slow_ms``.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

__all__ = [
    "HEAD_FLAG",
    "MAX_PATH",
    "MAX_QUERY",
    "RATE_LIMITED_PATHS",
    "SECURITY_HEADERS",
    "Guard",
    "RateLimiter",
    "request_line",
    "safe_url",
]

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

# Search runs a full-text query per request; every other page is cheap or cached.
RATE_LIMITED_PATHS = frozenset({"/search", "/search.json"})
# Clients remembered at once; the least recently seen is forgotten first (and
# so starts again with a full bucket), which keeps memory bounded under a flood
# of addresses.
MAX_CLIENTS = 10_000

_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def request_line(scope: dict[str, Any], limit: int = 300) -> str:
    """The request's path and query as sent (still percent-encoded), cut to ``limit``.

    For logs: the raw form cannot carry a line break or a terminal escape
    into them, which the decoded path can (``%0A``).
    """
    raw = scope.get("raw_path") or quote(scope.get("path", ""), safe="/").encode()
    query = scope.get("query_string", b"")
    line = (raw + (b"?" + query if query else b"")).decode("latin-1")
    line = "".join(c if " " < c < "\x7f" else f"%{ord(c):02X}" for c in line)
    return line if len(line) <= limit else line[:limit] + "…"


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


class RateLimiter:
    """A token bucket per client: ``burst`` requests at once, then ``per_minute``.

    One instance lives on the app (``app.state``), never in a module global,
    so two apps in one process (tests, the exporter) never share counts.
    """

    def __init__(
        self,
        burst: int,
        per_minute: float,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.burst = burst
        self.rate = per_minute / 60.0  # tokens per second
        self.clock = clock
        self.max_clients = max_clients
        self._lock = threading.Lock()
        # client -> (tokens, when they were counted)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.burst > 0

    def take(self, client: str) -> float:
        """Spend one token of ``client``'s; 0.0 if allowed, else seconds until one is back."""
        if not self.enabled:
            return 0.0
        now = self.clock()
        with self._lock:
            tokens, then = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            if tokens >= 1.0:
                self._remember(client, tokens - 1.0, now)
                return 0.0
            self._remember(client, tokens, now)
        if self.rate <= 0:
            return math.inf
        return (1.0 - tokens) / self.rate

    def _remember(self, client: str, tokens: float, now: float) -> None:
        self._buckets[client] = (tokens, now)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)


def retry_after(wait: float) -> str:
    """A Retry-After value: whole seconds, at least 1, at most a day."""
    return str(max(1, min(86_400, math.ceil(wait))) if math.isfinite(wait) else 86_400)


ErrorPage = Callable[[str, int, str], tuple[bytes, str]]


class Guard:
    """ASGI middleware: security headers, address limits, search rate, no stack traces."""

    def __init__(
        self,
        app: Any,
        error_page: ErrorPage,
        limiter: RateLimiter | None = None,
        slow_ms: float = 0.0,
    ) -> None:
        self.app = app
        # error_page(path, status, message) -> (body, content type)
        self.error_page = error_page
        self.limiter = limiter
        self.slow_ms = slow_ms

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        status = 0
        began = time.perf_counter()
        # HEAD is answered as GET without a body (link checkers, feed readers);
        # routes see the flag and do not count it as a view.
        head = scope.get("method") == "HEAD"
        if head:
            scope = {**scope, "method": "GET", HEAD_FLAG: True}

        async def send_with_headers(message: dict[str, Any]) -> None:
            nonlocal started, status
            if head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            if message["type"] == "http.response.start":
                started = True
                status = message.get("status", 0)
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.decode("latin-1").lower() not in SECURITY_HEADERS
                ]
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self._log_if_slow(scope, status, began)

        path = scope.get("path", "")
        if len(scope.get("query_string", b"")) > MAX_QUERY or len(path) > MAX_PATH:
            await self._error(path, 414, "That address is too long.", send_with_headers)
            return
        if self.limiter is not None and path in RATE_LIMITED_PATHS:
            # The peer address only: X-Forwarded-For is whatever the client says.
            client = scope.get("client") or ("unknown", 0)
            wait = self.limiter.take(str(client[0]))
            if wait > 0:
                await self._error(
                    path,
                    429,
                    "Too many searches from your address; please wait a moment.",
                    send_with_headers,
                    [(b"retry-after", retry_after(wait).encode())],
                )
                return
        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("error serving %s", path)
            if started:  # headers are gone: all that is left is to cut the response
                raise
            await self._error(path, 500, "Something went wrong on our side.", send_with_headers)

    def _log_if_slow(self, scope: dict[str, Any], status: int, began: float) -> None:
        took = (time.perf_counter() - began) * 1000
        if self.slow_ms > 0 and took >= self.slow_ms:
            log.warning(
                "slow request: %s %s answered %d in %.0f ms",
                scope.get("method", "GET"),
                request_line(scope),
                status,
                took,
            )

    async def _error(
        self,
        path: str,
        status: int,
        message: str,
        send: Any,
        extra_headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        body, content_type = self.error_page(path, status, message)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", content_type.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                    *(extra_headers or []),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
