"""Shared helpers for the reader tests: a loopback HTTP server, WARC and page builders."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsloom.settings import Settings


def loopback_settings(**overrides: object) -> Settings:
    """Settings that may reach 127.0.0.1 and do not wait between requests."""
    base: dict[str, object] = {"allow_private": True, "host_delay": 0.0}
    base.update(overrides)
    return Settings().with_overrides(**base)


def article_html(title: str = "Council votes on budget", words: int = 150) -> str:
    body = " ".join(f"word{i % 37}" for i in range(words))
    return (
        f"<!DOCTYPE html><html><head><title>{title}</title></head>"
        f"<body><article><h1>{title}</h1><p>{body}</p></article></body></html>"
    )


@dataclass
class Reply:
    """What the loopback server sends for one path.

    ``chunks`` streams the body in pieces (no Content-Length, connection closes),
    sleeping ``chunk_delay`` seconds between them; ``delay`` waits before replying.
    """

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[bytes] | None = None
    chunk_delay: float = 0.0
    delay: float = 0.0


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    at: float


class LoopbackServer:
    """A ThreadingHTTPServer on 127.0.0.1 serving fixed replies by path."""

    def __init__(self, routes: dict[str, Reply | Callable[[], Reply]]) -> None:
        self.routes = routes
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self) -> None:
                with server._lock:
                    server.seen.append(Seen(self.path, dict(self.headers), time.monotonic()))
                route = server.routes.get(self.path)
                reply = route() if callable(route) else route
                if reply is None:
                    reply = Reply(404, b"not found")
                # Clients that give up early (size caps) close the socket.
                with suppress(BrokenPipeError, ConnectionResetError):
                    self._send(reply)

            def _send(self, reply: Reply) -> None:
                if reply.delay:
                    time.sleep(reply.delay)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.chunks is None and "Content-Length" not in reply.headers:
                    self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if reply.chunks is None:
                    self.wfile.write(reply.body)
                    return
                for chunk in reply.chunks:
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    if reply.chunk_delay:
                        time.sleep(reply.chunk_delay)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def hits(self, path: str) -> list[Seen]:
        with self._lock:
            return [seen for seen in self.seen if seen.path == path]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def serve(routes: dict[str, Reply | Callable[[], Reply]]) -> Iterator[LoopbackServer]:
    server = LoopbackServer(routes)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class WarcItem:
    url: str
    payload: bytes
    content_type: str = "text/html; charset=utf-8"
    record_type: str = "response"
    status: str = "200 OK"


def build_warc(items: list[WarcItem], *, gzip: bool = True) -> bytes:
    """A WARC written by warcio, one record per item, with a warcinfo record first."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=gzip)
    writer.write_record(writer.create_warcinfo_record("test.warc", {"software": "tests"}))
    for item in items:
        if item.record_type in {"response", "request"}:
            status = item.status if item.record_type == "response" else "GET / HTTP/1.1"
            headers = StatusAndHeaders(
                status,
                [("Content-Type", item.content_type)],
                protocol="HTTP/1.1" if item.record_type == "response" else "",
                is_http_request=item.record_type == "request",
            )
            record = writer.create_warc_record(
                item.url, item.record_type, payload=io.BytesIO(item.payload), http_headers=headers
            )
        else:
            record = writer.create_warc_record(
                item.url,
                item.record_type,
                payload=io.BytesIO(item.payload),
                warc_content_type=item.content_type,
            )
        writer.write_record(record)
    return buffer.getvalue()
