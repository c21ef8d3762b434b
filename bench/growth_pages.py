"""Pages written per article, by table, at a given store size of the growth stream.

Feeds the ``bench/growth.py`` stream into a fresh store up to ``--at`` articles,
then ingests ``--measure`` more with automatic checkpoints off, so every page a
commit writes stays in the WAL.  Each WAL frame is attributed to the table or
index owning its page (``dbstat``) and to the batch transaction (articles and
duplicates) or the story transaction.  Page counts do not depend on the load of
the machine, unlike times.

Usage: ``.venv/bin/python bench/growth_pages.py [--at N] [--measure N]``.
"""

from __future__ import annotations

import argparse
import shutil
import struct
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import growth as g
from newsloom.pipeline import IngestReport, Pipeline
from newsloom.settings import Settings
from newsloom.store import open_store

PAGE = 4096
FRAME = PAGE + 24  # WAL frame header + page
WAL_HEADER = 32


def measure(folder: Path, at: int, count: int) -> None:
    bases = g.load_bases()
    cached = g.CachedFeaturizer(g.base_features(bases), g.SEED)
    stream = g.build_stream(bases, at + count, g.SEED)
    path = folder / "pages.db"
    g.feed(path, stream, cached.featurizer(), stop=at, window=500, marks=[], progress=False)
    store = open_store(f"sqlite:///{path}")
    conn = store._conn  # type: ignore[attr-defined]
    assert conn is not None
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    if page_size != PAGE:
        sys.exit(f"page size {page_size}, expected {PAGE}")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    wal = Path(f"{path}-wal")

    def size() -> int:
        return wal.stat().st_size if wal.exists() else 0

    story_ranges: list[tuple[int, int]] = []

    class Counted(Pipeline):
        def place_in_stories(self, article_ids: list[str], report: IngestReport) -> None:
            start = size()
            super().place_in_stories(article_ids, report)
            story_ranges.append((start, size()))

    pipeline = Counted(
        store, Settings(), stories=True, analyse=False, featurizer=cached.featurizer()
    )
    new = 0
    for position in range(at, at + count, 500):
        new += pipeline.ingest_pages(stream.pages(position, position + 500)).new
    owner = dict(conn.execute("SELECT pageno, name FROM dbstat").fetchall())
    data = wal.read_bytes()
    counts = {"batch": Counter[str](), "stories": Counter[str]()}
    offset = WAL_HEADER
    while offset + FRAME <= len(data):
        page = struct.unpack(">I", data[offset : offset + 4])[0]
        kind = "stories" if any(a <= offset < b for a, b in story_ranges) else "batch"
        counts[kind][owner.get(page, "?")] += 1
        offset += FRAME
    store.close()
    print(f"{new} articles measured after {at:,} stored; WAL frames (pages) per article:")
    for kind, counter in counts.items():
        total = sum(counter.values()) / new
        top = ", ".join(f"{name} {n / new:.1f}" for name, n in counter.most_common(8))
        print(f"  {kind:8} {total:5.1f}  ({top})")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--at", type=int, default=40_000, help="store size before measuring")
    parser.add_argument("--measure", type=int, default=1_000, help="pages measured")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="newsloom-pages-"))
    try:
        measure(folder, args.at, args.measure)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
