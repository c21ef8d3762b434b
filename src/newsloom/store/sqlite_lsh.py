"""The persisted MinHash LSH band index of the SQLite store, kept as levels.

One table keyed by ``(band, key, article_id)`` puts each of an article's 32
band rows on its own random leaf once the table is large: at 100k articles
that was ~35 pages written per article, and the batch commit grew with the
store (bench/growth.py, docs/quality.md "Growth").  So the index is a small
log-structured merge tree kept in SQL tables: new band rows go into level 0,
which stays small; when a level holds ``LEVEL0_ARTICLES * LEVEL_RATIO**n``
articles it is merged, in key order, into the next level.  A merge writes each
leaf of the target level about once, so an article's rows cost a few pages
over all merges, and a lookup probes each non-empty level (at most four).
Everything lives in the database, so several processes see one coherent
index and a restart rebuilds nothing.

An article's own band keys are kept in ``fingerprints.band_keys`` (text
``band:key`` pairs) so that re-fingerprinting an updated article can delete
its old rows without an index on ``article_id`` (another random-leaf write).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

__all__ = [
    "LEVEL0_ARTICLES",
    "LEVELS",
    "LEVEL_RATIO",
    "LSH_LEVELS_SCHEMA",
    "add_bands",
    "candidate_probes",
    "compact",
    "decode_band_keys",
    "encode_band_keys",
    "live_levels",
    "remove_bands",
]

LEVELS = 4
LEVEL0_ARTICLES = 2_000
LEVEL_RATIO = 10


def _table(level: int) -> str:
    return f"lsh_level_{int(level)}"


def _capacity(level: int) -> int:
    return LEVEL0_ARTICLES * LEVEL_RATIO**level


LSH_LEVELS_SCHEMA: tuple[str, ...] = (
    *(
        f"""
        CREATE TABLE {_table(level)} (
            band INTEGER NOT NULL,
            key INTEGER NOT NULL,
            article_id TEXT NOT NULL,
            PRIMARY KEY (band, key, article_id)
        ) WITHOUT ROWID
        """
        for level in range(LEVELS)
    ),
    # How many articles each level holds: decides merges and which levels a
    # lookup probes (an empty level costs a statement step per band).
    "CREATE TABLE lsh_levels (level INTEGER PRIMARY KEY, articles INTEGER NOT NULL DEFAULT 0)",
    *(f"INSERT INTO lsh_levels (level, articles) VALUES ({level}, 0)" for level in range(LEVELS)),
    "ALTER TABLE fingerprints ADD COLUMN band_keys TEXT",
    """
    UPDATE fingerprints SET band_keys = (
        SELECT group_concat(band || ':' || key, ' ') FROM lsh_bands
        WHERE lsh_bands.article_id = fingerprints.article_id
    )
    """,
    # The existing index is already one large sorted table: it becomes the
    # last level in one ordered pass.
    f"""
    INSERT INTO {_table(LEVELS - 1)} (band, key, article_id)
    SELECT band, key, article_id FROM lsh_bands ORDER BY band, key, article_id
    """,
    f"""
    UPDATE lsh_levels SET articles = (SELECT count(DISTINCT article_id) FROM lsh_bands)
    WHERE level = {LEVELS - 1}
    """,
    "DROP TABLE lsh_bands",
)


def encode_band_keys(band_keys: Sequence[int]) -> str | None:
    """``band:key`` pairs as stored in ``fingerprints.band_keys`` (None when empty)."""
    if not band_keys:
        return None
    return " ".join(f"{band}:{int(key)}" for band, key in enumerate(band_keys))


def decode_band_keys(text: str | None) -> list[tuple[int, int]]:
    if not text:
        return []
    pairs = []
    for item in text.split():
        band, _, key = item.partition(":")
        pairs.append((int(band), int(key)))
    return pairs


def live_levels(conn: sqlite3.Connection) -> list[int]:
    rows = conn.execute("SELECT level FROM lsh_levels WHERE articles > 0 ORDER BY level")
    return [int(row[0]) for row in rows]


def add_bands(conn: sqlite3.Connection, article_id: str, band_keys: Sequence[int]) -> None:
    """File a new fingerprint's band rows in level 0 (call ``compact`` after a batch)."""
    if not band_keys:
        return
    conn.executemany(
        f"INSERT OR IGNORE INTO {_table(0)} (band, key, article_id) VALUES (?, ?, ?)",
        [(band, int(key), article_id) for band, key in enumerate(band_keys)],
    )
    conn.execute("UPDATE lsh_levels SET articles = articles + 1 WHERE level = 0")


def remove_bands(conn: sqlite3.Connection, article_id: str, stored: str | None) -> None:
    """Delete an article's band rows, given its stored ``band_keys`` text."""
    pairs = decode_band_keys(stored)
    if not pairs:
        return
    for level in live_levels(conn):
        cursor = conn.executemany(
            f"DELETE FROM {_table(level)} WHERE band = ? AND key = ? AND article_id = ?",
            [(band, key, article_id) for band, key in pairs],
        )
        if cursor.rowcount > 0:
            conn.execute(
                "UPDATE lsh_levels SET articles = max(articles - 1, 0) WHERE level = ?", (level,)
            )
            return


def compact(conn: sqlite3.Connection) -> None:
    """Merge every full level into the next one, smallest first."""
    counts = dict(conn.execute("SELECT level, articles FROM lsh_levels").fetchall())
    for level in range(LEVELS - 1):
        if counts.get(level, 0) < _capacity(level):
            continue
        conn.execute(
            f"""
            INSERT OR IGNORE INTO {_table(level + 1)} (band, key, article_id)
            SELECT band, key, article_id FROM {_table(level)} ORDER BY band, key, article_id
            """
        )
        conn.execute(f"DELETE FROM {_table(level)}")
        counts[level + 1] = counts.get(level + 1, 0) + counts[level]
        counts[level] = 0
        conn.execute("UPDATE lsh_levels SET articles = 0 WHERE level = ?", (level,))
        conn.execute(
            "UPDATE lsh_levels SET articles = ? WHERE level = ?", (counts[level + 1], level + 1)
        )


def candidate_probes(levels: Sequence[int], band_keys: Sequence[int]) -> tuple[str, list[int]]:
    """One equality probe per (level, band) on the primary keys, as a UNION of ids."""
    selects = []
    params: list[int] = []
    for level in levels:
        for band, key in enumerate(band_keys):
            selects.append(f"SELECT article_id FROM {_table(level)} WHERE band = ? AND key = ?")
            params += [band, int(key)]
    return " UNION ".join(selects), params
