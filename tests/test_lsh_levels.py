"""The SQLite LSH band index kept as merged levels (store/sqlite_lsh.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from factories import make_article
from newsloom.dedup import Deduplicator, Fingerprinter
from newsloom.store import open_store, sqlite_lsh
from newsloom.store.sqlite import MIGRATIONS, SQLiteStore

WORDS = [
    "harbour",
    "council",
    "ferry",
    "timetable",
    "winter",
    "storm",
    "engineers",
    "bridge",
    "tolls",
    "river",
    "quay",
    "market",
    "budget",
    "vote",
    "mayor",
    "school",
    "nurses",
    "strike",
    "rail",
    "depot",
    "flood",
    "barrier",
    "wind",
    "farm",
    "fishing",
    "fleet",
    "museum",
    "library",
    "tram",
    "airport",
    "runway",
    "noise",
    "hospital",
    "wing",
    "police",
    "station",
    "park",
    "festival",
]


def _text(seed: int, length: int = 120) -> str:
    # Deterministic, distinct word streams: each base text shares no long run with another.
    state = seed * 7919 + 17
    words = []
    for _ in range(length):
        state = (state * 1103515245 + 12345) % (1 << 31)
        words.append(WORDS[state % len(WORDS)])
    return " ".join(words) + "."


def _edited(text: str) -> str:
    words = text.split()
    words[10] = "lighthouse"
    return " ".join(words)


def _articles(count: int, *, prefix: str = "a"):
    return [
        make_article(f"{prefix}{i:04d}", title=f"Report {i}", paragraphs=[_text(i)])
        for i in range(count)
    ]


def downgrade_lsh_to_version_7(conn: sqlite3.Connection) -> None:
    """Rewrite the levelled LSH index as the single table that version 7 kept."""
    conn.executescript(
        """
        CREATE TABLE lsh_bands (
            band INTEGER NOT NULL,
            key INTEGER NOT NULL,
            article_id TEXT NOT NULL
                REFERENCES fingerprints(article_id) ON DELETE CASCADE ON UPDATE CASCADE,
            PRIMARY KEY (band, key, article_id)
        ) WITHOUT ROWID;
        CREATE INDEX lsh_bands_article_id ON lsh_bands(article_id);
        """
    )
    for level in range(sqlite_lsh.LEVELS):
        conn.execute(f"INSERT INTO lsh_bands SELECT * FROM lsh_level_{level}")
        conn.execute(f"DROP TABLE lsh_level_{level}")
    conn.execute("DROP TABLE lsh_levels")
    conn.execute("ALTER TABLE fingerprints DROP COLUMN band_keys")


def _level_counts(store: SQLiteStore) -> dict[int, int]:
    with store._reading("test") as conn:
        return dict(conn.execute("SELECT level, articles FROM lsh_levels").fetchall())


def _rows_per_level(store: SQLiteStore) -> list[int]:
    with store._reading("test") as conn:
        return [
            conn.execute(f"SELECT count(*) FROM lsh_level_{level}").fetchone()[0]
            for level in range(sqlite_lsh.LEVELS)
        ]


@pytest.fixture
def small_levels(monkeypatch: pytest.MonkeyPatch) -> None:
    # Level 0 holds 4 articles, level 1 holds 8, level 2 holds 16.
    monkeypatch.setattr(sqlite_lsh, "LEVEL0_ARTICLES", 4)
    monkeypatch.setattr(sqlite_lsh, "LEVEL_RATIO", 2)


def test_copies_are_found_in_every_level_after_merges(tmp_path: Path, small_levels) -> None:
    originals = _articles(30)
    with open_store(tmp_path / "s.db") as store:
        dedup = Deduplicator(store)
        for start in range(0, len(originals), 3):
            batch = originals[start : start + 3]
            store.put_articles(batch)
            dedup.add(batch)
        counts = _level_counts(store)
        # 30 articles in batches of 3 went through several merges; nothing is lost.
        assert sum(counts.values()) == 30
        assert counts[0] < 4 and sum(1 for n in counts.values() if n) >= 2
        assert sum(_rows_per_level(store)) == 30 * Fingerprinter().config.bands
        copies = [
            make_article(f"c{i:04d}", title=f"Copy {i}", paragraphs=[_edited(_text(i))])
            for i in range(0, 30, 3)
        ]
        store.put_articles(copies)
        result = dedup.add(copies)
        assert result.near == len(copies)
        for copy in copies:
            info = store.duplicates_of(copy.id)
            assert info is not None and info.match == "near"
            assert info.closest_id == "a" + copy.id[1:]


def test_an_updated_article_leaves_no_stale_band_rows(tmp_path: Path, small_levels) -> None:
    originals = _articles(12)
    with open_store(tmp_path / "s.db") as store:
        dedup = Deduplicator(store)
        store.put_articles(originals)
        dedup.add(originals)
        assert _level_counts(store)[0] == 0  # 12 articles: merged out of level 0
        # a0001 gets a wholly different text: its old bands must stop matching.
        rewritten = make_article("a0001", title="Report 1", paragraphs=[_text(999)])
        store.put_articles([rewritten])
        dedup.add([rewritten])
        assert sum(_rows_per_level(store)) == 12 * Fingerprinter().config.bands
        old_text_copy = make_article("c0001", title="Copy", paragraphs=[_edited(_text(1))])
        store.put_articles([old_text_copy])
        dedup.add([old_text_copy])
        info = store.duplicates_of("c0001")
        assert info is not None and info.match == "none"


def test_a_version_7_store_is_upgraded_with_its_index(tmp_path: Path) -> None:
    originals = _articles(20)
    path = tmp_path / "s.db"
    with open_store(path) as store:
        store.put_articles(originals)
        Deduplicator(store).add(originals)
    conn = sqlite3.connect(path)
    downgrade_lsh_to_version_7(conn)
    conn.execute(f"PRAGMA user_version = {MIGRATIONS[6].version}")
    conn.commit()
    conn.close()
    with open_store(path) as store:
        assert store.schema_version() == MIGRATIONS[-1].version
        counts = _level_counts(store)
        assert counts[sqlite_lsh.LEVELS - 1] == 20 and sum(counts.values()) == 20
        with store._reading("test") as conn:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            keys = conn.execute(
                "SELECT band_keys FROM fingerprints WHERE article_id = 'a0005'"
            ).fetchone()[0]
        assert "lsh_bands" not in names
        expected = Fingerprinter().fingerprint("a0005", originals[5].text).band_keys
        assert sorted(sqlite_lsh.decode_band_keys(keys)) == list(enumerate(expected))
        copy = make_article("c0005", title="Copy", paragraphs=[_edited(_text(5))])
        store.put_articles([copy])
        Deduplicator(store).add([copy])
        info = store.duplicates_of("c0005")
        assert info is not None and info.match == "near" and info.closest_id == "a0005"
