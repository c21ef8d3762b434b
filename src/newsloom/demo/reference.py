"""The reference text of each demo document, as the ground truth quotes it.

Ground-truth sentences are written against the article as its author wrote
it: the body of the page's ``<article>`` (or the feed item, archive record or
JSONL entry) with markup stripped, and for the two mojibake pages the clean
source they were corrupted from.  This module derives that text with nothing
but lxml, feedparser and warcio, so tests and evaluations can check the ground
truth without running newsloom's own extractor, which is what they measure.
"""

from __future__ import annotations

import json
import re
from functools import cache

import feedparser
import lxml.html
from warcio.archiveiterator import ArchiveIterator

from newsloom.demo import corpus_path, load_ground_truth, resource_path

__all__ = ["html_text", "normalize", "reference_text", "reference_texts"]

_BLOCKS = ("p", "h1", "h2", "h3", "h4", "li", "div", "section", "header", "footer", "br", "time")
_SPACE = re.compile(r"[ \t\r\f\v\u00a0]+")


def normalize(text: str) -> str:
    """Collapse every run of whitespace to one space, for substring checks."""
    return " ".join(text.split())


def _tidy(text: str) -> str:
    lines = (_SPACE.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def html_text(html: str, *, article_only: bool = True) -> str:
    """Text of an HTML page or fragment, one block per line.

    With ``article_only`` the text comes from the page's ``<article>`` elements
    when it has any, so site chrome around them stays out.
    """
    root = lxml.html.fromstring(html)
    for bad in root.xpath("//script|//style"):
        bad.drop_tree()
    # Block ends become line breaks so paragraphs written without whitespace
    # between the tags do not run together.
    for element in root.iter(*_BLOCKS):
        element.tail = "\n" + (element.tail or "")
    if article_only:
        articles = root.xpath("//article")
        if articles:
            return _tidy("\n".join(a.text_content() for a in articles))
    return _tidy(root.text_content())


def _file_text(key: str, sources: dict[str, str]) -> str:
    if key in sources:
        # "mojibake_src/<path>": the clean page the corpus copy was corrupted from.
        folder, _, rest = sources[key].partition("/")
        path = resource_path(folder) / rest
    else:
        path = corpus_path() / key
    return path.read_text(encoding="utf-8")


@cache
def _rss_items(container: str) -> dict[str, str]:
    feed = feedparser.parse((corpus_path() / container).read_bytes())
    items: dict[str, str] = {}
    for entry in feed.entries:
        content = entry.get("content") or [{"value": entry.get("summary", "")}]
        items[entry.link] = html_text(content[0]["value"], article_only=False)
    return items


@cache
def _warc_responses(container: str) -> dict[str, str]:
    pages: dict[str, str] = {}
    with (corpus_path() / container).open("rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type != "response":
                continue
            url = record.rec_headers.get_header("WARC-Target-URI")
            pages[url] = html_text(record.content_stream().read().decode("utf-8"))
    return pages


@cache
def _jsonl_entries(container: str) -> dict[str, str]:
    entries: dict[str, str] = {}
    for line in (corpus_path() / container).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if row.get("text"):
            entries[row["url"]] = _tidy(row["text"])
        else:
            entries[row["url"]] = html_text(row["html"], article_only=False)
    return entries


def reference_text(key: str, ground_truth: dict | None = None) -> str:
    """The reference text of one document, keyed as in ``ground_truth["documents"]``."""
    truth = ground_truth if ground_truth is not None else load_ground_truth()
    doc = truth["documents"][key]
    sources = {m["doc"]: m["source"] for m in truth["mojibake"]}
    fmt = doc["format"]
    if fmt == "html":
        return html_text(_file_text(key, sources))
    if fmt == "text":
        return _tidy(_file_text(key, sources))
    readers = {"rss": _rss_items, "warc": _warc_responses, "jsonl": _jsonl_entries}
    return readers[fmt](doc["container"])[doc["url"]]


def reference_texts(ground_truth: dict | None = None) -> dict[str, str]:
    """Reference text of every document in the ground truth."""
    truth = ground_truth if ground_truth is not None else load_ground_truth()
    return {key: reference_text(key, truth) for key in truth["documents"]}
