"""The long fuzz target: a million generated and mutated inputs through every parser.

``make fuzz`` runs it.  Inputs start from the pages in ``../shared/data``
(the Zyte, trafilatura and htmldate evaluation pages), the seeds in
``../shared/seeds``, the JSONL data sets there and the demo corpus, plus
generated feeds, sitemaps, WARC records, JSONL and prose; each is then
mutated (bit flips, truncation, duplication, splicing, long runs, tokens that
parsers treat specially).  Every input goes through one target: HTML, text
and sniffed extraction, the readers (feeds, sitemaps, WARC, JSONL, JSON,
gzip), decoding and mojibake repair, line parsers (references, "Summary by",
"Read more", dates, page chrome), and sentences with the fact extractors.

A target passes when it returns or raises a ``NewsloomError`` and its
output keeps the invariants (sentence spans exact, repair idempotent, no
control characters in extracted text).  Anything else is a finding:

* a crash (any other exception, or a broken invariant) is saved under
  ``fuzz/out/`` with its traceback;
* an input that has used ``--timeout`` seconds of CPU (default 5) is killed
  and saved as slow, and one still running after ``--wall-timeout`` seconds
  (default 60) as stuck.  CPU time, not wall time, is the limit: on a
  shared machine the wall clock of a 1 s input stretches with the load, and
  such inputs were reported as slow when they were not (docs/security.md);
* a worker whose memory passes ``--max-rss-mb`` is killed and the input saved.

Input ``i`` is a pure function of ``(--seed, i)``, so a run is reproducible,
``--resume`` continues one from its state under ``--out`` (``fuzz/out/``), and
``--replay I`` re-runs a single input in this process with its traceback.
``--jobs N`` (one per core by default) splits the inputs into N contiguous
shares, each run by its own worker with its own state and findings under
``OUT/shard-K/``; the report adds them up.  ``--start`` and ``--count`` pick
the range of inputs.

Usage::

    .venv/bin/python fuzz/run.py                      # 1,000,000 inputs
    .venv/bin/python fuzz/run.py --count 50000 --seed 7
    .venv/bin/python fuzz/run.py --resume             # continue the last run
    .venv/bin/python fuzz/run.py --jobs 1             # one worker (default: one per core)
    .venv/bin/python fuzz/run.py --replay 12345 --seed 7
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import itertools
import json
import logging
import multiprocessing as mp
import os
import random
import signal
import sys
import time
import traceback
import unicodedata
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from newsloom.errors import NewsloomError  # noqa: E402
from newsloom.extract import chrome as page_chrome  # noqa: E402
from newsloom.extract import extract  # noqa: E402
from newsloom.extract.citations import (  # noqa: E402
    find_attributions,
    parse_read_more,
    parse_reference,
    parse_summary_by,
)
from newsloom.extract.dates import parse_date_line  # noqa: E402
from newsloom.extract.encoding import decode, repair_mojibake  # noqa: E402
from newsloom.facts import (  # noqa: E402
    extract_dates,
    extract_places,
    extract_quantities,
    extract_quotes,
    negation_targets,
    phase_words,
)
from newsloom.read.route import pages_from_body  # noqa: E402
from newsloom.read.sniff import content_type_parts, sniff  # noqa: E402
from newsloom.sentences import split_sentences  # noqa: E402
from newsloom.settings import Settings  # noqa: E402
from newsloom.types import Article, Failure, Page  # noqa: E402

SHARED = Path(os.environ.get("NEWSLOOM_SHARED", REPO.parent / "shared"))
DEMO = REPO / "src" / "newsloom" / "demo" / "corpus"
OUT = REPO / "fuzz" / "out"
MAX_INPUT = 2 * 1024 * 1024  # bytes; pages are capped at 10 MB, fuzzing wants speed
MAX_SAVED_PER_SIGNATURE = 3
# Units of the CPU times in /proc/<pid>/stat.
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SETTINGS = Settings()


# --- corpus -------------------------------------------------------------------


@dataclass
class Corpus:
    html: list[bytes] = field(default_factory=list)
    text: list[bytes] = field(default_factory=list)
    jsonl: list[bytes] = field(default_factory=list)
    feeds: list[bytes] = field(default_factory=list)
    warc: list[bytes] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    everything: list[bytes] = field(default_factory=list)

    def all(self) -> list[bytes]:
        if not self.everything:
            self.everything = self.html + self.text + self.jsonl + self.feeds + self.warc
        return self.everything


def load_corpus(shared: Path) -> Corpus:
    corpus = Corpus()
    for folder in ("zyte_article_extraction_benchmark", "trafilatura_eval", "htmldate_eval"):
        for path in sorted((shared / "data" / folder / "html").glob("*.html.gz")):
            corpus.html.append(gzip.decompress(path.read_bytes())[:MAX_INPUT])
    for path in sorted((shared / "seeds").glob("*.txt")):
        corpus.text.append(path.read_bytes())
    for path in sorted((shared / "data").glob("*/*.jsonl.gz")):
        with gzip.open(path, "rb") as fh:
            lines = [fh.readline() for _ in range(50)]
        corpus.jsonl.append(b"".join(lines))
    for path in sorted(DEMO.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        {
            ".html": corpus.html,
            ".txt": corpus.text,
            ".jsonl": corpus.jsonl,
            ".xml": corpus.feeds,
        }.get(path.suffix, corpus.warc).append(data)
        if path.suffix == ".gz":
            corpus.warc.append(gzip.decompress(data))
    if not corpus.html:
        print(f"warning: no pages under {shared / 'data'}; only the demo corpus is used")
    # Lines of real prose for the line and sentence targets.
    for data in corpus.text + corpus.html[:40]:
        text = data.decode("utf-8", "replace")
        corpus.lines.extend(
            line.strip() for line in text.splitlines() if 3 < len(line.strip()) < 400
        )
    return corpus


# --- generation and mutation --------------------------------------------------

TOKENS = [
    b"<", b">", b"</", b"/>", b"<p>", b"</p>", b"<div>", b"</div>", b"<a href='", b"<script>",
    b"</script>", b"<style>", b"<!--", b"-->", b"<![CDATA[", b"]]>", b"<?xml version='1.0'?>",
    b"<!DOCTYPE html>", b"&amp;", b"&#0;", b"&#x110000;", b"&nbsp;", b"\x00", b"\xff", b"\xc3",
    b"\xe2\x80", b"\xef\xbb\xbf", b"\xff\xfe", b"\x1f\x8b", b"\r\n", b"\n\n", b"WARC/1.0\r\n",
    b"Content-Length: 99999999\r\n", b"<rss version='2.0'>", b"<item>", b"<entry>",
    b"<urlset>", b"<loc>", b"{\"text\": \"", b"\"}", b"{", b"[", b"<meta charset='utf-16'>",
    b"<meta charset='\x00'>", b"<link rel=canonical href='http://a:99999/'>",
    b"<base href='http://[::1'>", b"<time datetime='2020-02-30'>", b"according to ",
    b" reported", b"Summary by ", b"Read more: ", b"Published: March 3, 2020", b"By ",
    b"(2020, March 3). ", b"Retrieved from https://", b"5 mins read", b"1.2k views",
    b"Related articles", b"Mr. ", b"4.40pm", b"1,480 people", b"more than ", b" per cent",
    b"last Tuesday", b"in the Town Hall", b"\xe2\x80\x9c", b"\xe2\x80\x9d", b"!!!", b"...",
]  # fmt: skip
INTERESTING = [0x00, 0x0A, 0x0D, 0x20, 0x22, 0x26, 0x3C, 0x3E, 0x7F, 0x80, 0x9D, 0xC3, 0xFF]


def mutate(rng: random.Random, data: bytes, corpus: Corpus) -> bytes:
    buf = bytearray(data)
    for _ in range(1 + int(rng.expovariate(0.5))):
        at = rng.randint(0, len(buf))
        op = rng.randrange(11)
        if op == 0 and buf:  # bit flips
            for _ in range(rng.randint(1, 8)):
                i = rng.randrange(len(buf))
                buf[i] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:
            buf[min(at, len(buf) - 1)] = rng.choice(INTERESTING)
        elif op == 2:
            del buf[at : at + rng.randint(1, 4096)]
        elif op == 3:
            end = min(len(buf), at + rng.randint(1, 4096))
            buf[at:at] = buf[at:end] * rng.randint(1, 16)
        elif op == 4:
            buf[at:at] = rng.randbytes(rng.randint(1, 64))
        elif op == 5:
            buf[at:at] = rng.choice(TOKENS) * (1 if rng.random() < 0.8 else rng.randint(2, 200))
        elif op == 6:
            other = rng.choice(corpus.all())
            start = rng.randint(0, len(other))
            buf[at:at] = other[start : start + rng.randint(1, 8192)]
        elif op == 7:
            del buf[at:]
        elif op == 8:  # a long run: what regex backtracking and quadratic loops hate
            unit = rng.choice([b"a", b"A", b" ", b".", b"!", b"<", b"<div>", b"A. ", b"1 ", b"\n"])
            buf[at:at] = unit * rng.randint(1000, 200_000 // len(unit))
        elif op == 9 and len(buf) > 2:  # swap two ranges
            a, b = sorted(rng.sample(range(len(buf)), 2))
            n = min(rng.randint(1, 512), b - a)
            buf[a : a + n], buf[b : b + n] = buf[b : b + n], buf[a : a + n]
        elif op == 10:
            buf[at:at] = rng.choice(TOKENS)
    return bytes(buf[:MAX_INPUT])


def _words(rng: random.Random, corpus: Corpus, n: int) -> str:
    line = rng.choice(corpus.lines) if corpus.lines else "The council said on Monday"
    words = line.split() or ["word"]
    return " ".join(rng.choice(words) for _ in range(n))


def gen_html(rng: random.Random, corpus: Corpus) -> bytes:
    tags = ["p", "div", "span", "a", "h1", "h2", "article", "section", "li", "ul", "table", "td",
            "script", "style", "time", "meta", "br", "b", "i", "blockquote", "figure"]  # fmt: skip
    out: list[str] = ["<html><head><title>", _words(rng, corpus, 6), "</title></head><body>"]
    depth = 0
    for _ in range(rng.randint(1, 200)):
        r = rng.random()
        if r < 0.4:
            tag = rng.choice(tags)
            attrs = rng.choice(
                [
                    "",
                    " class='author'",
                    " href='http://x.example/a'",
                    " itemprop='datePublished' content='2021-03-04'",
                ]
            )
            out.append(f"<{tag}{attrs}>")
            depth += 1
        elif r < 0.6 and depth:
            out.append(f"</{rng.choice(tags)}>")
            depth -= 1
        else:
            out.append(_words(rng, corpus, rng.randint(1, 40)))
    return "".join(out).encode("utf-8", "replace")


def gen_feed(rng: random.Random, corpus: Corpus) -> bytes:
    atom = rng.random() < 0.3
    items = []
    for _ in range(rng.randint(0, 8)):
        body = _words(rng, corpus, rng.randint(0, 150))
        link = rng.choice(
            ["https://example.com/a", "", "http://[::1", "javascript:x", "https://a:99999/"]
        )
        if atom:
            items.append(
                f"<entry><title>{_words(rng, corpus, 5)}</title><link href='{link}'/>"
                f"<content type='html'>{body}</content>"
                "<updated>2021-01-01T00:00:00Z</updated></entry>"
            )
        else:
            items.append(
                f"<item><title>{_words(rng, corpus, 5)}</title><link>{link}</link>"
                f"<description>{body}</description><pubDate>Mon, 06 Jan 2025</pubDate></item>"
            )
    if atom:
        text = f"<feed xmlns='http://www.w3.org/2005/Atom'><title>T</title>{''.join(items)}</feed>"
    else:
        text = f"<rss version='2.0'><channel><title>T</title>{''.join(items)}</channel></rss>"
    return ("<?xml version='1.0' encoding='utf-8'?>" + text).encode("utf-8", "replace")


def gen_sitemap(rng: random.Random, corpus: Corpus) -> bytes:
    root = rng.choice(["urlset", "sitemapindex"])
    child = "url" if root == "urlset" else "sitemap"
    entries = "".join(
        f"<{child}><loc>https://example.com/{i}?a=1&b=2</loc>"
        f"<lastmod>2021-01-0{i % 9 + 1}</lastmod>"
        f"<news:news><news:title>{_words(rng, corpus, 4)}</news:title></news:news></{child}>"
        for i in range(rng.randint(0, 20))
    )
    ns = "xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'"
    news = rng.choice(["xmlns:news='http://www.google.com/schemas/sitemap-news/0.9'", ""])
    return f"<?xml version='1.0'?><{root} {ns} {news}>{entries}</{root}>".encode("utf-8", "replace")


def gen_warc(rng: random.Random, corpus: Corpus) -> bytes:
    records = []
    for _ in range(rng.randint(1, 4)):
        payload = rng.choice(corpus.html)[: rng.randint(0, 65536)] if corpus.html else b"<p>x</p>"
        content_type = rng.choice(
            ["text/html; charset=utf-8", "text/html; charset=bogus", "", "image/png"]
        )
        status = rng.choice(["200 OK", "404 Not Found", "2"])
        http = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n\r\n".encode() + payload
        head = (
            f"WARC/1.0\r\nWARC-Type: {rng.choice(['response', 'resource', 'request'])}\r\n"
            f"WARC-Record-ID: <urn:uuid:{rng.randrange(10**9)}>\r\n"
            f"WARC-Target-URI: https://example.com/{rng.randrange(99)}\r\n"
            "WARC-Date: 2025-01-06T10:00:00Z\r\n"
            "Content-Type: application/http; msgtype=response\r\n"
            f"Content-Length: {len(http)}\r\n\r\n"
        ).encode()
        record = head + http + b"\r\n\r\n"
        records.append(gzip.compress(record, mtime=0) if rng.random() < 0.5 else record)
    return b"".join(records)


def gen_jsonl(rng: random.Random, corpus: Corpus) -> bytes:
    def value(depth: int = 0) -> Any:
        r = rng.random()
        if depth > 2 or r < 0.5:
            return rng.choice(
                [None, True, 3, 1e308, _words(rng, corpus, rng.randint(0, 60)), "", "\x00"]
            )
        if r < 0.75:
            return [value(depth + 1) for _ in range(rng.randint(0, 3))]
        return {rng.choice(["name", "x"]): value(depth + 1)}

    keys = ["url", "title", "text", "html", "published", "authors", "author", "site_name"]
    lines = [
        json.dumps({k: value() for k in rng.sample(keys, rng.randint(0, len(keys)))})
        for _ in range(rng.randint(1, 5))
    ]
    return "\n".join(lines).encode("utf-8", "replace")


def gen_prose(rng: random.Random, corpus: Corpus) -> bytes:
    pieces = ["Mr.", "Dr.", "U.S.", "J.", "4.40pm", "3.5", "1,480", "per cent", "£12m", "about",
              "more than", "twenty-five", "three of the eight", "from eleven votes to nine", "km",
              "hours", "last Tuesday", "5 March 2021", "March 5, 2021", "at Alderwick Town Hall",
              '"quoted words"', "not", "recount", "according to Reuters", "the BBC reported",
              "courtesy of The Times", ".", "!", "?", "\n", "\n\n"]  # fmt: skip
    out = [
        rng.choice(pieces) if rng.random() < 0.4 else _words(rng, corpus, rng.randint(1, 8))
        for _ in range(rng.randint(1, 80))
    ]
    return " ".join(out).encode("utf-8")


def _page_slice(rng: random.Random, data: bytes) -> bytes:
    # Whole pages are slow (extraction runs trafilatura); most inputs are a window.
    if rng.random() < 0.1 or len(data) < 4096:
        return data
    size = rng.randint(512, 64 * 1024)
    start = rng.randint(0, max(0, len(data) - size))
    return data[start : start + size]


def _reader_seed(rng: random.Random, corpus: Corpus) -> tuple[bytes, str]:
    kind = rng.randrange(8)
    if kind == 0 and corpus.feeds:
        return rng.choice(corpus.feeds), "feed.xml"
    if kind == 1 and corpus.warc:
        return rng.choice(corpus.warc), rng.choice(["a.warc.gz", "a.warc", ""])
    if kind == 2 and corpus.jsonl:
        return rng.choice(corpus.jsonl), rng.choice(["a.jsonl", "a.json", ""])
    generator = rng.choice([gen_feed, gen_sitemap, gen_warc, gen_jsonl, gen_html])
    body = generator(rng, corpus)
    if rng.random() < 0.1:
        body = gzip.compress(body, mtime=0)
    return body, rng.choice(["", "x.xml", "x.jsonl", "x.json", "x.warc.gz", "x.xml.gz", "x.html"])


TARGETS = (
    "extract_html",
    "extract_auto",
    "extract_text",
    "extract_str",
    "read",
    "decode",
    "lines",
    "prose",
)
WEIGHTS = (20, 10, 10, 8, 22, 10, 10, 10)


def generate(seed: int, index: int, corpus: Corpus) -> tuple[str, bytes, str]:
    """Input ``index`` of run ``seed``: (target, data, file name hint)."""
    rng = random.Random(f"{seed}:{index}")
    target = rng.choices(TARGETS, WEIGHTS)[0]
    name = ""
    if target in {"extract_html", "extract_auto"}:
        seed_data = (
            rng.choice(corpus.html) if rng.random() < 0.8 and corpus.html else gen_html(rng, corpus)
        )
        data = _page_slice(rng, seed_data)
    elif target in {"extract_text", "extract_str"}:
        pool = [*corpus.text, gen_prose(rng, corpus)]
        data = _page_slice(rng, rng.choice(pool))
    elif target == "read":
        data, name = _reader_seed(rng, corpus)
    elif target == "decode":
        data = _page_slice(rng, rng.choice(corpus.all()))
        if rng.random() < 0.3:  # make mojibake: UTF-8 read in a legacy code page and saved again
            text = data.decode("utf-8", "replace")
            legacy = rng.choice(["cp1252", "latin-1", "cp874"])
            data = text.encode("utf-8").decode(legacy, "ignore").encode("utf-8")
    elif target == "lines":
        data = "\n".join(rng.choice(corpus.lines) for _ in range(rng.randint(1, 20))).encode()
    else:
        data = gen_prose(rng, corpus)
    if rng.random() < 0.9:
        data = mutate(rng, data, corpus)
    return target, data, name


# --- targets and their contracts ----------------------------------------------


class Broken(AssertionError):
    """An output that breaks an invariant users rely on."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise Broken(message)


def _bad_char(text: str) -> bool:
    return any(
        (unicodedata.category(c) == "Cc" and c not in "\t\n") or unicodedata.category(c) == "Cs"
        for c in text
    )


def _check_article(article: Article) -> None:
    _check(bool(article.paragraphs), "article without paragraphs")
    for paragraph in article.paragraphs:
        _check(isinstance(paragraph, str) and bool(paragraph.strip()), "empty paragraph")
        _check(not _bad_char(paragraph), "control character in a paragraph")
    for value in (article.title, article.site_name, *article.authors):
        _check(value is None or not _bad_char(value), "control character in metadata")
    article.text.encode("utf-8")


def run_extract(data: bytes | str, kind: str | None) -> None:
    """Extract; a NewsloomError propagates and is counted as a typed (expected) error."""
    _check_article(extract(data, kind=kind, url="https://example.com/news/a"))


def run_read(data: bytes, name: str) -> None:
    kind = sniff(data, name)
    page = Page(source=name or "<fuzz>", body=data)
    for item in pages_from_body(page, SETTINGS, None, name=name):
        _check(isinstance(item, Page | Failure), f"reader yielded {type(item).__name__}")
        if isinstance(item, Page) and kind not in {"gzip"}:
            with contextlib.suppress(NewsloomError):
                run_extract(item, None)


def run_decode(data: bytes, declared: str | None) -> None:
    text, _ = decode(data, declared)
    text.encode("utf-8")
    content_type_parts(f"text/html; charset={declared}")
    fixed, _ = repair_mojibake(text[:200_000])
    again, more = repair_mojibake(fixed)
    _check(again == fixed and not more, "repair_mojibake not idempotent")


def run_lines(text: str) -> None:
    for line in text.splitlines():
        for parser in (parse_reference, parse_summary_by, parse_read_more):
            parser(line)
        when = parse_date_line(line)
        _check(when is None or when.tzinfo is not None, "naive date")
        page_chrome.parse_stated_minutes(line)
        page_chrome.parse_stated_views(line)
        page_chrome.is_inline_chrome(line)
        page_chrome.is_footer_heading(line)


def run_prose(text: str) -> None:
    previous = 0
    sentences = split_sentences(text)
    for sentence in sentences:
        _check(text[sentence.start : sentence.end] == sentence.text, "sentence span not exact")
        _check(previous <= sentence.start < sentence.end, "sentences out of order")
        previous = sentence.end
        for q in extract_quantities(sentence.text):
            _check(0 <= q.start <= q.end <= len(sentence.text), "quantity span out of range")
        extract_dates(sentence.text, None)
        extract_places(sentence.text)
        extract_quotes(sentence.text)
        negation_targets(sentence.text)
        phase_words(sentence.text)
    find_attributions(text.split("\n"))


def run_one(target: str, data: bytes, name: str, rng_byte: int) -> None:
    if target == "extract_html":
        run_extract(data, "html")
    elif target == "extract_auto":
        run_extract(data, None)
    elif target == "extract_text":
        run_extract(data, "text")
    elif target == "extract_str":
        run_extract(data.decode("utf-8", "surrogateescape"), None)
    elif target == "read":
        run_read(data, name)
    elif target == "decode":
        run_decode(
            data, [None, "utf-8", "cp1252", "shift_jis", "bogus", "utf-16", "\x00"][rng_byte % 7]
        )
    elif target == "lines":
        run_lines(data.decode("utf-8", "replace"))
    else:
        run_prose(data.decode("utf-8", "surrogateescape"))


# --- worker -------------------------------------------------------------------


def _rss_kb(pid: int | str = "self", key: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) that process ``pid`` has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    # utime and stime are fields 14 and 15 of the line, counted from the pid.
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def worker(
    conn: Any, corpus: Corpus, seed: int, indices: range, current: Any, started: Any, cpu: Any
) -> None:
    logging.disable(logging.CRITICAL)  # trafilatura and htmldate log every bad page
    # warcio prints each damaged record's remainder (megabytes) to stderr.
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the worker
    warnings.simplefilter("ignore")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    stats: dict[str, Any] = {
        "done": 0,
        "targets": Counter(),
        "typed": 0,
        "crashes": [],
        "slowest": [],
    }
    last_send = time.monotonic()
    for index in indices:
        target, data, name = generate(seed, index, corpus)
        current.value = index
        started.value = time.monotonic()
        cpu.value = time.process_time()
        t0 = time.process_time()
        try:
            run_one(target, data, name, index)
        except NewsloomError:
            stats["typed"] += 1
        except Exception as exc:
            stats["crashes"].append(
                {
                    "index": index,
                    "target": target,
                    "error": type(exc).__name__,
                    "message": str(exc)[:300],
                    "where": _where(exc),
                    "traceback": traceback.format_exc()[-3000:],
                }
            )
        elapsed = time.process_time() - t0
        current.value = -1
        stats["done"] += 1
        stats["targets"][target] += 1
        stats["slowest"].append((elapsed, index, target, len(data)))
        if len(stats["slowest"]) > 50:
            stats["slowest"] = sorted(stats["slowest"], reverse=True)[:10]
        # A crash is reported at once: a kill for a later slow input must not lose it.
        if stats["crashes"] or time.monotonic() - last_send > 1.0:
            _send(conn, stats, index + 1)
            stats = {"done": 0, "targets": Counter(), "typed": 0, "crashes": [], "slowest": []}
            last_send = time.monotonic()
    _send(conn, stats, None)
    conn.close()


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    frame = frames[-1] if frames else None
    return f"{Path(frame.filename).name}:{frame.lineno}" if frame else "?"


def _send(conn: Any, stats: dict[str, Any], next_index: int | None) -> None:
    stats["slowest"] = sorted(stats["slowest"], reverse=True)[:10]
    stats["rss_kb"] = _rss_kb()
    stats["hwm_kb"] = _rss_kb(key="VmHWM")
    stats["next"] = next_index
    conn.send(stats)


# --- parent -------------------------------------------------------------------


@dataclass
class Summary:
    seed: int
    count: int
    next_index: int = 0
    done: int = 0
    typed: int = 0
    seconds: float = 0.0
    targets: Counter[str] = field(default_factory=Counter)
    crashes: Counter[str] = field(default_factory=Counter)
    slow: list[dict[str, Any]] = field(default_factory=list)
    memory: list[dict[str, Any]] = field(default_factory=list)
    slowest: list[tuple[float, int, str, int]] = field(default_factory=list)
    peak_rss_kb: int = 0
    saved: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["targets"] = dict(self.targets)
        data["crashes"] = dict(self.crashes)
        data["saved"] = dict(self.saved)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Summary:
        summary = cls(seed=data["seed"], count=data["count"])
        for key, value in data.items():
            setattr(summary, key, value)
        summary.targets = Counter(data["targets"])
        summary.crashes = Counter(data["crashes"])
        summary.saved = Counter(data["saved"])
        summary.slowest = [tuple(s) for s in data["slowest"]]  # type: ignore[misc]
        return summary


def _save(summary: Summary, out: Path, kind: str, record: dict[str, Any], data: bytes) -> None:
    """Keep the input and its story; a few per signature, all in findings.jsonl."""
    out.mkdir(parents=True, exist_ok=True)
    signature = f"{kind}-{record.get('error', '')}-{record.get('where', '')}".strip("-")
    record = {"kind": kind, "seed": summary.seed, **record}
    if summary.saved[signature] < MAX_SAVED_PER_SIGNATURE:
        summary.saved[signature] += 1
        stem = f"{kind}-{record['index']}"
        (out / f"{stem}.bin").write_bytes(data)
        record["file"] = f"{stem}.bin"
    with (out / "findings.jsonl").open("a") as fh:
        fh.write(json.dumps(record) + "\n")


def run(args: argparse.Namespace, corpus: Corpus) -> Summary:
    out = Path(args.out)
    state = out / "state.json"
    if args.resume and state.exists():
        summary = Summary.from_json(json.loads(state.read_text()))
        print(f"resuming seed {summary.seed} at input {summary.next_index:,} of {summary.count:,}")
    else:
        summary = Summary(seed=args.seed, count=args.count, next_index=args.start)
    ctx = mp.get_context("fork")  # the worker inherits the loaded corpus
    # SIGTERM stops a run as Ctrl-C does, state saved: a run started in the
    # background by a script ignores SIGINT.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    _warm_up(corpus)
    began = time.monotonic() - summary.seconds
    last_print = 0.0
    process = None
    try:
        while summary.next_index < summary.count:
            current, started, cpu = ctx.Value("q", -1), ctx.Value("d", 0.0), ctx.Value("d", 0.0)
            parent_conn, child_conn = ctx.Pipe(duplex=False)
            indices = range(summary.next_index, summary.count)
            process = ctx.Process(
                target=worker,
                args=(child_conn, corpus, summary.seed, indices, current, started, cpu),
                daemon=True,  # never outlives an interrupted parent
            )
            process.start()
            child_conn.close()
            killed: str | None = None
            while True:
                if parent_conn.poll(0.2):
                    try:
                        stats = parent_conn.recv()
                    except EOFError:
                        stats = None
                    if stats is not None:
                        _merge(summary, stats, out, corpus)
                        if stats["next"] is None:
                            summary.next_index = summary.count
                            break
                        summary.next_index = stats["next"]
                if not process.is_alive() and not parent_conn.poll():
                    break
                rss = _rss_kb(process.pid)
                summary.peak_rss_kb = max(summary.peak_rss_kb, rss)
                index = current.value
                used = _cpu_seconds(process.pid) - cpu.value
                waited = time.monotonic() - started.value
                if index >= 0 and used > args.timeout:
                    killed = "slow"
                elif index >= 0 and waited > args.wall_timeout:
                    killed = "stuck"
                elif rss > args.max_rss_mb * 1024:
                    killed = "memory"
                if killed:
                    process.kill()
                    process.join()
                    # Drain what the worker reported before it was killed.
                    while parent_conn.poll():
                        try:
                            _merge(summary, parent_conn.recv(), out, corpus)
                        except EOFError:
                            break
                    # Inputs finished since the worker last reported passed (crashes
                    # are reported at once); count them, then the killed one.
                    summary.done += max(0, index - summary.next_index)
                    target, data, _ = generate(summary.seed, index, corpus)
                    record = {
                        "index": index,
                        "target": target,
                        "size": len(data),
                        "rss_kb": rss,
                        "limit": {"slow": "cpu", "stuck": "wall"}.get(killed, "memory"),
                        "cpu_seconds": round(used, 2),
                        "wall_seconds": round(waited, 2),
                    }
                    (summary.memory if killed == "memory" else summary.slow).append(record)
                    _save(summary, out, killed, record, data)
                    print(f"  {killed} input {index} ({target}, {len(data):,} bytes): killed")
                    summary.done += 1
                    summary.next_index = index + 1
                    break
                now = time.monotonic()
                if now - last_print > args.progress:
                    last_print = now
                    summary.seconds = now - began
                    _progress(summary)
                    out.mkdir(parents=True, exist_ok=True)
                    _write_state(state, summary)
            process.join()
            if (
                killed is None
                and process.exitcode not in (0, None)
                and summary.next_index < summary.count
            ):
                index = current.value if current.value >= 0 else summary.next_index
                target, data, _ = generate(summary.seed, index, corpus)
                record = {"index": index, "target": target, "error": f"exit {process.exitcode}"}
                summary.crashes[f"worker died ({process.exitcode})"] += 1
                _save(summary, out, "died", record, data)
                summary.next_index = max(summary.next_index, index + 1)
    except KeyboardInterrupt:
        # Ctrl-C (or `timeout -s INT`): keep what the worker reported; --resume goes on.
        # A second signal (timeout signals the whole group) must not lose the state.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if process is not None and process.is_alive():
            process.kill()
    summary.seconds = time.monotonic() - began
    out.mkdir(parents=True, exist_ok=True)
    _write_state(state, summary)
    return summary


def run_sharded(args: argparse.Namespace, corpus: Corpus) -> Summary:
    """Split the inputs into ``--jobs`` contiguous shares, one ``run`` each.

    Each share keeps its own state and findings under ``OUT/shard-K`` so that
    ``--resume`` continues every share where it stopped; the summaries are
    merged for the report.  The split is written once (``shards.json``) and a
    resumed run keeps it even if ``--jobs`` changes."""
    out = Path(args.out)
    plan_file = out / "shards.json"
    if args.resume and plan_file.exists():
        plan = json.loads(plan_file.read_text())
    else:
        edges = [
            args.start + (args.count - args.start) * k // args.jobs for k in range(args.jobs + 1)
        ]
        plan = {"seed": args.seed, "shards": [list(pair) for pair in itertools.pairwise(edges)]}
        out.mkdir(parents=True, exist_ok=True)
        plan_file.write_text(json.dumps(plan))
    ctx = mp.get_context("fork")
    processes = []
    for k, (start, stop) in enumerate(plan["shards"]):
        shard_args = argparse.Namespace(
            **{**vars(args), "seed": plan["seed"], "start": start, "count": stop}
        )
        shard_args.out = str(out / f"shard-{k}")
        process = ctx.Process(target=_run_shard, args=(shard_args, corpus, k))
        process.start()
        processes.append(process)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        for process in processes:
            process.join()
    except KeyboardInterrupt:
        # Each share saves its state on SIGTERM; wait for them to finish writing.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for process in processes:
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)
        for process in processes:
            process.join()
    shards = [
        Summary.from_json(json.loads((out / f"shard-{k}" / "state.json").read_text()))
        for k in range(len(plan["shards"]))
        if (out / f"shard-{k}" / "state.json").exists()
    ]
    return _merged(plan, shards)


def _run_shard(args: argparse.Namespace, corpus: Corpus, k: int) -> None:
    print(f"share {k}: inputs {args.start:,} to {args.count:,}", flush=True)
    summary = run(args, corpus)
    print(f"share {k}: stopped at input {summary.next_index:,}", flush=True)


def _merged(plan: dict[str, Any], shards: list[Summary]) -> Summary:
    """One summary for the report; ``next_index`` is where the first unfinished share stands."""
    first, last = plan["shards"][0][0], plan["shards"][-1][1]
    merged = Summary(seed=plan["seed"], count=last, next_index=last)
    if len(shards) < len(plan["shards"]):
        merged.next_index = first
    for shard in shards:
        if shard.next_index < shard.count:
            merged.next_index = min(merged.next_index, shard.next_index)
        merged.done += shard.done
        merged.typed += shard.typed
        merged.seconds = max(merged.seconds, shard.seconds)
        merged.targets.update(shard.targets)
        merged.crashes.update(shard.crashes)
        merged.saved.update(shard.saved)
        merged.slow.extend(shard.slow)
        merged.memory.extend(shard.memory)
        merged.slowest = sorted([*merged.slowest, *shard.slowest], reverse=True)[:10]
        merged.peak_rss_kb = max(merged.peak_rss_kb, shard.peak_rss_kb)
    return merged


def _write_state(state: Path, summary: Summary) -> None:
    """Replace the state file whole: a run stopped mid-write must still resume."""
    partial = state.with_suffix(".json.partial")
    partial.write_text(json.dumps(summary.to_json()))
    os.replace(partial, state)


def _warm_up(corpus: Corpus) -> None:
    """Load lazy models (language identification) before forking, so no worker
    spends its first input's time limit on imports."""
    logging.disable(logging.CRITICAL)
    with warnings.catch_warnings(), contextlib.suppress(NewsloomError):
        warnings.simplefilter("ignore")
        extract(corpus.html[0] if corpus.html else b"<p>one two three four five six</p>")


def _merge(summary: Summary, stats: dict[str, Any], out: Path, corpus: Corpus) -> None:
    summary.done += stats["done"]
    summary.typed += stats["typed"]
    summary.targets.update(stats["targets"])
    summary.peak_rss_kb = max(summary.peak_rss_kb, stats["hwm_kb"])
    summary.slowest = sorted([*summary.slowest, *stats["slowest"]], reverse=True)[:10]
    for crash in stats["crashes"]:
        summary.crashes[f"{crash['error']} at {crash['where']}"] += 1
        _, data, _ = generate(summary.seed, crash["index"], corpus)
        _save(summary, out, "crash", crash, data)
        print(
            f"  crash on input {crash['index']} ({crash['target']}): "
            f"{crash['error']}: {crash['message'][:120]}"
        )


def _progress(summary: Summary) -> None:
    rate = summary.done / summary.seconds if summary.seconds else 0.0
    left = (summary.count - summary.next_index) / rate if rate else 0.0
    print(
        f"{summary.next_index:>9,}/{summary.count:,} inputs  {rate:6.1f}/s  "
        f"crashes {sum(summary.crashes.values())}  slow {len(summary.slow)}  "
        f"memory {len(summary.memory)}  peak RSS {summary.peak_rss_kb / 1024:.0f} MB  "
        f"~{left / 3600:.1f} h left",
        flush=True,
    )


def _report(summary: Summary, out: Path) -> None:
    rate = summary.done / summary.seconds if summary.seconds else 0.0
    print("\n== fuzz summary ==")
    print(
        f"seed {summary.seed}: {summary.done:,} inputs in {summary.seconds:,.0f} s ({rate:.1f}/s)"
    )
    print("targets: " + ", ".join(f"{t} {n:,}" for t, n in sorted(summary.targets.items())))
    print(f"typed errors (NewsloomError, expected): {summary.typed:,}")
    print(f"crashes: {sum(summary.crashes.values())}")
    for kind, n in summary.crashes.most_common():
        print(f"  {n:>6}  {kind}")
    stuck = sum(1 for r in summary.slow if r.get("limit") == "wall")
    print(f"over the CPU or wall time limit (killed): {len(summary.slow)} ({stuck} on wall time)")
    print(f"over the memory limit (killed): {len(summary.memory)}")
    if summary.slowest:
        seconds, index, target, size = summary.slowest[0]
        print(f"slowest completed input: {seconds:.2f} CPU s (#{index}, {target}, {size:,} bytes)")
    print(f"peak worker RSS: {summary.peak_rss_kb / 1024:.0f} MB")
    if summary.crashes or summary.slow or summary.memory:
        found = sorted(out.glob("**/findings.jsonl"))
        print("inputs and tracebacks: " + ", ".join(str(f) for f in found))


def replay(args: argparse.Namespace, corpus: Corpus) -> int:
    target, data, name = generate(args.seed, args.replay, corpus)
    print(f"input {args.replay} of seed {args.seed}: {target}, {len(data):,} bytes, name {name!r}")
    started = time.perf_counter()
    try:
        run_one(target, data, name, args.replay)
    except NewsloomError as exc:
        print(f"typed error (fine): {type(exc).__name__}: {exc}")
    except Exception:
        traceback.print_exc()
        return 1
    print(f"passed in {time.perf_counter() - started:.2f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--count", type=int, default=1_000_000, help="run inputs up to this index (exclusive)"
    )
    parser.add_argument("--start", type=int, default=0, help="first input index")
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes, each on its own share of the inputs (default: one per core)",
    )
    parser.add_argument("--seed", type=int, default=1, help="which inputs (same seed, same inputs)")
    parser.add_argument("--timeout", type=float, default=5.0, help="CPU seconds one input may use")
    parser.add_argument(
        "--wall-timeout",
        type=float,
        default=60.0,
        help="wall seconds one input may run (catches inputs that block without computing)",
    )
    parser.add_argument("--max-rss-mb", type=int, default=1536, help="worker memory limit")
    parser.add_argument("--progress", type=float, default=30.0, help="seconds between reports")
    parser.add_argument("--resume", action="store_true", help="continue the run saved under --out")
    parser.add_argument("--replay", type=int, help="re-run one input here, with its traceback")
    parser.add_argument("--out", default=str(OUT), help="where findings and state go")
    args = parser.parse_args(argv)
    corpus = load_corpus(SHARED)
    print(
        f"corpus: {len(corpus.html)} pages, {len(corpus.text)} texts, {len(corpus.jsonl)} JSONL, "
        f"{len(corpus.feeds)} feeds, {len(corpus.warc)} WARC, {len(corpus.lines):,} lines"
    )
    if args.replay is not None:
        return replay(args, corpus)
    out = Path(args.out)
    # A run started on one worker is resumed on one worker, whatever --jobs says.
    single = args.resume and (out / "state.json").exists() and not (out / "shards.json").exists()
    summary = run_sharded(args, corpus) if args.jobs > 1 and not single else run(args, corpus)
    _report(summary, Path(args.out))
    if summary.next_index < summary.count:
        print(f"interrupted at input {summary.next_index:,}: --resume continues the run")
        return 130
    return 1 if summary.crashes or summary.slow or summary.memory else 0


if __name__ == "__main__":
    sys.exit(main())
