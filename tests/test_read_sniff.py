from __future__ import annotations

import gzip
import json
import random

import pytest

from newsloom.read.sniff import content_type_parts, sniff
from read_helpers import WarcItem, article_html, build_warc

CP1252_TEXT = (
    "Le ministre a déclaré: « Nous ferons mieux » — l’opposition répond “non”. " * 20
).encode("cp1252")
# Thai news text in the Thai Windows code page: invalid UTF-8, valid text.
CP874_TEXT = ("นายกรัฐมนตรีกล่าวว่ารัฐบาลจะเร่งแก้ไขปัญหาเศรษฐกิจ " * 30).encode("cp874")

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>a</title><link>http://x/a</link></item></channel></rss>"""
ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<!-- generated -->
<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title></feed>"""
RDF = b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
xmlns="http://purl.org/rss/1.0/"><channel/></rdf:RDF>"""
URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>http://x/</loc></url></urlset>"""
INDEX = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>http://x/s.xml</loc></sitemap></sitemapindex>"""


@pytest.mark.parametrize(
    ("body", "name", "expected"),
    [
        (article_html().encode(), "a.html", "html"),
        (b"  \n<html><body><p>hi</p></body></html>", "", "html"),
        (b"<p>Short fragment</p>", "", "html"),
        (b"Plain report.\n\nSecond paragraph with a < sign.", "story.html", "text"),
        (b"Saved page\n<div><p>one</p><p>two</p></div>", "story.txt", "html"),
        (b"<?xml version='1.0'?><html xmlns='http://www.w3.org/1999/xhtml'/>", "", "html"),
        (RSS, "feed.html", "feed"),
        (ATOM, "", "feed"),
        (RDF, "", "feed"),
        (URLSET, "", "sitemap"),
        (INDEX, "", "sitemap"),
        (json.dumps({"url": "u", "text": "t"}).encode(), "a.json", "json"),
        (json.dumps([{"url": "u", "text": "t"}], indent=2).encode(), "", "json"),
        (json.dumps({"a": {"b": 1}}, indent=2).encode(), "", "json"),
        (b'{"text": "a"}\n{"text": "b"}\n{"text": "c', "x", "jsonl"),
        (b'{"text": "a"}\n', "one.jsonl", "jsonl"),
        (b"[Reuters] Shares rose on Monday.", "", "text"),
        (b"", "", "empty"),
        (b" \n\t \r\n", "", "empty"),
        (gzip.compress(b"<html></html>"), "a.html.gz", "gzip"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "a.txt", "binary"),
        (b"%PDF-1.7\nstuff", "", "binary"),
        (CP1252_TEXT, "a.txt", "text"),
        (CP874_TEXT, "a.txt", "text"),
        (b"<html><body>" + CP874_TEXT + b"</body></html>", "", "html"),
        ("Texte en UTF-16, avec accents é à.".encode("utf-16"), "", "text"),
        ("<html><body>sans BOM</body></html>".encode("utf-16-le"), "", "html"),
        # A multi-byte character straddling the 4 KB binary-check window.
        (b"a" * 4095 + "é and more text".encode(), "", "text"),
    ],
)
def test_sniff_classifies_by_content(body: bytes, name: str, expected: str) -> None:
    assert sniff(body, name) == expected


def test_sniff_warc_plain_and_gzip() -> None:
    plain = build_warc([WarcItem("http://x/", b"<html></html>")], gzip=False)
    assert sniff(plain) == "warc"
    assert sniff(build_warc([WarcItem("http://x/", b"<html></html>")])) == "gzip"
    assert sniff(gzip.decompress(build_warc([WarcItem("http://x/", b"<p>x</p>")]))) == "warc"


def test_random_bytes_are_binary() -> None:
    rng = random.Random(7)
    junk = rng.randbytes(8192)
    assert sniff(junk, "story.html") == "binary"


def test_control_characters_without_nul_are_binary() -> None:
    rng = random.Random(3)
    junk = bytes(rng.choice(range(1, 32)) for _ in range(4096))
    assert sniff(junk, "notes.txt") == "binary"


def test_a_few_stray_controls_in_text_stay_text() -> None:
    body = ("A normal paragraph of news text. " * 40).encode() + b"\x0c\x1b"
    assert sniff(body) == "text"


def test_content_type_parts() -> None:
    assert content_type_parts('text/html; charset="UTF-8"') == ("text/html", "utf-8")
    assert content_type_parts("text/html;charset=windows-874") == ("text/html", "cp874")
    assert content_type_parts("TEXT/HTML; charset=no-such-codec") == ("text/html", None)
    assert content_type_parts(None) == ("", None)
