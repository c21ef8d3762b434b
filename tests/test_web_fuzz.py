"""The web app under random addresses, query strings and headers: never a 500.

Requests go straight into the ASGI app with the scope uvicorn would build
from the raw request line (``path`` is the percent-decoded ``raw_path``), so
broken percent-escapes, NUL bytes and invalid UTF-8 reach the routes exactly
as they would from the network; httpx would have cleaned some of them up.
The last tests check the per-client search rate limit.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote, unquote

import lxml.html
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsloom.settings import Settings
from newsloom.store import open_store
from newsloom.web import create_app
from newsloom.web.security import SECURITY_HEADERS, RateLimiter, retry_after
from web_helpers import build_store

FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
# Text the fuzzer plants in values: if it ever comes back as markup, escaping failed.
MARKUP = [
    '<b id="fz">',
    '"><i id="fz">',
    "'><u id=fz>",
    "</title><p id=fz>",
    "<script>fz()</script>",
]
# What a Python error leaking into a page looks like.
LEAK = re.compile(
    r"Traceback \(most recent|File \"[^\"]+\", line \d+|\b[A-Z][A-Za-z]+(?:Error|Exception)\b"
    r"|site-packages|sqlite3\.|pydantic"
)


@dataclass(slots=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


async def _call(app, scope: dict, body: bytes) -> Reply:
    sent: list[dict] = []
    delivered = False

    async def receive() -> dict:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)  # the client never disconnects
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in start["headers"]}
    payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Reply(start["status"], headers, payload)


def raw_request(
    app,
    target: bytes,
    headers: list[tuple[bytes, bytes]] = (),  # type: ignore[assignment]
    method: str = "GET",
    body: bytes = b"",
    client: tuple[str, int] = ("203.0.113.9", 40000),
) -> Reply:
    """Send one request line's target to ``app`` as uvicorn's h11 protocol would."""
    raw_path, _, query = target.partition(b"?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": client,
        "scheme": "http",
        "method": method,
        "root_path": "",
        "path": unquote(raw_path.decode("ascii")),
        "raw_path": raw_path,
        "query_string": query,
        "headers": [(b"host", b"127.0.0.1:8000"), *headers],
        "state": {},
    }
    return asyncio.run(_call(app, scope, body))


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory):
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'news.db'}"
    with open_store(url) as store:
        build_store(store, fillers=3)
    # The rate limit has its own tests below; here it would turn searches into 429s.
    return create_app(url, Settings().with_overrides(search_burst=0))


def check_reply(reply: Reply, sent: str) -> None:
    """What every response must be, whatever was asked."""
    assert reply.status < 500, (reply.status, sent, reply.text[:300])
    for name, value in SECURITY_HEADERS.items():
        assert reply.headers.get(name) == value, (name, sent)
    leaked = [m.group(0) for m in LEAK.finditer(reply.text) if m.group(0) not in sent]
    assert not leaked, (leaked, sent)
    kind = reply.headers.get("content-type", "")
    if kind.startswith("text/html") and reply.body:
        doc = lxml.html.fromstring(reply.body)
        assert not doc.xpath('//*[@id="fz"] | //script | //*[@onload] | //*[@onerror]'), sent
        if reply.status >= 400:
            assert doc.xpath("//h1")[0].text_content().startswith(str(reply.status))
    elif kind.startswith("application/json") and reply.status >= 400:
        assert json.loads(reply.body)["error"]["status"] == reply.status


# -- strategies ------------------------------------------------------------------

# Bytes a request line may carry (h11 refuses the rest) minus the query and fragment marks.
_PATH_CHARS = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in "?#%")
_BAD_ESCAPES = ["%", "%z", "%zz", "%0", "%00", "%FF", "%C3", "%E2%82", "%2F", "%2e%2e", "%25"]
_PREFIXES = [
    "/",
    "/story/",
    "/article/",
    "/search",
    "/search.json",
    "/stories",
    "/stories.json",
    "/index.json",
    "/feed.atom",
    "/static/",
    "/story/sbridge-original",
    "/story/sbridge-original/feed.atom",
    "/article/bridge-original",
]


def _encoded(text: str) -> str:
    """``text`` percent-encoded, as a browser sends unicode and NUL."""
    return quote(text, safe="")


_segment = st.one_of(
    st.text(_PATH_CHARS, max_size=20),
    st.sampled_from(_BAD_ESCAPES),
    st.text(max_size=8).map(_encoded),
    st.sampled_from(["..", ".", "", ".json", "feed.atom", "sbridge", "bridge-original"]),
)
_path = st.builds(
    lambda prefix, parts: prefix + "/".join(parts),
    st.sampled_from(_PREFIXES),
    st.lists(_segment, max_size=4),
)
_number = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["", "0", "-0", "1e3", "0x10", "1.5", "NaN", "inf", " 2", "٣", "+4", "01"]),
)
_date = st.sampled_from(
    ["2026-02-30", "0000-00-00", "9999-99-99T99:99", "2026-03-02T08:00:00+99:00", "yesterday"]
)
_value = st.one_of(
    _number.map(_encoded),
    _date.map(_encoded),
    st.text(max_size=40).map(_encoded),
    st.text(_PATH_CHARS.replace("&", "").replace("=", ""), max_size=40),
    st.sampled_from(MARKUP).map(_encoded),
    st.sampled_from(_BAD_ESCAPES),
    st.just("x" * 900),  # near the query cap, over it with a second pair
    st.sampled_from(["%00", "%FF%FE", "a%00b", "%EF%BF%BF", "%F4%90%80%80", "+", "%2B"]),
    st.tuples(st.integers(-5, 10**9), st.integers(-5, 10**9)).map(lambda t: f"{t[0]}-{t[1]}"),
)
_key = st.one_of(
    st.sampled_from(["q", "page", "hl", "since", "date", "q[]", "page[]"]),
    st.text(max_size=10).map(_encoded),
    st.sampled_from(_BAD_ESCAPES),
)
_query = st.lists(
    st.one_of(
        st.tuples(_key, _value).map(lambda kv: f"{kv[0]}={kv[1]}"),
        _key,  # a key without "="
        st.just(""),  # "&&"
    ),
    max_size=6,
).map("&".join)
_header_name = st.one_of(
    st.sampled_from(
        [
            b"accept",
            b"accept-encoding",
            b"accept-language",
            b"cookie",
            b"range",
            b"if-none-match",
            b"if-modified-since",
            b"x-forwarded-for",
            b"x-forwarded-host",
            b"content-type",
            b"content-length",
            b"transfer-encoding",
            b"origin",
            b"referer",
        ]
    ),
    st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=20).map(str.encode),
)
# Header values may carry any byte but CR, LF and NUL.
_header_value = st.one_of(
    st.binary(max_size=60).map(lambda b: bytes(c for c in b if c not in b"\r\n\0")),
    st.sampled_from(
        [
            b"bytes=5-1",
            b"bytes=-99999999999999999999",
            b"*/*;q=nan",
            b"gzip;q=2, br",
            b"\xff\xfe",
            b"-1",
            b"99999999999999999999",
            b"chunked",
            b"Mon, 99 Foo 2026 99:99:99 GMT",
            b"text/html; charset=made-up",
            b"<script>fz()</script>",
            b"x" * 8000,
        ]
    ),
)
_headers = st.lists(st.tuples(_header_name, _header_value), max_size=5)


def _target(path: str, query: str) -> bytes:
    return (path + (f"?{query}" if query else "")).encode("ascii")


# -- fuzzing -------------------------------------------------------------------


@FUZZ
@given(path=_path, query=_query)
def test_random_addresses_never_fail(app, path: str, query: str) -> None:
    target = _target(path, query)
    check_reply(raw_request(app, target), unquote(target.decode()))


@FUZZ
@given(
    path=st.sampled_from(["/", "/search", "/search.json", "/stories", "/article/bridge-original"]),
    query=_query,
)
def test_random_queries_on_real_pages_never_fail(app, path: str, query: str) -> None:
    target = _target(path, query)
    check_reply(raw_request(app, target), unquote(target.decode()))


@settings(FUZZ, max_examples=100)
@given(
    path=st.sampled_from([*_PREFIXES, "/no/such/page"]),
    headers=_headers,
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "OPTIONS", "DELETE", "get", "BREW"]),
)
def test_random_headers_and_methods_never_fail(
    app, path: str, headers: list[tuple[bytes, bytes]], method: str
) -> None:
    reply = raw_request(app, path.encode(), headers=headers, method=method, body=b"x=1")
    check_reply(reply, repr(headers))
    if method not in ("GET", "HEAD"):
        assert reply.status in (404, 405)  # no address takes anything but GET


@settings(FUZZ, max_examples=60)
@given(host=st.binary(min_size=1, max_size=40).map(lambda b: bytes(c for c in b if c > 0x20)))
def test_odd_host_headers_do_not_break_feeds(app, host: bytes) -> None:
    # Feeds build absolute links from the Host header.
    for path in (b"/feed.atom", b"/story/sbridge-original/feed.atom"):
        reply = raw_request(app, path, headers=[(b"host", host or b"x")])
        check_reply(reply, repr(host))


# -- named cases a reader or a scanner sends --------------------------------------

CASES = [
    "/stories?page=-1",
    "/stories?page=0",
    "/stories?page=10001",
    "/stories?page=99999999999999999999999999",
    "/stories?page=1e3",
    "/stories?page=",
    "/stories?page=1&page=2&page=x",
    "/index.json?page=%00",
    "/search?q=%00",
    "/search?q=%FF%FE",
    "/search?q=%C3",
    "/search?q=a%00b&page=-3",
    "/search?q=%22%3E%3Cb+id%3Dfz%3E",
    "/search?q=%3C%2Ftitle%3E%3Cb+id%3Dfz%3E",
    "/search?q=NEAR(a+b&page=2",
    "/search?q=%E2%80%AE%F0%9F%92%A9",
    "/search?q=*&q=bridge&q=",
    "/search.json?q=" + "%F0%9F%92%A9" * 60,
    "/article/bridge-original?hl=5-3",
    "/article/bridge-original?hl=-1-2",
    "/article/bridge-original?hl=99999999-999999999",
    "/article/bridge-original?hl=0-99999999",
    "/article/bridge-original?hl=%00",
    "/article/%00",
    "/article/bridge-original%00",
    "/story/%FF",
    "/story/..%2F..%2Fetc%2Fpasswd",
    "/story/sbridge-original/..",
    "/story/sbridge-original.json?page=0",
    "/story/sbridge-original/feed.atom?page=%ZZ",
    "/static/..%2F..%2Fsettings.py",
    "/static/%2e%2e/%2e%2e/app.py",
    "/static/style.css%00.html",
    "/%",
    "/%zz",
    "//",
    "/" + "a" * 600,
    "/search?" + "&".join(f"q{i}=1" for i in range(300)),
]


@pytest.mark.parametrize("target", CASES)
def test_named_odd_requests(app, target: str) -> None:
    reply = raw_request(app, target.encode())
    check_reply(reply, unquote(target))
    if target.startswith("/static/") and reply.status == 200:
        assert reply.headers["content-type"].startswith("text/css")  # never a source file


def test_error_page_escapes_what_it_was_asked(app) -> None:
    reply = raw_request(app, b"/search?q=%3C%2Ftitle%3E%3Cscript%3Efz()%3C%2Fscript%3E")
    assert reply.status == 200
    assert "&lt;/title&gt;&lt;script&gt;fz()" in reply.text
    over = raw_request(app, b"/search?q=" + b"%3Cb%3E" * 80)  # 240 characters, over 200
    assert over.status == 400 and "<b>" not in over.text


# -- search rate limit ---------------------------------------------------------------


def _limited(tmp_path_factory: pytest.TempPathFactory, burst: int, per_minute: float):
    url = f"sqlite:///{tmp_path_factory.mktemp('limit') / 'news.db'}"
    with open_store(url) as store:
        build_store(store, fillers=1)
    return create_app(
        url, Settings().with_overrides(search_burst=burst, search_per_minute=per_minute)
    )


@pytest.fixture(scope="module")
def limited_app(tmp_path_factory: pytest.TempPathFactory):
    return _limited(tmp_path_factory, burst=5, per_minute=6)


@pytest.fixture
def limited(limited_app) -> Iterator[TestClient]:
    limited_app.state.search_limiter._buckets.clear()
    with TestClient(limited_app, client=("198.51.100.7", 5000)) as test_client:
        yield test_client


def test_a_burst_of_searches_gets_429_with_retry_after(limited: TestClient) -> None:
    statuses = [limited.get("/search", params={"q": f"bridge {i}"}).status_code for i in range(5)]
    assert statuses == [200] * 5
    refused = limited.get("/search?q=bridge")
    assert refused.status_code == 429
    # 6 a minute: the next token is 10 s away.
    assert 1 <= int(refused.headers["retry-after"]) <= 10
    assert refused.headers["content-security-policy"] == SECURITY_HEADERS["content-security-policy"]
    assert "429" in lxml.html.fromstring(refused.text).xpath("//h1")[0].text_content()
    data = limited.get("/search.json?q=bridge")
    assert data.status_code == 429 and data.json()["error"]["status"] == 429
    # Only search is limited: reading goes on.
    assert limited.get("/").status_code == 200
    assert limited.get("/article/bridge-original").status_code == 200


def test_the_limit_is_per_client(limited_app, limited: TestClient) -> None:
    for _ in range(6):
        limited.get("/search?q=bridge")
    assert limited.get("/search?q=bridge").status_code == 429
    with TestClient(limited_app, client=("198.51.100.8", 5000)) as other:
        assert other.get("/search?q=bridge").status_code == 200
    # A forged X-Forwarded-For does not make a new client.
    forged = limited.get("/search?q=bridge", headers={"X-Forwarded-For": "192.0.2.1"})
    assert forged.status_code == 429


def test_default_settings_limit_a_burst(tmp_path_factory: pytest.TempPathFactory) -> None:
    defaults = Settings()
    app = _limited(tmp_path_factory, defaults.search_burst, defaults.search_per_minute)
    app.state.search_limiter.clock = lambda: 1000.0  # a burst: no time passes
    with TestClient(app) as client:
        statuses = [client.get(f"/search.json?q=word{i}").status_code for i in range(40)]
    assert statuses[: defaults.search_burst] == [200] * defaults.search_burst
    assert statuses[defaults.search_burst :] == [429] * (40 - defaults.search_burst)


def test_token_bucket_refills_with_time() -> None:
    now = [100.0]
    bucket = RateLimiter(burst=2, per_minute=30, clock=lambda: now[0])  # one token per 2 s
    assert [bucket.take("a"), bucket.take("a")] == [0.0, 0.0]
    assert bucket.take("a") == pytest.approx(2.0)
    now[0] += 1.0
    assert bucket.take("a") == pytest.approx(1.0)  # half a token back, not enough
    now[0] += 1.0
    assert bucket.take("a") == 0.0
    now[0] += 3600
    assert [bucket.take("a"), bucket.take("a"), bucket.take("a") > 0] == [0.0, 0.0, True]
    assert RateLimiter(burst=0, per_minute=0).take("a") == 0.0  # turned off
    assert retry_after(0.2) == "1" and retry_after(9.01) == "10"
    never = RateLimiter(burst=1, per_minute=0, clock=lambda: now[0])
    assert never.take("b") == 0.0 and retry_after(never.take("b")) == "86400"


def test_token_bucket_remembers_a_bounded_number_of_clients() -> None:
    bucket = RateLimiter(burst=1, per_minute=1, clock=lambda: 0.0, max_clients=100)
    for i in range(1000):
        bucket.take(f"client{i}")
    assert len(bucket._buckets) == 100
    assert bucket.take("client999") > 0  # the recent ones are still counted
