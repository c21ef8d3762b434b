"""Duplicate detection in PostgreSQL: fingerprints, groups and the LSH band index.

Every write here takes ``ARTICLES_LOCK`` (see ``store/postgres.py``) for the
rest of its transaction, so the exact and near copies a batch is compared
with include every batch another worker committed before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import psycopg

from newsloom.errors import StoreError
from newsloom.store.base import DuplicateInfo, Fingerprint, LshCandidate, utc_text
from newsloom.store.rows import DUPLICATE_COLUMNS, duplicate_info_from_row, fingerprint_params

__all__ = ["PostgresDedupMixin"]

ARTICLES_LOCK = 0x4E4C4F4D_00000002


class PostgresDedupMixin:
    """Fingerprints and duplicate groups for ``PostgresStore``."""

    # Provided by PostgresStore.
    _where: str
    _reading: Callable[[str], AbstractContextManager[psycopg.Connection[Any]]]
    _transaction: Callable[..., AbstractContextManager[psycopg.Connection[Any]]]
    _resolve_id: Callable[[psycopg.Connection[Any], str], str | None]

    def put_fingerprints(self, fingerprints: Sequence[Fingerprint]) -> None:
        if not fingerprints:
            return
        now = utc_text(datetime.now(UTC))
        with self._transaction("storing fingerprints", lock=ARTICLES_LOCK) as conn:
            for fp in fingerprints:
                # The article and its current fingerprint (if any) in one read.
                article = conn.execute(
                    "SELECT a.content_sha256, f.group_id FROM articles AS a"
                    " LEFT JOIN fingerprints AS f ON f.article_id = a.id WHERE a.id = %s",
                    (fp.article_id,),
                ).fetchone()
                if article is None:
                    raise StoreError(
                        f"{self._where}: cannot fingerprint {fp.article_id!r}: no such article"
                    )
                if article[1] is not None:
                    if article[1] == fp.article_id:
                        self._leave_group(conn, fp.article_id)
                    conn.execute("DELETE FROM lsh_bands WHERE article_id = %s", (fp.article_id,))
                conn.execute(
                    """
                    INSERT INTO fingerprints
                        (article_id, content_sha256, exact_hash, signature, words, reason,
                         group_id, match, closest_id, similarity, fingerprinted_at)
                    VALUES (%(id)s, %(content)s, %(exact)s, %(signature)s, %(words)s,
                            %(reason)s, %(id)s, 'none', NULL, NULL, %(now)s)
                    ON CONFLICT (article_id) DO UPDATE SET
                        content_sha256 = excluded.content_sha256,
                        exact_hash = excluded.exact_hash,
                        signature = excluded.signature,
                        words = excluded.words,
                        reason = excluded.reason,
                        group_id = excluded.group_id,
                        match = 'none', closest_id = NULL, similarity = NULL,
                        fingerprinted_at = excluded.fingerprinted_at
                    """,
                    fingerprint_params(fp, article[0], now),
                )
                if fp.band_keys:
                    conn.execute(
                        "INSERT INTO lsh_bands (band, key, article_id)"
                        " SELECT band - 1, key, %s FROM unnest(%s::bigint[])"
                        " WITH ORDINALITY AS b (key, band) ON CONFLICT DO NOTHING",
                        (fp.article_id, [int(key) for key in fp.band_keys]),
                    )

    def _leave_group(self, conn: psycopg.Connection[Any], article_id: str) -> None:
        """Take the root of a group out of it before its fingerprint changes;
        the next earliest member names the group from then on."""
        heir = conn.execute(
            "SELECT f.article_id FROM fingerprints AS f JOIN articles AS a ON a.id = f.article_id"
            " WHERE f.group_id = %s AND f.article_id <> %s ORDER BY a.pk LIMIT 1",
            (article_id, article_id),
        ).fetchone()
        if heir is not None:
            conn.execute(
                "UPDATE fingerprints SET group_id = %s WHERE group_id = %s AND article_id <> %s",
                (heir[0], article_id, article_id),
            )

    def exact_matches(self, exact_hash: str, *, limit: int = 100) -> list[str]:
        if not exact_hash or limit <= 0:
            return []
        with self._reading("finding exact duplicates") as conn:
            rows = conn.execute(
                "SELECT f.article_id FROM fingerprints AS f JOIN articles AS a"
                " ON a.id = f.article_id WHERE f.exact_hash = %s ORDER BY a.pk LIMIT %s",
                (exact_hash, limit),
            ).fetchall()
        return [row[0] for row in rows]

    def lsh_candidates(self, band_keys: Sequence[int], *, limit: int = 200) -> list[LshCandidate]:
        if not band_keys or limit <= 0:
            return []
        with self._reading("finding near-duplicate candidates") as conn:
            rows = conn.execute(
                """
                SELECT f.article_id, f.signature, f.group_id
                FROM (
                    SELECT DISTINCT l.article_id
                    FROM unnest(%s::bigint[]) WITH ORDINALITY AS q (key, band)
                    JOIN lsh_bands AS l ON l.band = q.band - 1 AND l.key = q.key
                ) AS hit
                JOIN fingerprints AS f ON f.article_id = hit.article_id
                JOIN articles AS a ON a.id = f.article_id
                WHERE f.signature IS NOT NULL
                ORDER BY a.pk LIMIT %s
                """,
                ([int(key) for key in band_keys], limit),
            ).fetchall()
        return [LshCandidate(row[0], bytes(row[1]), row[2]) for row in rows]

    def merge_groups(self, group_ids: Sequence[str]) -> str:
        groups = list(dict.fromkeys(g for g in group_ids if g))
        if not groups:
            raise StoreError("merge_groups needs at least one group id")
        if len(groups) == 1:
            return groups[0]
        with self._transaction("merging duplicate groups", lock=ARTICLES_LOCK) as conn:
            order = dict(
                conn.execute("SELECT id, pk FROM articles WHERE id = ANY(%s)", (groups,)).fetchall()
            )
            # Earliest stored root wins; ids without an article row go last.
            winner = min(groups, key=lambda g: (g not in order, order.get(g, 0), g))
            losers = [g for g in groups if g != winner]
            conn.execute(
                "UPDATE fingerprints SET group_id = %s WHERE group_id = ANY(%s)",
                (winner, losers),
            )
        return winner

    def set_duplicates(self, infos: Sequence[DuplicateInfo]) -> None:
        if not infos:
            return
        with self._transaction("recording duplicates", lock=ARTICLES_LOCK) as conn:
            for info in infos:
                cursor = conn.execute(
                    "UPDATE fingerprints SET group_id = %s, match = %s, closest_id = %s,"
                    " similarity = %s WHERE article_id = %s",
                    (info.group_id, info.match, info.closest_id, info.similarity, info.article_id),
                )
                if cursor.rowcount == 0:
                    raise StoreError(
                        f"{self._where}: {info.article_id!r} has no fingerprint to attach "
                        "duplicates to"
                    )

    def offer_closest(self, offers: Sequence[tuple[str, str, float]]) -> None:
        if not offers:
            return
        rows = [(copy, sim, article, copy, sim) for article, copy, sim in offers]
        closest = self._transaction("recording closest copies", lock=ARTICLES_LOCK)
        with closest as conn, conn.cursor() as cur:
            cur.executemany(
                "UPDATE fingerprints SET closest_id = %s, similarity = %s"
                " WHERE article_id = %s AND closest_id IS DISTINCT FROM %s"
                " AND (similarity IS NULL OR similarity < %s)",
                rows,
            )

    def duplicates_of(self, article_id: str) -> DuplicateInfo | None:
        query = f"SELECT {DUPLICATE_COLUMNS} FROM fingerprints WHERE article_id = %s"
        with self._reading("reading duplicates") as conn:
            # A full id (what dedup asks) is one read; a prefix is resolved first.
            row = conn.execute(query, (article_id,)).fetchone() if article_id else None
            if row is None:
                full_id = self._resolve_id(conn, article_id)
                if full_id is None or full_id == article_id:
                    return None
                row = conn.execute(query, (full_id,)).fetchone()
        return None if row is None else duplicate_info_from_row(row)

    def articles_without_fingerprints(self, *, limit: int = 500) -> list[str]:
        if limit <= 0:
            return []
        with self._reading("finding articles to fingerprint") as conn:
            rows = conn.execute(
                "SELECT a.id FROM pending_dedup AS p JOIN articles AS a ON a.id = p.article_id"
                " LEFT JOIN fingerprints AS f ON f.article_id = a.id"
                " WHERE f.article_id IS NULL OR f.content_sha256 <> a.content_sha256"
                " ORDER BY a.pk LIMIT %s",
                (limit,),
            ).fetchall()
        return [row[0] for row in rows]
