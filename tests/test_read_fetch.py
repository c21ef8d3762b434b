from __future__ import annotations

import gzip
import itertools
import time
import zlib

import httpx
import pytest

from newsloom.errors import BlockedURLError, FetchError, TooLargeError
from newsloom.read.fetch import Fetcher
from newsloom.settings import MB, Settings
from read_helpers import Reply, article_html, loopback_settings, serve

pytestmark = pytest.mark.network

PUBLIC_IP = "93.184.216.34"


class _Body(httpx.SyncByteStream):
    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self):
        yield self.data


def reply(status: int = 200, body: bytes = b"", headers: dict[str, str] | None = None):
    """A mock response that streams like a network one (content= would pre-read it)."""
    return httpx.Response(status, headers=headers or {}, stream=_Body(body))


def fake_dns(table: dict[str, list[str]]):
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(f"unknown host {host}")
        return table[host]

    return resolve


def mock_fetcher(
    handler, settings: Settings | None = None, dns: dict[str, list[str]] | None = None, **kw
) -> Fetcher:
    settings = settings or Settings().with_overrides(host_delay=0, respect_robots=False)
    table = {"news.example": [PUBLIC_IP]} if dns is None else dns
    return Fetcher(settings, transport=httpx.MockTransport(handler), resolver=fake_dns(table), **kw)


# -- address safety -----------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://2130706433/",  # decimal
        "http://0x7f.1/",  # hex, short form
        "http://0x7f000001/",
        "http://0177.0.0.1/",  # octal
        "http://127.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",  # IPv4-mapped IPv6
        "http://[::ffff:8.8.8.8]/",
        "http://10.0.0.8/",
        "http://192.168.1.1/",
        "http://172.16.5.4/",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata, link-local
        "http://100.64.0.1/",  # CGNAT
        "http://224.0.0.1/",  # multicast
        "http://0.0.0.0/",
        "http://240.0.0.1/",  # reserved
        "http://[fd00::1]/",  # unique local
        "http://[fe80::1]/",
    ],
)
def test_private_and_numeric_spellings_refused(url: str) -> None:
    with Fetcher(Settings()) as fetcher, pytest.raises(BlockedURLError, match="allow-private"):
        fetcher.fetch(url)


def test_loopback_server_refused_without_allow_private_and_never_contacted() -> None:
    with serve({"/": Reply(body=article_html().encode())}) as server:
        settings = Settings().with_overrides(host_delay=0, respect_robots=False)
        with Fetcher(settings) as fetcher, pytest.raises(BlockedURLError, match="loopback"):
            fetcher.fetch(server.url("/"))
        assert server.seen == []
        with Fetcher(loopback_settings(respect_robots=False)) as fetcher:
            assert fetcher.fetch(server.url("/")).kind == "html"


def test_localhost_name_refused() -> None:
    with Fetcher(Settings()) as fetcher, pytest.raises(BlockedURLError):
        fetcher.fetch("http://localhost:9/")


def test_any_private_dns_answer_refuses_the_host() -> None:
    calls: list[httpx.Request] = []
    fetcher = mock_fetcher(
        lambda r: calls.append(r) or reply(),
        dns={"mixed.example": [PUBLIC_IP, "10.1.2.3"]},
    )
    with fetcher, pytest.raises(BlockedURLError, match=r"mixed\.example \(10\.1\.2\.3\)"):
        fetcher.fetch("http://mixed.example/")
    assert calls == []


@pytest.mark.parametrize(
    "scheme_url", ["ftp://news.example/a", "file:///etc/passwd", "gopher://x/"]
)
def test_only_http_and_https(scheme_url: str) -> None:
    with mock_fetcher(lambda r: reply()) as fetcher, pytest.raises(BlockedURLError):
        fetcher.fetch(scheme_url)


def test_connects_to_the_checked_address_with_host_header_and_sni() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return reply(body=b"<html><body><p>hi</p></body></html>")

    with mock_fetcher(handler) as fetcher:
        fetcher.fetch("https://news.example/story?id=1")
        fetcher.fetch("http://news.example:8080/other")
    https, plain = seen
    assert https.url.host == PUBLIC_IP
    assert https.url.path == "/story" and https.url.query == b"id=1"
    assert https.headers["host"] == "news.example"
    assert https.extensions["sni_hostname"] == "news.example"
    assert plain.url.host == PUBLIC_IP and plain.url.port == 8080
    assert plain.headers["host"] == "news.example:8080"
    assert "sni_hostname" not in plain.extensions


def test_redirect_to_private_address_refused() -> None:
    requested: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requested.append(request.headers["host"])
        if request.headers["host"] == "news.example":
            return reply(302, headers={"Location": "http://internal.example/admin"})
        return reply(body=b"secret")

    dns = {"news.example": [PUBLIC_IP], "internal.example": ["192.168.0.10"]}
    with mock_fetcher(handler, dns=dns) as fetcher:
        with pytest.raises(BlockedURLError, match="private"):
            fetcher.fetch("http://news.example/a")
        with pytest.raises(BlockedURLError, match="loopback"):
            # Same check for a literal address in the Location header.
            mock_redirect = mock_fetcher(
                lambda r: reply(301, headers={"Location": "http://127.0.0.1/"})
            )
            with mock_redirect:
                mock_redirect.fetch("http://news.example/b")
    assert requested == ["news.example"]


def test_redirects_followed_and_limited() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        step = int(request.url.path.strip("/") or 0)
        if step < 3:
            return reply(302, headers={"Location": f"/{step + 1}"})
        return reply(body=article_html().encode())

    with mock_fetcher(handler) as fetcher:
        page = fetcher.fetch("http://news.example/0")
        assert page.url == "http://news.example/3"
        assert page.meta["url"] == page.url
        assert page.source == "http://news.example/0"
    strict = Settings().with_overrides(max_redirects=2, host_delay=0, respect_robots=False)
    with (
        mock_fetcher(handler, settings=strict) as fetcher,
        pytest.raises(FetchError, match="more than 2 redirects"),
    ):
        fetcher.fetch("http://news.example/0")


def test_http_error_status_is_fetch_error() -> None:
    with mock_fetcher(lambda r: reply(404)) as fetcher, pytest.raises(FetchError, match="HTTP 404"):
        fetcher.fetch("http://news.example/missing")


def test_page_fields_from_response() -> None:
    body = article_html().encode("cp1252")

    def handler(request: httpx.Request) -> httpx.Response:
        return reply(body=body, headers={"Content-Type": "text/html; charset=windows-1252"})

    with mock_fetcher(handler) as fetcher:
        page = fetcher.fetch("http://news.example/a")
    assert page.kind == "html"
    assert page.encoding == "cp1252"
    assert page.body == body
    assert page.meta["content_type"] == "text/html; charset=windows-1252"
    assert page.fetched_at is not None and page.fetched_at.tzinfo is not None


def test_user_agent_sent() -> None:
    agents: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        agents.append(request.headers["user-agent"])
        return reply(body=b"hello")

    settings = Settings().with_overrides(user_agent="probe/9", host_delay=0, respect_robots=False)
    with mock_fetcher(handler, settings=settings) as fetcher:
        fetcher.fetch("http://news.example/")
    assert agents == ["probe/9"]


# -- size limits --------------------------------------------------------------


def test_body_cap_streamed_without_content_length() -> None:
    chunk = b"<p>" + b"x" * (64 * 1024) + b"</p>"
    reply = Reply(body=b"", headers={"Content-Type": "text/html"}, chunks=[chunk] * 40)
    with serve({"/big": reply}) as server:
        settings = loopback_settings(respect_robots=False, max_body_bytes=1 * MB)
        with Fetcher(settings) as fetcher, pytest.raises(TooLargeError, match=r"1\.0 MB"):
            fetcher.fetch(server.url("/big"))


def test_declared_content_length_aborts_before_reading() -> None:
    reads: list[int] = []

    class Endless(httpx.SyncByteStream):
        def __iter__(self):
            for _ in range(1000):
                reads.append(1)
                yield b"x" * 65536

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Length": str(500 * MB)}, stream=Endless())

    with mock_fetcher(handler) as fetcher, pytest.raises(TooLargeError, match="Content-Length"):
        fetcher.fetch("http://news.example/huge")
    assert reads == []


def test_gzip_bomb_capped_over_http() -> None:
    bomb = gzip.compress(b"<html><body>" + b"\0" * (20 * MB), compresslevel=9)
    assert len(bomb) < 200 * 1024
    reply = Reply(body=bomb, headers={"Content-Type": "text/html", "Content-Encoding": "gzip"})
    with serve({"/bomb": reply}) as server:
        settings = loopback_settings(respect_robots=False, max_decompressed_bytes=8 * MB)
        with (
            Fetcher(settings) as fetcher,
            pytest.raises(TooLargeError, match=r"decompresses to more than 8\.0 MB"),
        ):
            fetcher.fetch(server.url("/bomb"))


def test_gzip_and_deflate_bodies_decoded() -> None:
    html = article_html().encode()
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw_deflate = raw.compress(html) + raw.flush()
    replies = {
        "/gz": Reply(body=gzip.compress(html), headers={"Content-Encoding": "gzip"}),
        "/zlib": Reply(body=zlib.compress(html), headers={"Content-Encoding": "deflate"}),
        "/raw": Reply(body=raw_deflate, headers={"Content-Encoding": "deflate"}),
    }
    with serve(replies) as server, Fetcher(loopback_settings(respect_robots=False)) as fetcher:
        for path in replies:
            assert fetcher.fetch(server.url(path)).body == html


def test_header_size_cap() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return reply(body=b"ok", headers={"X-Junk": "j" * 5000})

    settings = Settings().with_overrides(max_header_bytes=4096, host_delay=0, respect_robots=False)
    with (
        mock_fetcher(handler, settings=settings) as fetcher,
        pytest.raises(TooLargeError, match="headers"),
    ):
        fetcher.fetch("http://news.example/")


# -- time limits --------------------------------------------------------------


def test_read_timeout() -> None:
    with serve({"/slow": Reply(body=b"late", delay=1.5)}) as server:
        settings = loopback_settings(respect_robots=False, timeout=0.3)
        with Fetcher(settings) as fetcher, pytest.raises(FetchError, match="timed out"):
            fetcher.fetch(server.url("/slow"))


def test_total_budget_stops_a_slow_drip() -> None:
    reply = Reply(
        chunks=[b"<p>drip</p>"] * 50, chunk_delay=0.05, headers={"Content-Type": "text/html"}
    )
    with serve({"/drip": reply}) as server:
        settings = loopback_settings(respect_robots=False, timeout=5, fetch_budget=0.5)
        started = time.monotonic()
        with Fetcher(settings) as fetcher, pytest.raises(FetchError, match=r"gave up after 0\.5 s"):
            fetcher.fetch(server.url("/drip"))
        assert time.monotonic() - started < 2.0


# -- politeness ----------------------------------------------------------------


ROBOTS = b"User-agent: *\nDisallow: /private\n\nUser-agent: otherbot\nDisallow: /\n"


def test_robots_disallow_honoured_and_fetched_once() -> None:
    routes = {
        "/robots.txt": Reply(body=ROBOTS, headers={"Content-Type": "text/plain"}),
        "/private/a": Reply(body=article_html().encode()),
        "/public/a": Reply(body=article_html().encode()),
        "/public/b": Reply(body=article_html().encode()),
    }
    with serve(routes) as server, Fetcher(loopback_settings()) as fetcher:
        with pytest.raises(BlockedURLError, match=r"robots\.txt"):
            fetcher.fetch(server.url("/private/a"))
        fetcher.fetch(server.url("/public/a"))
        fetcher.fetch(server.url("/public/b"))
        assert len(server.hits("/robots.txt")) == 1
        assert server.hits("/private/a") == []


def test_robots_ignored_when_not_respected() -> None:
    routes = {"/robots.txt": Reply(body=b"User-agent: *\nDisallow: /\n"), "/a": Reply(body=b"hi")}
    with serve(routes) as server, Fetcher(loopback_settings(respect_robots=False)) as fetcher:
        assert fetcher.fetch(server.url("/a")).body == b"hi"
        assert server.hits("/robots.txt") == []


@pytest.mark.parametrize(
    ("status", "allowed"), [(404, True), (410, True), (401, False), (403, False), (503, False)]
)
def test_robots_status_codes(status: int, allowed: bool) -> None:
    routes = {"/robots.txt": Reply(status=status, body=b"nope"), "/a": Reply(body=b"page")}
    with serve(routes) as server, Fetcher(loopback_settings()) as fetcher:
        if allowed:
            assert fetcher.fetch(server.url("/a")).body == b"page"
        else:
            with pytest.raises(BlockedURLError, match=r"robots\.txt"):
                fetcher.fetch(server.url("/a"))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_rate_limit_per_host_with_fake_clock() -> None:
    clock = FakeClock()
    settings = Settings().with_overrides(host_delay=5.0, respect_robots=False)
    dns = {"news.example": [PUBLIC_IP], "other.example": ["93.184.216.35"]}

    def handler(request: httpx.Request) -> httpx.Response:
        clock.now += 1.0  # each response takes one second
        return reply(body=b"ok")

    with mock_fetcher(handler, settings=settings, dns=dns, clock=clock, sleep=clock.sleep) as f:
        f.fetch("http://news.example/1")
        f.fetch("http://other.example/1")  # another host: no wait
        f.fetch("http://news.example/2")  # 2 s since the first request started
        f.fetch("http://news.example/3")
    assert clock.sleeps == [pytest.approx(3.0), pytest.approx(4.0)]


def test_rate_limit_gap_measured_on_loopback() -> None:
    routes = {"/a": Reply(body=b"a"), "/b": Reply(body=b"b"), "/c": Reply(body=b"c")}
    with serve(routes) as server:
        settings = loopback_settings(respect_robots=False, host_delay=0.2)
        with Fetcher(settings) as fetcher:
            for path in routes:
                fetcher.fetch(server.url(path))
        times = [seen.at for seen in server.seen]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(gaps) == 2
    # Measured where the server sees them, so scheduling noise under load can
    # shorten a gap a little; without the limit the gaps are a few milliseconds.
    assert min(gaps) >= 0.12


# -- address safety: the remaining spellings and ranges ---------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://[::ffff:7f00:1]/",  # IPv4-mapped, hex form
        "http://[::ffff:10.0.0.1]/",
        "http://[0:0:0:0:0:ffff:7f00:0001]/",  # the same, written out
        "http://[::127.0.0.1]/",  # IPv4-compatible (deprecated, reserved)
        "http://[64:ff9b::7f00:1]/",  # NAT64 form of 127.0.0.1
        "http://[2002:7f00:1::]/",  # 6to4 form of 127.0.0.1
        "http://[2002:a9fe:a9fe::]/",  # 6to4 form of 169.254.169.254
        "http://[fc00::1]/",  # unique local, the other half of fc00::/7
        "http://[ff02::1]/",  # IPv6 multicast
        "http://[::]/",
        "http://100.127.255.254/",  # top of 100.64.0.0/10
        "http://239.255.255.250/",  # multicast (SSDP)
        "http://169.254.0.1/",
        "http://127.0.0.1.:80/",  # trailing dot
        "http://0x7F.0.0.1/",
        "http://017700000001/",  # octal, one part
        "http://0x7f.0x0.0x0.0x1/",
        "http://127.0.1/",
        "http://0/",
        "http://3232235777/",  # 192.168.1.1 in decimal
        "http://0xa9fea9fe/",  # 169.254.169.254 in hex
        "http://user:pw@127.0.0.1/",
        "https://127.0.0.1:443/",
    ],
)
def test_more_private_spellings_refused(url: str) -> None:
    with Fetcher(Settings()) as fetcher, pytest.raises(BlockedURLError, match="allow-private"):
        fetcher.fetch(url)


@pytest.mark.parametrize(
    "answer",
    ["127.0.0.1", "::1", "::ffff:127.0.0.1", "::ffff:7f00:1", "100.64.1.1", "fd12::1", "fe80::1%2"],
)
def test_a_name_resolving_into_a_private_range_is_refused(answer: str) -> None:
    calls: list[httpx.Request] = []
    fetcher = mock_fetcher(lambda r: calls.append(r) or reply(), dns={"inside.example": [answer]})
    with fetcher, pytest.raises(BlockedURLError, match=r"inside\.example"):
        fetcher.fetch("http://inside.example/")
    assert calls == []


@pytest.mark.parametrize(
    "location",
    [
        "http://2130706433/",
        "http://0177.0.0.1/",
        "http://0x7f.1/",
        "http://127.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://[fd00::1]/",
        "//10.0.0.1/admin",  # scheme-relative
    ],
)
def test_redirects_into_private_ranges_refused(location: str) -> None:
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        return reply(302, headers={"Location": location})

    with mock_fetcher(handler) as fetcher, pytest.raises(BlockedURLError, match="allow-private"):
        fetcher.fetch("http://news.example/start")
    assert hosts == [PUBLIC_IP]  # the redirect target was never contacted


def test_dns_answer_changing_after_the_check_is_never_used() -> None:
    # Rebinding: the first answer is public and passes the check; every later
    # answer is loopback.  The connection must go to the address that was checked.
    answers = iter([[PUBLIC_IP]])
    lookups: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        lookups.append(host)
        return next(answers, ["127.0.0.1"])

    connected: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        connected.append((request.url.host, request.headers["host"]))
        return reply(body=b"<html><body><p>public</p></body></html>")

    settings = Settings().with_overrides(host_delay=0, respect_robots=False)
    transport = httpx.MockTransport(handler)
    with Fetcher(settings, transport=transport, resolver=rebinding) as fetcher:
        assert fetcher.fetch("http://rebind.example/a").body.endswith(b"public</p></body></html>")
        assert connected == [(PUBLIC_IP, "rebind.example")]
        assert lookups == ["rebind.example"]  # resolved once, not again at connect time
        # The next fetch resolves afresh, sees loopback and refuses before connecting.
        with pytest.raises(BlockedURLError, match=r"rebind\.example \(127\.0\.0\.1\)"):
            fetcher.fetch("http://rebind.example/b")
    assert connected == [(PUBLIC_IP, "rebind.example")]


def test_rebinding_during_the_robots_lookup_contacts_nothing() -> None:
    # The page's name is checked first (public), then robots.txt's lookup of the
    # same name answers a private address: robots.txt is unreachable, which
    # RFC 9309 reads as "disallow all", and neither request is sent.
    answers = iter([[PUBLIC_IP]])

    def rebinding(host: str, port: int) -> list[str]:
        return next(answers, ["10.9.8.7"])

    connected: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        connected.append(request.url.path)
        return reply(body=b"User-agent: *\nAllow: /\n")

    settings = Settings().with_overrides(host_delay=0)
    transport = httpx.MockTransport(handler)
    with (
        Fetcher(settings, transport=transport, resolver=rebinding) as fetcher,
        pytest.raises(BlockedURLError, match=r"robots\.txt"),
    ):
        fetcher.fetch("http://rebind.example/page")
    assert connected == []


def test_the_connection_goes_to_the_checked_address_on_a_real_socket() -> None:
    # A name that "resolves" to loopback, with --allow-private: the request
    # reaches the server through the resolved IP, the name only in Host.
    with serve({"/a": Reply(body=b"<p>hi</p>")}) as server:
        port = int(server.url("/").rsplit(":", 1)[1].split("/")[0])
        settings = loopback_settings(respect_robots=False)
        resolver = fake_dns({"named.example": ["127.0.0.1"]})
        with Fetcher(settings, resolver=resolver) as fetcher:
            page = fetcher.fetch(f"http://named.example:{port}/a")
        assert page.body == b"<p>hi</p>" and page.url == f"http://named.example:{port}/a"
        assert server.seen[0].headers["Host"] == f"named.example:{port}"


# -- --allow-private is the only way around ---------------------------------------------


def test_no_other_setting_opens_private_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    with serve({"/": Reply(body=b"<p>inside</p>")}) as server:
        # A proxy in the environment would connect on our behalf: it is ignored.
        monkeypatch.setenv("HTTP_PROXY", server.url("/"))
        monkeypatch.setenv("http_proxy", server.url("/"))
        monkeypatch.setenv("NO_PROXY", "")
        loose = Settings().with_overrides(
            host_delay=0,
            respect_robots=False,
            max_redirects=50,
            timeout=1,
            user_agent="anything",
            max_body_bytes=100 * MB,
        )
        with Fetcher(loose) as fetcher:
            for url in (server.url("/"), server.url("/").replace("127.0.0.1", "localhost")):
                with pytest.raises(BlockedURLError, match="allow-private"):
                    fetcher.fetch(url)
        assert server.seen == []
        with Fetcher(loose.with_overrides(allow_private=True)) as fetcher:
            assert fetcher.fetch(server.url("/")).body == b"<p>inside</p>"
        assert len(server.seen) == 1


def test_cli_allow_private_flag(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from newsloom.cli import app

    monkeypatch.chdir(tmp_path)  # no newsloom.toml from elsewhere
    monkeypatch.delenv("NEWSLOOM_ALLOW_PRIVATE", raising=False)
    monkeypatch.setenv("NEWSLOOM_HOST_DELAY", "0")
    monkeypatch.setenv("NEWSLOOM_RESPECT_ROBOTS", "0")
    with serve({"/a": Reply(body=article_html("Loopback council page").encode())}) as server:
        runner = CliRunner()
        refused = runner.invoke(app, ["extract", "--text", server.url("/a")])
        assert "Loopback council page" not in refused.output
        assert "allow-private" in refused.output
        assert server.seen == []
        allowed = runner.invoke(app, ["extract", "--text", "--allow-private", server.url("/a")])
        assert allowed.exit_code == 0, allowed.output
        assert "Loopback council page" in allowed.output
