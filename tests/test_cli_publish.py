"""Publishing from the command line: summarize, export, digest and serve."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from newsloom.demo import corpus_path

CLI = "from newsloom.cli import main; main()"
BRIDGE = [
    corpus_path() / "html/harbourgazette.example/kestrel-bridge-to-close-corroded-bearings.html",
    corpus_path() / "html/marrowbypost.example/kestrel-bridge-shutdown-what-you-need-to-know.html",
    corpus_path() / "text/brieflane.example/kestrel-bridge-summary.txt",
]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("publish")
    url = f"sqlite:///{folder / 'news.db'}"
    done = run("ingest", *map(str, BRIDGE), "--store", url, "--json", cwd=folder)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["stories_analysed"] == 1
    return url


def test_summarize_cites_every_sentence_with_its_article_and_url(tmp_path: Path) -> None:
    done = run("summarize", *map(str, BRIDGE), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    texts = {}
    ids = []
    for path in BRIDGE:
        extracted = json.loads(run("extract", str(path), "--json", cwd=tmp_path).stdout)
        texts[extracted["id"]] = (extracted["text"], extracted["url"])
        ids.append(extracted["id"])
    assert data["summary"] and 3 <= len(data["key_points"]) <= 5 and data["timeline"]
    for part in ("summary", "key_points", "timeline"):
        for sentence in data[part]:
            text, url = texts[sentence["article_id"]]
            start, end = sentence["span"]
            assert text[start:end] == sentence["text"]
            assert sentence["url"] == url
    # The aggregator's summary copies the Gazette: the summary quotes the originals.
    assert all(s["article_id"] != ids[2] for s in data["summary"])


def test_export_and_digest_from_the_store(store: str, tmp_path: Path) -> None:
    out = tmp_path / "site"
    done = run("export", "--format", "markdown", "--out", str(out), "--store", store, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (out / "index.md").is_file() and list((out / "stories").glob("*.md"))
    bad = run("export", "--format", "pdf", "--out", str(out), "--store", store, cwd=tmp_path)
    assert bad.returncode == 2 and "pdf" in bad.stderr
    digest = run("digest", "--day", "2026-03-03", "--store", store, cwd=tmp_path)
    assert digest.returncode == 0, digest.stderr
    assert digest.stdout.startswith("# newsloom digest: 2026-03-03")
    assert "Kestrel Bridge" in digest.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_answers_on_the_given_port(store: str, tmp_path: Path) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", CLI, "serve", "--port", str(port), "--store", store],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                home = httpx.get(f"http://127.0.0.1:{port}/index.json", timeout=5)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.3)
        assert home.status_code == 200
        assert "Kestrel" in home.text
    finally:
        server.terminate()
        server.wait(timeout=30)
