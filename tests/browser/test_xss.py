"""The XSS corpus in a real headless Chromium: no payload ever runs, on any page.

``xss_store`` ingests pages and records whose titles, bylines, text, URLs
and site names carry every payload of ``xss_payloads``.  Every page that
shows them is loaded: home, story lists, story pages, article pages, search
results (found by words and by searching the payloads themselves), the JSON
twins, the Atom feeds and error pages.  After each load the page must have
no flag set, no changed title, no alert, no script or event-handler
attribute, no ``javascript:`` link, no element that loads or navigates, no
CSP report in the console, and the flag server must have seen no request;
the response's Content-Security-Policy must forbid inline script.  The
payloads must also be *there*, as text, in each field kind.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.error import HTTPError
from urllib.parse import quote, urlsplit
from urllib.request import Request, urlopen

import pytest
from test_browser import Server, _need_browser, csp_reports, driver  # noqa: F401 (fixtures)
from xss_payloads import FLAG, PAYLOADS, PWNED, Payload, payloads
from xss_store import T0, XssStore, build_xss_store

from newsloom.settings import Settings
from newsloom.store import open_store
from newsloom.web.security import safe_url

# -- the flag server ----------------------------------------------------------------


@dataclass
class FlagServer:
    """Records every request: a payload's beacon, script or stylesheet, if one ever loads."""

    hits: list[str] = field(default_factory=list)
    # Served at /canary without any CSP: proves the probe sees a payload that runs.
    canary: bytes = b""

    def __post_init__(self) -> None:
        hits = self.hits
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/canary":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.end_headers()
                    self.wfile.write(owner.canary)
                    return
                hits.append(self.path)
                self.send_response(204)
                self.end_headers()

            do_POST = do_GET

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass(slots=True)
class Site:
    base: str
    store: XssStore
    corpus: list[Payload]
    flags: FlagServer


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    flags = FlagServer()
    corpus = payloads(flags.base)
    store = build_xss_store(tmp_path_factory.mktemp("xss"), corpus)
    # Searching the payloads themselves takes more searches than the default limit allows.
    with Server(store.url, Settings().with_overrides(search_burst=0)) as server:
        yield Site(server.base, store, corpus, flags)
    flags.close()


# -- what each loaded page is checked for ----------------------------------------------

# One round trip: whether anything ran, what the page contains that could run,
# and the text of each field, for the coverage checks.
PROBE = """
const all = Array.from(document.querySelectorAll('*'));
const handlers = all.filter(e => Array.from(e.attributes || []).some(a => /^on/i.test(a.name)));
const hrefs = Array.from(document.querySelectorAll('[href],[src],[action],[formaction],[data]'))
  .map(e => e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('action')
             || e.getAttribute('formaction') || e.getAttribute('data') || '');
const text = sel => Array.from(document.querySelectorAll(sel)).map(e => e.textContent);
const loaders = document.querySelectorAll(
  'iframe,frame,frameset,object,embed,img,image,svg,math,base,meta[http-equiv],video,audio,' +
  'source,portal,isindex,template,style,input:not([name=q]),textarea,select,marquee,details');
return {
  flag: window[arguments[0]] === undefined ? null : String(window[arguments[0]]),
  title: document.title,
  scripts: document.scripts.length,
  handlers: handlers.map(e => e.outerHTML.slice(0, 120)),
  hrefs: hrefs,
  loaders: Array.from(loaders).map(e => e.outerHTML.slice(0, 120)),
  stylesheets: Array.from(document.styleSheets).map(s => s.href),
  fields: {
    h1: text('h1'), authors: text('p.byline .authors'), site: text('.site, .sites'),
    text: text('section.text p'), apa: text('p.apa'), hits: text('li.hit'),
    cards: text('a.story-title, ul.found-stories a, .in-story a'),
    summary: text('#summary, .conflict'),
    external: Array.from(document.querySelectorAll('a.external')).map(a => a.getAttribute('href')),
  },
};
"""


@dataclass
class Seen:
    """Everything the pages showed, for the coverage checks at the end."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    pages: int = 0

    def add(self, fields: dict[str, list[str]]) -> None:
        self.pages += 1
        for name, values in fields.items():
            self.fields.setdefault(name, []).extend(v for v in values if v)

    def joined(self, *names: str) -> str:
        return norm(" ".join(v for n in names for v in self.fields.get(n, [])))


_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\ufffd]")


def norm(text: str) -> str:
    """Text as shown: whitespace runs are one space; NUL and other controls are dropped
    (the extractor removes them, a browser shows NUL as nothing or U+FFFD)."""
    return " ".join(_CONTROL.sub("", text).split())


def as_byline(text: str) -> str:
    """A payload as a byline shows it: the extractor reads ";" and "&" as name separators."""
    return " and ".join(n for part in re.split(r"[;&]", text) if (n := norm(part)))


def csp_allows_inline_script(policy: str) -> list[str]:
    """What in ``policy`` would let an injected inline script (or eval) run."""
    directives = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = [w.lower() for w in words[1:]]
    script = directives.get("script-src", directives.get("default-src"))
    if script is None:
        return ["no script-src and no default-src"]
    problems = [s for s in script if s in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:")]
    problems += [
        s
        for s in script
        if s not in ("'self'", "'none'", "'strict-dynamic'")
        and not s.startswith(("'nonce-", "'sha256-", "'sha384-", "'sha512-"))
    ]
    if "base-uri" not in directives:
        problems.append("no base-uri: an injected <base> could move relative scripts")
    return problems


def _head(url: str) -> tuple[int, str]:
    """The status and Content-Security-Policy of ``url``."""
    try:
        with urlopen(Request(url, method="HEAD"), timeout=30) as response:
            return response.status, response.headers["content-security-policy"]
    except HTTPError as error:
        return error.code, error.headers["content-security-policy"]


def check_page(browser, site: Site, path: str, seen: Seen, status: int = 200) -> None:
    """Load ``path`` from the app and check it; its CSP must forbid inline script."""
    url = site.base + path
    code, policy = _head(url)
    assert code == status, (path, code)
    assert policy and csp_allows_inline_script(policy) == [], (path, policy)
    browser.get(url)
    _check_loaded(browser, site, path, seen, own_sheet=site.base + "/static/style.css")


def _check_loaded(browser, site: Site, label: str, seen: Seen, own_sheet: str | None) -> None:
    """The loaded page ran nothing and holds nothing that could run or load."""
    from selenium.common.exceptions import NoAlertPresentException

    try:
        alert = browser.switch_to.alert
        text = alert.text
        alert.dismiss()
        pytest.fail(f"{label}: an alert opened: {text!r}")
    except NoAlertPresentException:
        pass
    probe = browser.execute_script(PROBE, FLAG)
    assert probe["flag"] is None, (label, probe["flag"])
    assert probe["title"] != PWNED, label
    assert probe["scripts"] == 0, label
    assert probe["handlers"] == [], (label, probe["handlers"])
    assert probe["loaders"] == [], (label, probe["loaders"])
    for href in probe["hrefs"]:
        # Absolute http(s) links and relative ones (the static export's); no
        # other scheme, however spelled (urlsplit drops tabs and newlines as
        # browsers do).
        scheme = urlsplit(href.strip()).scheme.lower()
        assert scheme in ("", "http", "https"), (label, href)
        assert not href.startswith(site.flags.base), (label, href)
    assert all(sheet in (None, own_sheet) for sheet in probe["stylesheets"]), (
        label,
        probe["stylesheets"],
    )
    assert csp_reports(browser) == [], label  # escaping left the policy nothing to block
    assert site.flags.hits == [], (label, site.flags.hits)
    seen.add(probe["fields"])


# -- the pages ----------------------------------------------------------------------


def _json(url: str) -> dict:
    import json

    with urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def _list_pages(site: Site, path: str) -> list[str]:
    out, page = [], 1
    while page:
        out.append(f"{path}?page={page}")
        page = _json(f"{site.base}{path}.json?page={page}")["pager"]["next"]
    return out


def _search_pages(site: Site, query: str) -> list[str]:
    out, page = [], 1
    while page:
        out.append(f"/search?q={quote(query)}&page={page}")
        page = _json(f"{site.base}/search.json?q={quote(query)}&page={page}")["pager"]["next"]
    return out


def _payload_queries(corpus: list[Payload], limit: int = 200) -> list[str]:
    """The payloads as search queries, packed a few to a query (a query is at most 200 chars)."""
    queries, current = [], ""
    for p in corpus:
        text = p.text[:limit]
        if current and len(current) + 1 + len(text) > limit:
            queries.append(current)
            current = ""
        current = f"{current} {text}".strip() if current else text
    queries.append(current)
    return queries


def test_the_corpus() -> None:
    assert len(PAYLOADS) >= 100
    assert len({p.text for p in PAYLOADS}) == len(PAYLOADS)
    categories = {p.category for p in PAYLOADS}
    assert {"script", "handler", "url", "svg", "mathml", "css", "breakout", "comment"} <= categories
    assert {"encoded", "broken", "template", "json", "misc"} <= categories
    # Every payload is traceable: it sets its own number, requests its own flag
    # address, or (templates) names itself.
    for p in PAYLOADS:
        text = p.text
        if ";base64," in text:
            text = base64.b64decode(text.split(",", 1)[1]).decode()
        assert f"{FLAG}={p.n}" in text or f"/hit/{p.n}" in text or f"xss{p.n}" in text, p


def test_the_probe_sees_a_payload_that_runs(driver) -> None:  # noqa: F811
    # The same payloads on a page with no escaping and no CSP: had the app
    # rendered them like this, the checks below would have caught it.
    corpus = payloads("http://127.0.0.1:9")
    chosen = [corpus[0], next(p for p in corpus if p.text.startswith("<img src=x onerror"))]
    flags = FlagServer()
    beacon = f'<img src="{flags.base}/hit/0">'
    flags.canary = (
        "<!doctype html><title>t</title>" + "".join(p.text for p in chosen) + beacon
    ).encode()
    try:
        driver.get(flags.base + "/canary")
        probe = driver.execute_script(PROBE, FLAG)
        deadline = time.monotonic() + 5
        while not flags.hits and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        flags.close()
    assert probe["flag"] in {str(p.n) for p in chosen}
    assert probe["scripts"] == 1 and probe["handlers"] and probe["loaders"]
    assert "/hit/0" in flags.hits


def test_no_payload_runs_on_any_page(driver, site: Site) -> None:  # noqa: F811
    seen = Seen()
    driver.get_log("browser")  # start with an empty console
    base = site.base
    with open_store(site.store.url) as store:
        stories = [store.get_story(s) for s in site.store.story_ids]
    pages = ["/", *_list_pages(site, "/stories"), "/index.json", "/feed.atom"]
    for story in stories:
        pages += [f"/story/{story.id}", f"/story/{story.id}.json", f"/story/{story.id}/feed.atom"]
    pages += [f"/article/{a}" for a in site.store.article_ids]
    pages += [f"/article/{a}.json" for a in site.store.article_ids[::20]]
    pages += _search_pages(site, "harbour council")
    pages += [f"/search?q={quote(q)}" for q in _payload_queries(site.corpus)]
    pages += [f"/search.json?q={quote(q)}" for q in _payload_queries(site.corpus)[::5]]
    for path in pages:
        check_page(driver, site, path, seen)
    # Highlighted article pages (the span marking code path), one per story.
    marked = [f"/article/{story.article_ids[0]}?hl=0-40#hl" for story in stories]
    for path in marked:
        check_page(driver, site, path, seen)
    # Error pages: an unknown article named by a payload, an over-long payload search.
    errors = [(f"/article/{quote(p.text, safe='')}", 404) for p in site.corpus[::10]]
    errors += [("/search?q=" + quote(" ".join(p.text for p in site.corpus[:8])), 400)]
    for path, status in errors:
        check_page(driver, site, path, seen, status)
    assert seen.pages == len(pages) + len(marked) + len(errors) > 250
    _check_coverage(site, seen)
    assert base == site.base


TEXT_KINDS = {
    "title": ("h1",),
    "byline": ("authors",),
    "text": ("text",),
    "site name": ("site",),
    "summary": ("summary",),
}


def _missing(site: Site, seen: Seen, kinds: dict[str, tuple[str, ...]]) -> dict[str, list[int]]:
    """Per field kind, the payloads never shown whole (as text) in it."""
    out = {}
    for kind, names in kinds.items():
        shown = seen.joined(*names)
        expect = as_byline if kind == "byline" else norm
        out[kind] = [p.n for p in site.corpus if expect(p.text) not in shown]
    return {kind: numbers for kind, numbers in out.items() if numbers}


def _check_coverage(site: Site, seen: Seen) -> None:
    """Each payload was shown, as text, in each kind of field."""
    assert _missing(site, seen, {**TEXT_KINDS, "search hit": ("hits",)}) == {}
    # Stories are named by their group page's title as the extractor read it
    # (it may trim a title's edges); every stored title is shown whole, and
    # together they name every payload.
    cards = seen.joined("cards")
    with open_store(site.store.url) as store:
        titles = [store.get_story(s).title for s in site.store.story_ids]
    assert [t[:60] for t in titles if norm(t) not in cards] == []
    assert [p.n for p in site.corpus if not any(p.marker in t for t in titles)] == []
    # URLs, as the readers stored them (a URL may come out normalised): one
    # that is not a plain http(s) address never becomes a link; the others
    # are linked exactly (the attribute kept all of it) and cited as text.
    external = set(seen.fields.get("external", []))
    apa = seen.joined("apa")
    with open_store(site.store.url) as store:
        stored = [store.get_article(a) for a in site.store.article_ids]
    urls = {u for a in stored for u in (a.url, a.canonical_url) if u}
    # The byline links the article's URL and the APA line cites it; the
    # canonical URL is only in the JSON twin.
    linked = [u for a in stored if (u := a.url) and safe_url(u)]
    refused = [u for u in urls if not safe_url(u)]
    assert [u for u in refused if u in external or u.strip() in external] == []
    assert [u for u in linked if u not in external] == []
    # A page that copies another cites that one (each story has one such page).
    uncited = [u for u in linked if norm(u) not in apa]
    assert len(uncited) <= len(site.store.story_ids), uncited
    # Both kinds occur, and every payload reached a stored URL.
    assert len(linked) > 20 and len(refused) > 20, (len(linked), len(refused))
    holding = {p.n for p in site.corpus for u in urls if p.marker in u or norm(p.text) in norm(u)}
    assert [p.n for p in site.corpus if p.n not in holding] == []


def test_no_payload_runs_in_the_static_html_export(driver, site: Site, tmp_path) -> None:  # noqa: F811
    """``newsloom export --format html`` read from file://: no server sends a CSP
    there, so escaping is the only defence."""
    from newsloom.export import export

    with open_store(site.store.url) as store:
        export(store, tmp_path / "html", "html")
    pages = sorted((tmp_path / "html").rglob("*.html"))
    assert len(pages) > len(site.store.article_ids)
    seen = Seen()
    sheet = (tmp_path / "html" / "static" / "style.css").as_uri()
    for page in pages:
        driver.get(page.as_uri())
        _check_loaded(driver, site, str(page.relative_to(tmp_path)), seen, own_sheet=sheet)
    assert _missing(site, seen, TEXT_KINDS) == {}


def test_no_payload_runs_in_markdown_exports(driver, site: Site, tmp_path) -> None:  # noqa: F811
    """The Markdown export and the daily digest, rendered the way many viewers do
    (raw HTML passed through), so only the Markdown escaping stands between a
    payload and the page.  Every page is checked before failing, to name them all."""
    from markdown_it import MarkdownIt

    from newsloom.digest import daily_digest
    from newsloom.export import export

    with open_store(site.store.url) as store:
        export(store, tmp_path / "md", "markdown")
        (tmp_path / "md" / "digest.md").write_text(daily_digest(store, T0.date()), "utf-8")
    render = MarkdownIt("commonmark", {"html": True}).render
    sources = sorted((tmp_path / "md").rglob("*.md"))
    assert len(sources) > len(site.store.article_ids)
    shown, failed = [], {}
    for source in sources:
        page = source.with_suffix(".md.html")
        page.write_text(render(source.read_text("utf-8")), "utf-8")
        site.flags.hits.clear()  # each page answers for its own beacons
        driver.get(page.as_uri())
        try:
            _check_loaded(driver, site, source.name, Seen(), own_sheet=None)
        except AssertionError as error:
            failed[str(source.relative_to(tmp_path))] = str(error).splitlines()[0][:160]
        shown.append(driver.execute_script("return document.body.textContent"))
    text = norm(" ".join(shown))
    assert [p.n for p in site.corpus if p.marker not in text] == []
    # Escaped, not dropped: most payloads read back exactly as written.
    whole = [p.n for p in site.corpus if norm(p.text) in text]
    assert len(whole) > 0.9 * len(site.corpus), sorted({p.n for p in site.corpus} - set(whole))
    assert failed == {}, sorted(set(failed.values()))
