"""One safe, polite HTTP fetcher for untrusted URLs.

Safety: only http(s); every hop of a redirect chain is re-validated; the host is
resolved once, *every* answer is checked against private/reserved ranges, and
the connection goes to the checked address (the URL is rewritten to the IP and
the original name travels in the Host header and TLS SNI), so a DNS answer that
changes between check and connect (rebinding) cannot reach an internal address.
Sizes are capped before and while reading, compressed bodies are inflated with
a bounded decoder, and one fetch has a wall-clock budget.

Politeness: robots.txt is read once per origin and honoured, and requests to the
same host are spaced by ``settings.host_delay`` seconds.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from newsloom.errors import BlockedURLError, FetchError, InputError, TooLargeError
from newsloom.read.compress import Inflater, size_text
from newsloom.read.sniff import HTML_TYPES, content_type_parts, sniff
from newsloom.settings import Settings
from newsloom.types import Page, PageKind

__all__ = ["Fetcher", "Resolver", "blocked_reason"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: ``resolver(host, port)`` returns the host's addresses as strings.
Resolver = Callable[[str, int], list[str]]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Google and RFC 9309 read at least 500 KiB of robots.txt; the rest is ignored.
_ROBOTS_CAP = 512 * 1024
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_ULA = ipaddress.ip_network("fc00::/7")
# inet_aton accepts decimal, octal and hex parts ("2130706433", "0177.0.0.1",
# "0x7f.1"); anything made only of these characters may be such a spelling.
_NUMERIC_HOST = re.compile(r"[0-9a-fx.]+", re.IGNORECASE)


def blocked_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` must not be fetched from the open web ("a loopback"), or None if public."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return "an IPv4-mapped IPv6"
        embedded = ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        inner = blocked_reason(embedded) if embedded is not None else None
        if inner:
            return f"the IPv6 form of {embedded}, {inner}"
        if ip in _ULA:
            return "a unique-local IPv6"
    checks = (
        (ip.is_unspecified, "an unspecified"),
        (ip.is_loopback, "a loopback"),
        (ip.is_link_local, "a link-local"),
        (ip.is_multicast, "a multicast"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT, "a shared (CGNAT)"),
        (ip.is_private, "a private"),
        (ip.is_reserved, "a reserved"),
        (not ip.is_global, "a non-public"),
    )
    for hit, label in checks:
        if hit:
            return label
    return None


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(slots=True, frozen=True)
class _Target:
    url: httpx.URL
    host: str
    addresses: tuple[IPAddress, ...]


@dataclass(slots=True)
class _Result:
    status: int
    reason: str
    headers: httpx.Headers
    body: bytes
    url: httpx.URL


class Fetcher:
    """Fetch web pages safely; reuse one instance for a batch (it caches robots.txt).

    ``transport`` replaces the network (tests use ``httpx.MockTransport``);
    ``resolver``, ``clock`` and ``sleep`` replace DNS and time for the same reason.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        resolver: Resolver | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.settings = settings
        self._resolver = resolver or _system_resolver
        self._clock = clock or time.monotonic
        self._sleep = sleep or time.sleep
        self._robots: dict[str, RobotFileParser] = {}
        self._last_request: dict[str, float] = {}
        self._client = httpx.Client(
            transport=transport,
            follow_redirects=False,
            # Proxies from the environment would connect on our behalf to
            # addresses we never checked.
            trust_env=False,
            # A pooled TLS connection is keyed by IP, so reusing it for another
            # host on the same IP would skip that host's certificate check.
            limits=httpx.Limits(max_keepalive_connections=0),
            timeout=httpx.Timeout(settings.timeout, connect=settings.connect_timeout),
            event_hooks={"response": [self._check_location]},
            headers={
                "User-Agent": settings.user_agent,
                # Only encodings the bounded decoder understands.
                "Accept-Encoding": "gzip, deflate",
                "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            },
        )

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def fetch(self, url: str) -> Page:
        """GET ``url`` and return it as a Page.

        Raises ``BlockedURLError`` (policy: scheme, address, robots.txt),
        ``TooLargeError`` (a size cap) or ``FetchError`` (network, HTTP status, time).
        """
        deadline = self._clock() + self.settings.fetch_budget
        result = self._get(
            url,
            deadline,
            check_robots=self.settings.respect_robots,
            raw_cap=self.settings.max_body_bytes,
            decoded_cap=self.settings.max_decompressed_bytes,
        )
        if not 200 <= result.status < 300:
            raise FetchError(f"HTTP {result.status} {result.reason}".strip())
        content_type = result.headers.get("content-type", "")
        mime, charset = content_type_parts(content_type)
        final = str(result.url)
        return Page(
            source=url,
            body=result.body,
            url=final,
            kind=_page_kind(mime, result.body),
            fetched_at=datetime.now(UTC),
            encoding=charset,
            meta={"content_type": content_type, "url": final},
        )

    # -- request chain -----------------------------------------------------

    def _get(
        self,
        url: str,
        deadline: float,
        *,
        check_robots: bool,
        raw_cap: int,
        decoded_cap: int,
        truncate: bool = False,
    ) -> _Result:
        current = url
        for _hop in range(self.settings.max_redirects + 1):
            target = self._target(current)
            if check_robots and not self._robots_allow(target, deadline):
                raise BlockedURLError(f"{target.url} is disallowed by robots.txt")
            response = self._send(target, deadline)
            try:
                if response.status_code in _REDIRECTS:
                    location = response.headers.get("location", "").strip()
                    if not location:
                        raise FetchError(f"HTTP {response.status_code} redirect without Location")
                    try:
                        current = str(target.url.join(location))
                    except (httpx.InvalidURL, ValueError) as exc:
                        raise FetchError(f"bad redirect Location {location!r}: {exc}") from None
                    continue
                body = b""
                if 200 <= response.status_code < 300:
                    body = self._read_body(response, deadline, raw_cap, decoded_cap, truncate)
                return _Result(
                    response.status_code,
                    response.reason_phrase,
                    response.headers,
                    body,
                    target.url,
                )
            finally:
                response.close()
        raise FetchError(f"more than {self.settings.max_redirects} redirects")

    def _target(self, url: str) -> _Target:
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, ValueError, TypeError) as exc:
            self._refuse_numeric_spelling(url)
            raise FetchError(f"invalid URL {url!r}: {exc}") from None
        if parsed.scheme not in {"http", "https"}:
            raise BlockedURLError(
                f"scheme {parsed.scheme or '(none)'!r} refused: only http and https"
            )
        host = parsed.raw_host.decode("ascii").rstrip(".").lower()
        if not host:
            raise FetchError(f"URL has no host: {url!r}")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        addresses = self._addresses(host, port)
        if not self.settings.allow_private:
            for ip in addresses:
                reason = blocked_reason(ip)
                if reason:
                    name = f"{ip}" if host.strip("[]") == str(ip) else f"{host} ({ip})"
                    raise BlockedURLError(
                        f"{name} is {reason} address: refused (pass --allow-private to fetch it)"
                    )
        return _Target(parsed, host, addresses)

    def _refuse_numeric_spelling(self, url: str) -> None:
        # httpx rejects some IPv4 spellings ("0177.0.0.1") that the OS would
        # accept; name the address they mean so the refusal is the clear one.
        try:
            host = urlsplit(url).hostname or ""
        except ValueError:
            return
        ip = _literal_ip(host)
        reason = blocked_reason(ip) if ip is not None else None
        if reason and not self.settings.allow_private:
            raise BlockedURLError(
                f"{host} ({ip}) is {reason} address: refused (pass --allow-private to fetch it)"
            )

    def _addresses(self, host: str, port: int) -> tuple[IPAddress, ...]:
        literal = _literal_ip(host)
        if literal is not None:
            return (literal,)
        try:
            answers = self._resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise FetchError(f"cannot resolve {host}: {exc}") from None
        found: list[IPAddress] = []
        for answer in answers:
            try:
                ip = ipaddress.ip_address(answer.split("%", 1)[0])
            except ValueError:
                raise FetchError(f"{host} resolved to a bad address {answer!r}") from None
            if ip not in found:
                found.append(ip)
        if not found:
            raise FetchError(f"cannot resolve {host}: no addresses")
        return tuple(found)

    def _send(self, target: _Target, deadline: float) -> httpx.Response:
        self._wait_turn(target.host, deadline)
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise FetchError(f"gave up after {self.settings.fetch_budget:g} s")
        timeout = httpx.Timeout(
            min(self.settings.timeout, remaining),
            connect=min(self.settings.connect_timeout, remaining),
        )
        host_header = target.url.netloc.decode("ascii")
        extensions = {"sni_hostname": target.host} if target.url.scheme == "https" else {}
        last_error: Exception | None = None
        for ip in target.addresses:
            request = self._client.build_request(
                "GET",
                target.url.copy_with(host=str(ip)),
                headers={"Host": host_header},
                timeout=timeout,
                extensions=extensions,
            )
            try:
                response = self._client.send(request, stream=True)
            except httpx.ConnectError as exc:
                last_error = exc
                continue
            except httpx.TimeoutException:
                raise FetchError(f"{target.host}: timed out") from None
            except httpx.HTTPError as exc:
                raise FetchError(f"{target.host}: {_describe(exc)}") from None
            # Cookies would be filed under the IP and leak between hosts sharing it.
            self._client.cookies.clear()
            self._check_headers(response)
            return response
        raise FetchError(f"cannot connect to {target.host}: {_describe(last_error)}")

    def _check_location(self, response: httpx.Response) -> None:
        # httpx parses a redirect's Location before send() returns and rejects
        # IPv4 spellings the OS would accept ("0177.0.0.1"): name the address
        # such a spelling means, so it is refused as the policy refusal it is.
        location = response.headers.get("location", "").strip()
        if response.status_code not in _REDIRECTS or not location:
            return
        try:
            response.request.url.join(location)
        except (httpx.InvalidURL, ValueError):
            self._refuse_numeric_spelling(urljoin(str(response.request.url), location))

    def _check_headers(self, response: httpx.Response) -> None:
        size = sum(len(name) + len(value) + 4 for name, value in response.headers.raw)
        if size > self.settings.max_header_bytes:
            response.close()
            raise TooLargeError(
                f"response headers are {size_text(size)}, over "
                f"{size_text(self.settings.max_header_bytes)}"
            )

    def _read_body(
        self,
        response: httpx.Response,
        deadline: float,
        raw_cap: int,
        decoded_cap: int,
        truncate: bool,
    ) -> bytes:
        declared = response.headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > raw_cap and not truncate:
            raise TooLargeError(
                f"Content-Length is {size_text(int(declared))}, over {size_text(raw_cap)}"
            )
        inflater = _inflater(response.headers.get("content-encoding", ""), decoded_cap)
        out = bytearray()
        raw_total = 0
        try:
            # No chunk size: httpx would buffer up to it, hiding a slow drip.
            for chunk in response.iter_raw():
                raw_total += len(chunk)
                if raw_total > raw_cap:
                    if truncate:
                        break
                    raise TooLargeError(f"body is larger than {size_text(raw_cap)}")
                if self._clock() > deadline:
                    raise FetchError(f"gave up after {self.settings.fetch_budget:g} s")
                out += inflater.feed(chunk) if inflater else chunk
                if len(out) > decoded_cap:
                    raise TooLargeError(f"body is larger than {size_text(decoded_cap)}")
            if inflater and raw_total <= raw_cap:
                out += inflater.finish()
        except TooLargeError:
            if not truncate:
                raise
        except InputError as exc:
            if isinstance(exc, FetchError):
                raise
            raise FetchError(f"bad compressed body: {exc}") from None
        except httpx.TimeoutException:
            raise FetchError("timed out reading the body") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"error reading the body: {_describe(exc)}") from None
        return bytes(out)

    # -- politeness ----------------------------------------------------------

    def _wait_turn(self, host: str, deadline: float) -> None:
        last = self._last_request.get(host)
        if last is not None:
            wait = last + self.settings.host_delay - self._clock()
            if wait > 0:
                if self._clock() + wait > deadline:
                    raise FetchError(f"gave up after {self.settings.fetch_budget:g} s")
                self._sleep(wait)
        self._last_request[host] = self._clock()

    def _robots_allow(self, target: _Target, deadline: float) -> bool:
        origin = f"{target.url.scheme}://{target.url.netloc.decode('ascii')}"
        rules = self._robots.get(origin)
        if rules is None:
            rules = self._load_robots(origin, deadline)
            self._robots[origin] = rules
        return rules.can_fetch(self.settings.user_agent, str(target.url))

    def _load_robots(self, origin: str, deadline: float) -> RobotFileParser:
        rules = RobotFileParser()
        try:
            result = self._get(
                f"{origin}/robots.txt",
                deadline,
                check_robots=False,
                raw_cap=_ROBOTS_CAP,
                decoded_cap=_ROBOTS_CAP,
                truncate=True,
            )
        except FetchError:
            # RFC 9309 2.3.1.4: an unreachable robots.txt means complete disallow.
            rules.disallow_all = True
            return rules
        if 200 <= result.status < 300:
            rules.parse(result.body.decode("utf-8", errors="replace").splitlines())
        elif result.status in {401, 403}:
            rules.disallow_all = True
        elif 400 <= result.status < 500:
            rules.allow_all = True
        else:
            rules.disallow_all = True
        return rules


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(host) and any(c.isdigit() for c in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _inflater(header: str, cap: int) -> Inflater | None:
    codings = [c.strip().lower() for c in header.split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return None
    if len(codings) > 1 or codings[0] not in {"gzip", "x-gzip", "deflate"}:
        raise FetchError(f"unsupported Content-Encoding {header!r}")
    return Inflater(codings[0], cap)


def _page_kind(mime: str, body: bytes) -> PageKind | None:
    if mime in HTML_TYPES:
        return "html"
    sniffed = sniff(body)
    if sniffed == "html":
        return "html"
    if sniffed == "text":
        return "text"
    return None


def _describe(exc: Exception | None) -> str:
    if exc is None:
        return "no address to connect to"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
