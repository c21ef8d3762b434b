"""SQLite backend: one file, WAL journal, FTS5 full-text index.

Every SQL statement of the SQLite store lives in this module.  The connection
runs in autocommit mode (``isolation_level=None``) and each write opens its own
``BEGIN IMMEDIATE`` transaction, so a batch commits whole or not at all and a
second writer waits on the lock (``busy_timeout``) instead of failing halfway.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from newsloom.errors import StoreError
from newsloom.store.base import (
    DuplicateInfo,
    Fingerprint,
    LshCandidate,
    PutResult,
    SearchHit,
    utc_text,
)
from newsloom.store.migrations import Migration, latest_version, pending
from newsloom.store.rows import (
    ARTICLE_COLUMNS,
    DUPLICATE_COLUMNS,
    duplicate_info_from_row,
    fingerprint_params,
    prepare_batch,
)
from newsloom.store.shared_reads import SharedArticleReads
from newsloom.store.sqlite_analysis import ANALYSIS_SCHEMA, SUMMARY_SCHEMA, SQLiteAnalysisMixin
from newsloom.store.sqlite_lsh import (
    LSH_LEVELS_SCHEMA,
    add_bands,
    candidate_probes,
    compact,
    encode_band_keys,
    live_levels,
    remove_bands,
)
from newsloom.store.sqlite_stories import (
    MEMBER_FEATURES_SCHEMA,
    STORY_KEY_DAYS_SCHEMA,
    STORY_SCHEMA,
    SQLiteStoryMixin,
)
from newsloom.store.sqlite_views import VIEWS_SCHEMA, SQLiteViewsMixin
from newsloom.types import Article, Failure

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SQLiteStore"]

# "NLOM": marks the file as ours, so a foreign SQLite database is refused
# instead of having newsloom tables added to it.
APPLICATION_ID = 0x4E4C4F4D

MIN_PREFIX = 6
# Ids bound per IN (...) query: well under SQLite's 32,766 host parameters.
_ID_CHUNK = 500
PAGE_SIZE = 256
# Bound the work an untrusted query can ask for; text and words past these
# limits are ignored.
MAX_QUERY_CHARS = 2000
MAX_QUERY_TERMS = 32
SNIPPET_TOKENS = 16
# Title matches weigh more than body matches in bm25.
TITLE_WEIGHT = 10.0
TEXT_WEIGHT = 1.0

# Letters and digits only: FTS5's unicode61 tokenizer splits on everything
# else, so these are the only characters a search term can usefully contain.
_TERM = re.compile(r"[^\W_]+")

_TEXT_OF_NEW = "json_extract(new.data, '$.text')"
_TEXT_OF_OLD = "json_extract(old.data, '$.text')"

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        version=1,
        description="articles with versions, ingest failures, full-text index",
        statements=(
            f"PRAGMA application_id = {APPLICATION_ID}",
            """
            CREATE TABLE articles (
                pk INTEGER PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                url TEXT,
                canonical_url TEXT,
                site_name TEXT,
                title TEXT,
                published TEXT,
                language TEXT,
                word_count INTEGER NOT NULL DEFAULT 0,
                stored_at TEXT NOT NULL,
                fetched_at TEXT,
                raw_sha256 TEXT NOT NULL DEFAULT '',
                content_sha256 TEXT NOT NULL,
                version INTEGER NOT NULL CHECK (version >= 1),
                data TEXT NOT NULL CHECK (json_valid(data))
            )
            """,
            "CREATE INDEX articles_url ON articles(url)",
            "CREATE INDEX articles_canonical_url ON articles(canonical_url)",
            "CREATE INDEX articles_published ON articles(published)",
            "CREATE INDEX articles_site_name ON articles(site_name)",
            "CREATE INDEX articles_stored_at ON articles(stored_at)",
            """
            CREATE TABLE article_versions (
                article_id TEXT NOT NULL
                    REFERENCES articles(id) ON DELETE CASCADE ON UPDATE CASCADE,
                version INTEGER NOT NULL CHECK (version >= 1),
                raw_sha256 TEXT NOT NULL DEFAULT '',
                content_sha256 TEXT NOT NULL,
                fetched_at TEXT,
                stored_at TEXT NOT NULL,
                data TEXT NOT NULL CHECK (json_valid(data)),
                PRIMARY KEY (article_id, version)
            )
            """,
            """
            CREATE TABLE failures (
                pk INTEGER PRIMARY KEY,
                run_id TEXT NOT NULL,
                source TEXT NOT NULL,
                reason TEXT NOT NULL,
                error TEXT NOT NULL,
                recorded_at TEXT NOT NULL
            )
            """,
            "CREATE INDEX failures_run_id ON failures(run_id)",
            # The index reads the body through a view over the JSON column, so
            # the text is stored once (inside ``data``) rather than twice.
            """
            CREATE VIEW articles_fts_source AS
            SELECT pk, title, json_extract(data, '$.text') AS text FROM articles
            """,
            """
            CREATE VIRTUAL TABLE articles_fts USING fts5(
                title, text,
                content='articles_fts_source', content_rowid='pk',
                tokenize='unicode61 remove_diacritics 2',
                prefix='2 3'
            )
            """,
            f"""
            CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
                INSERT INTO articles_fts(rowid, title, text)
                VALUES (new.pk, new.title, {_TEXT_OF_NEW});
            END
            """,
            f"""
            CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
                INSERT INTO articles_fts(articles_fts, rowid, title, text)
                VALUES ('delete', old.pk, old.title, {_TEXT_OF_OLD});
            END
            """,
            f"""
            CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, data ON articles BEGIN
                INSERT INTO articles_fts(articles_fts, rowid, title, text)
                VALUES ('delete', old.pk, old.title, {_TEXT_OF_OLD});
                INSERT INTO articles_fts(rowid, title, text)
                VALUES (new.pk, new.title, {_TEXT_OF_NEW});
            END
            """,
        ),
    ),
    Migration(
        version=2,
        description="duplicate detection: fingerprints, groups and the LSH band index",
        statements=(
            # One row per article: its current fingerprint and duplicate record.
            # content_sha256 tells which version was fingerprinted, so an
            # article updated without re-fingerprinting is found again.
            """
            CREATE TABLE fingerprints (
                article_id TEXT PRIMARY KEY
                    REFERENCES articles(id) ON DELETE CASCADE ON UPDATE CASCADE,
                content_sha256 TEXT NOT NULL,
                exact_hash TEXT,
                signature BLOB,
                words INTEGER NOT NULL DEFAULT 0,
                reason TEXT,
                group_id TEXT NOT NULL,
                match TEXT NOT NULL DEFAULT 'none' CHECK (match IN ('none', 'exact', 'near')),
                closest_id TEXT,
                similarity REAL,
                fingerprinted_at TEXT NOT NULL
            )
            """,
            "CREATE INDEX fingerprints_exact_hash ON fingerprints(exact_hash) "
            "WHERE exact_hash IS NOT NULL",
            "CREATE INDEX fingerprints_group_id ON fingerprints(group_id)",
            # The persisted LSH index: a lookup is one index probe per band, so
            # a restart needs no rebuild and the cost does not grow with the store.
            """
            CREATE TABLE lsh_bands (
                band INTEGER NOT NULL,
                key INTEGER NOT NULL,
                article_id TEXT NOT NULL
                    REFERENCES fingerprints(article_id) ON DELETE CASCADE ON UPDATE CASCADE,
                PRIMARY KEY (band, key, article_id)
            ) WITHOUT ROWID
            """,
            "CREATE INDEX lsh_bands_article_id ON lsh_bands(article_id)",
        ),
    ),
    Migration(
        version=3,
        description="stories: clusterer state, key index, memberships with reasons, merges",
        statements=STORY_SCHEMA,
    ),
    Migration(
        version=4,
        description="pending-work queues for dedup and stories, kept by triggers",
        # Finding articles that still need a fingerprint or a story by scanning
        # all articles cost ~0.2 s a run at 100k articles (bench/growth.py);
        # triggers keep small queues instead, so the check costs what is pending.
        statements=(
            "CREATE TABLE pending_dedup (article_id TEXT PRIMARY KEY) WITHOUT ROWID",
            """
            INSERT INTO pending_dedup
            SELECT a.id FROM articles AS a LEFT JOIN fingerprints AS f ON f.article_id = a.id
            WHERE f.article_id IS NULL OR f.content_sha256 != a.content_sha256
            """,
            """
            CREATE TRIGGER articles_pending_dedup_insert AFTER INSERT ON articles BEGIN
                INSERT OR IGNORE INTO pending_dedup (article_id) VALUES (new.id);
            END
            """,
            """
            CREATE TRIGGER articles_pending_dedup_update AFTER UPDATE OF content_sha256
            ON articles WHEN new.content_sha256 IS NOT old.content_sha256 BEGIN
                INSERT OR IGNORE INTO pending_dedup (article_id) VALUES (new.id);
            END
            """,
            """
            CREATE TRIGGER fingerprints_done_insert AFTER INSERT ON fingerprints
            WHEN new.content_sha256
                = (SELECT content_sha256 FROM articles WHERE id = new.article_id)
            BEGIN
                DELETE FROM pending_dedup WHERE article_id = new.article_id;
            END
            """,
            """
            CREATE TRIGGER fingerprints_done_update AFTER UPDATE OF content_sha256 ON fingerprints
            WHEN new.content_sha256
                = (SELECT content_sha256 FROM articles WHERE id = new.article_id)
            BEGIN
                DELETE FROM pending_dedup WHERE article_id = new.article_id;
            END
            """,
            "CREATE TABLE pending_story (article_id TEXT PRIMARY KEY) WITHOUT ROWID",
            """
            INSERT INTO pending_story
            SELECT a.id FROM articles AS a LEFT JOIN story_members AS m ON m.article_id = a.id
            WHERE m.article_id IS NULL
            """,
            """
            CREATE TRIGGER articles_pending_story AFTER INSERT ON articles BEGIN
                INSERT OR IGNORE INTO pending_story (article_id) VALUES (new.id);
            END
            """,
            """
            CREATE TRIGGER story_members_done AFTER INSERT ON story_members BEGIN
                DELETE FROM pending_story WHERE article_id = new.article_id;
            END
            """,
            # flush() numbers memberships from MAX(seq): an index makes that O(log n).
            "CREATE INDEX story_members_seq ON story_members (seq)",
        ),
    ),
    Migration(
        version=5,
        description="story analysis: provenance edges, conflicts and a queue of stories to analyse",
        statements=ANALYSIS_SCHEMA,
    ),
    Migration(
        version=6,
        description="story summaries and page views (counts only, nothing about readers)",
        statements=SUMMARY_SCHEMA + VIEWS_SCHEMA,
    ),
    Migration(
        version=7,
        description="story keys filed by day of last update (story_key_days replaces story_keys)",
        # Every flush deleted and re-inserted all keys of each changed story,
        # since the exact update time was part of the key: random page writes
        # that grew with the store (bench/growth.py, docs/quality.md "Growth").
        statements=STORY_KEY_DAYS_SCHEMA,
    ),
    Migration(
        version=8,
        description="the LSH band index as levels merged in key order (lsh_bands is split)",
        # 32 band rows per article on 32 random leaves of one large table made
        # the batch commit grow with the store; see sqlite_lsh.py.
        statements=LSH_LEVELS_SCHEMA,
    ),
    Migration(
        version=9,
        description="what stories keep of their members, and story splits",
        statements=MEMBER_FEATURES_SCHEMA,
    ),
)


def _match_expression(query: str) -> str | None:
    """Turn untrusted text into a safe FTS5 query, or None if it has no words.

    Every word is double-quoted, so FTS5 operators, column filters, ``NEAR``,
    ``*`` and parentheses in the input are searched as plain words (or dropped
    as punctuation).  Words are ANDed; the last one matches as a prefix while
    the user is still typing it (no trailing space or punctuation).
    """
    if not isinstance(query, str):
        return None
    query = query[:MAX_QUERY_CHARS]
    words = [match.group().casefold() for match in _TERM.finditer(query)]
    if not words:
        return None
    terms = list(dict.fromkeys(words))  # unique, in order of first use
    still_typing = query[-1].isalnum() and terms[-1] == words[-1]
    terms = terms[:MAX_QUERY_TERMS]
    quoted = [f'"{term}"' for term in terms]
    if still_typing and terms[-1] == words[-1]:
        quoted[-1] += "*"
    return " ".join(quoted)


def _rollback(conn: sqlite3.Connection) -> None:
    # Best effort: the error that caused the rollback is the one worth raising,
    # and SQLite rolls back an unfinished transaction on close anyway.
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlite3.Error:
        pass


class SQLiteStore(SQLiteStoryMixin, SQLiteAnalysisMixin, SQLiteViewsMixin, SharedArticleReads):
    """The ``Store`` protocol on a single SQLite file (or ``:memory:``).

    One connection per store object, shared between threads under a lock; open
    one store per process (or per thread) for real concurrency — WAL lets any
    number of readers run while one writer commits.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        *,
        url: str | None = None,
        busy_timeout: float = 5.0,
    ) -> None:
        self.path: Path | None = None
        if path is not None and os.fspath(path) != ":memory:":
            self.path = Path(path).expanduser()
        self.url: str = url or (
            "sqlite://:memory:" if self.path is None else f"sqlite:///{self.path}"
        )
        self._where = ":memory:" if self.path is None else str(self.path)
        self._busy_timeout = busy_timeout
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        # Open transaction levels on the connection (guarded by _lock):
        # 0 none, 1 a transaction, more = savepoints inside it.
        self._depth = 0

        if self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"{self._where}: cannot create its folder: {exc}") from exc
            if self.path.is_dir():
                raise StoreError(f"{self._where}: is a folder, not a database file")
        try:
            conn = sqlite3.connect(
                ":memory:" if self.path is None else str(self.path),
                timeout=busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise self._error("opening", exc) from exc
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            # Identify the file before changing anything in it.
            self._check_identity(conn)
            if self.path is not None:
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            # 64 MB of page cache (the default is 2 MB): the LSH band and story
            # key indexes take random writes, and at 100k articles a small cache
            # turns each into a page read (bench/growth.py).
            conn.execute("PRAGMA cache_size = -65536")
            self._migrate(conn)
        except BaseException as exc:
            conn.close()
            if isinstance(exc, sqlite3.Error):
                raise self._error("opening", exc) from exc
            raise
        self._conn = conn

    # -- lifecycle ---------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                conn, self._conn = self._conn, None
                try:
                    conn.close()
                except sqlite3.Error as exc:
                    raise self._error("closing", exc) from exc

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({self.url!r})"

    # -- schema ------------------------------------------------------------

    def _check_identity(self, conn: sqlite3.Connection) -> None:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        if app_id == APPLICATION_ID:
            return
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        objects = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if app_id == 0 and version == 0 and objects == 0:
            return  # a new, empty database: the first migration claims it
        raise StoreError(f"{self._where}: not a newsloom database (it holds other data)")

    def _migrate(self, conn: sqlite3.Connection) -> None:
        current = conn.execute("PRAGMA user_version").fetchone()[0]
        if not pending(current, MIGRATIONS, where=self._where):
            return
        while True:
            conn.execute("BEGIN IMMEDIATE")
            try:
                # Re-read under the write lock: another process opening the
                # same new file may have migrated it meanwhile.
                current = conn.execute("PRAGMA user_version").fetchone()[0]
                steps = pending(current, MIGRATIONS, where=self._where)
                if steps:
                    step = steps[0]
                    for statement in step.statements:
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {int(step.version)}")
                conn.execute("COMMIT")
            except BaseException as exc:
                _rollback(conn)
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(
                        f"{self._where}: migrating the schema to version {current + 1} "
                        f"failed: {exc}"
                    ) from exc
                raise
            if len(steps) <= 1:
                return

    def schema_version(self) -> int:
        with self._reading("reading the schema version") as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    @staticmethod
    def latest_schema_version() -> int:
        return latest_version(MIGRATIONS)

    # -- plumbing ----------------------------------------------------------

    def _error(self, action: str, exc: sqlite3.Error) -> StoreError:
        message = str(exc)
        if "not a database" in message or "file is encrypted" in message:
            return StoreError(f"{self._where}: not a newsloom/SQLite database")
        if "locked" in message or "busy" in message:
            return StoreError(
                f"{self._where}: {action}: the database stayed locked by another "
                f"writer for more than {self._busy_timeout:g} s"
            )
        return StoreError(f"{self._where}: {action}: {message}")

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"{self._where}: the store is closed")
        return self._conn

    @contextmanager
    def _reading(self, action: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._connection()
            try:
                yield conn
            except sqlite3.Error as exc:
                raise self._error(action, exc) from exc

    @contextmanager
    def _transaction(self, action: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._connection()
            if self._depth:
                # Inside transaction(): join it through a savepoint, so a
                # failed step undoes only itself and the outer one decides.
                with self._savepoint(conn, action):
                    yield conn
                return
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._error(action, exc) from exc
            self._depth = 1
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                _rollback(conn)
                if isinstance(exc, sqlite3.Error):
                    raise self._error(action, exc) from exc
                raise
            finally:
                self._depth = 0

    @contextmanager
    def _savepoint(self, conn: sqlite3.Connection, action: str) -> Iterator[None]:
        name = f"nl_{self._depth}"
        try:
            conn.execute(f"SAVEPOINT {name}")
        except sqlite3.Error as exc:
            raise self._error(action, exc) from exc
        self._depth += 1
        try:
            yield
            conn.execute(f"RELEASE {name}")
        except BaseException as exc:
            try:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
            except sqlite3.Error:
                pass  # the outer transaction's rollback still undoes it
            if isinstance(exc, sqlite3.Error):
                raise self._error(action, exc) from exc
            raise
        finally:
            self._depth -= 1

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One all-or-nothing transaction around several writes (see ``Store``).

        The store's lock is held throughout, so other threads using this
        store object wait until it commits.
        """
        with self._transaction("writing"):
            yield

    def _load(self, data: str) -> Article:
        try:
            return Article.from_dict(json.loads(data))
        except (ValueError, TypeError, KeyError) as exc:
            raise StoreError(f"{self._where}: a stored article cannot be read: {exc}") from exc

    # -- articles ----------------------------------------------------------

    def put_articles(self, articles: Sequence[Article]) -> list[PutResult]:
        batch = prepare_batch(articles, self._where)
        if not batch:
            return []

        stored_at = utc_text(datetime.now(UTC))
        results: list[PutResult] = []
        with self._transaction("storing articles") as conn:
            for row in batch.values():
                existing = conn.execute(
                    "SELECT content_sha256, version FROM articles WHERE id = ?", (row.id,)
                ).fetchone()
                if existing is not None and existing["content_sha256"] == row.content_sha256:
                    results.append(PutResult(row.id, "unchanged", existing["version"]))
                    continue
                values = row.values(
                    stored_at=stored_at,
                    version=1 if existing is None else existing["version"] + 1,
                )
                if existing is None:
                    names = ", ".join(ARTICLE_COLUMNS)
                    marks = ", ".join(f":{name}" for name in ARTICLE_COLUMNS)
                    conn.execute(f"INSERT INTO articles ({names}) VALUES ({marks})", values)
                    status = "new"
                else:
                    sets = ", ".join(f"{name} = :{name}" for name in ARTICLE_COLUMNS[1:])
                    conn.execute(f"UPDATE articles SET {sets} WHERE id = :id", values)
                    status = "updated"
                conn.execute(
                    """
                    INSERT INTO article_versions
                        (article_id, version, raw_sha256, content_sha256,
                         fetched_at, stored_at, data)
                    VALUES (:id, :version, :raw_sha256, :content_sha256,
                            :fetched_at, :stored_at, :data)
                    """,
                    values,
                )
                results.append(PutResult(row.id, status, values["version"]))
        return results

    def _resolve_id(self, conn: sqlite3.Connection, article_id: str) -> str | None:
        """Full id for an exact id or a unique prefix of at least MIN_PREFIX chars."""
        if not isinstance(article_id, str) or not article_id:
            return None
        row = conn.execute("SELECT id FROM articles WHERE id = ?", (article_id,)).fetchone()
        if row is not None:
            return row["id"]
        if len(article_id) < MIN_PREFIX:
            return None
        last = ord(article_id[-1])
        if last < 0x10FFFF:
            # A range scan on the unique index: every id starting with the
            # prefix sorts between the prefix and its last char bumped by one.
            upper = article_id[:-1] + chr(last + 1)
            rows = conn.execute(
                "SELECT id FROM articles WHERE id >= ? AND id < ? ORDER BY id LIMIT 3",
                (article_id, upper),
            ).fetchall()
        else:
            rows = conn.execute(
                "SELECT id FROM articles WHERE substr(id, 1, ?) = ? ORDER BY id LIMIT 3",
                (len(article_id), article_id),
            ).fetchall()
        if not rows:
            return None
        if len(rows) > 1:
            shown = ", ".join(r["id"] for r in rows[:2])
            raise StoreError(
                f"article id prefix {article_id!r} is ambiguous: it matches {shown}"
                f"{' and more' if len(rows) > 2 else ''}; give more characters"
            )
        return rows[0]["id"]

    def get_article(self, article_id: str) -> Article | None:
        with self._reading("reading an article") as conn:
            full_id = self._resolve_id(conn, article_id)
            if full_id is None:
                return None
            row = conn.execute("SELECT data FROM articles WHERE id = ?", (full_id,)).fetchone()
        return None if row is None else self._load(row["data"])

    def get_articles(self, article_ids: Sequence[str]) -> dict[str, Article]:
        wanted = list(dict.fromkeys(i for i in article_ids if isinstance(i, str)))
        found: dict[str, Article] = {}
        with self._reading("reading articles") as conn:
            for start in range(0, len(wanted), _ID_CHUNK):
                chunk = wanted[start : start + _ID_CHUNK]
                marks = ", ".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT id, data FROM articles WHERE id IN ({marks})", chunk
                ).fetchall()
                found.update((row["id"], self._load(row["data"])) for row in rows)
        return found

    def _page_size(self) -> int:
        return PAGE_SIZE

    # -- search ------------------------------------------------------------

    def search(self, query: str, *, limit: int = 20, offset: int = 0) -> list[SearchHit]:
        expression = _match_expression(query)
        if expression is None or limit <= 0:
            return []
        weights = f"{TITLE_WEIGHT}, {TEXT_WEIGHT}"
        with self._reading("searching") as conn:
            rows = conn.execute(
                f"""
                SELECT a.data AS data,
                       bm25(articles_fts, {weights}) AS rank,
                       snippet(articles_fts, 1, '[', ']', '…', {SNIPPET_TOKENS}) AS snippet
                FROM articles_fts JOIN articles AS a ON a.pk = articles_fts.rowid
                WHERE articles_fts MATCH ?
                ORDER BY rank, a.pk
                LIMIT ? OFFSET ?
                """,
                (expression, limit, max(offset, 0)),
            ).fetchall()
        hits: list[SearchHit] = []
        for row in rows:
            article = self._load(row["data"])
            # bm25 is "lower is better"; callers get "higher is better".
            hits.append(
                SearchHit(
                    article=article,
                    score=-float(row["rank"]),
                    # One line: paragraph breaks in the excerpt would break list layouts.
                    snippet=" ".join((row["snippet"] or article.title or "").split()),
                )
            )
        return hits

    # -- failures ----------------------------------------------------------

    def record_failures(self, failures: Sequence[Failure], *, run_id: str) -> None:
        if not isinstance(run_id, str) or not run_id:
            raise StoreError("run_id must be a non-empty string")
        rows = [
            (run_id, str(f.source), str(f.reason), str(f.error), utc_text(datetime.now(UTC)))
            for f in failures
        ]
        if not rows:
            return
        with self._transaction("recording failures") as conn:
            conn.executemany(
                "INSERT INTO failures (run_id, source, reason, error, recorded_at) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )

    # -- duplicates --------------------------------------------------------

    def put_fingerprints(self, fingerprints: Sequence[Fingerprint]) -> None:
        if not fingerprints:
            return
        now = utc_text(datetime.now(UTC))
        with self._transaction("storing fingerprints") as conn:
            for fp in fingerprints:
                article = conn.execute(
                    "SELECT content_sha256 FROM articles WHERE id = ?", (fp.article_id,)
                ).fetchone()
                if article is None:
                    raise StoreError(
                        f"{self._where}: cannot fingerprint {fp.article_id!r}: no such article"
                    )
                self._leave_group(conn, fp.article_id)
                previous = conn.execute(
                    "SELECT band_keys FROM fingerprints WHERE article_id = ?", (fp.article_id,)
                ).fetchone()
                if previous is not None:
                    remove_bands(conn, fp.article_id, previous["band_keys"])
                conn.execute(
                    """
                    INSERT INTO fingerprints
                        (article_id, content_sha256, exact_hash, signature, band_keys, words,
                         reason, group_id, match, closest_id, similarity, fingerprinted_at)
                    VALUES (:id, :content, :exact, :signature, :bands, :words, :reason,
                            :id, 'none', NULL, NULL, :now)
                    ON CONFLICT (article_id) DO UPDATE SET
                        content_sha256 = excluded.content_sha256,
                        exact_hash = excluded.exact_hash,
                        signature = excluded.signature,
                        band_keys = excluded.band_keys,
                        words = excluded.words,
                        reason = excluded.reason,
                        group_id = excluded.group_id,
                        match = 'none', closest_id = NULL, similarity = NULL,
                        fingerprinted_at = excluded.fingerprinted_at
                    """,
                    {
                        **fingerprint_params(fp, article["content_sha256"], now),
                        "bands": encode_band_keys(fp.band_keys),
                    },
                )
                add_bands(conn, fp.article_id, fp.band_keys)
            compact(conn)

    def _leave_group(self, conn: sqlite3.Connection, article_id: str) -> None:
        """Take an article out of its group before its fingerprint changes.

        A group is named after its earliest member; when that member leaves,
        the next earliest member names the group from then on.
        """
        row = conn.execute(
            "SELECT group_id FROM fingerprints WHERE article_id = ?", (article_id,)
        ).fetchone()
        if row is None or row["group_id"] != article_id:
            return
        heir = conn.execute(
            """
            SELECT f.article_id FROM fingerprints AS f JOIN articles AS a ON a.id = f.article_id
            WHERE f.group_id = ? AND f.article_id != ? ORDER BY a.pk LIMIT 1
            """,
            (article_id, article_id),
        ).fetchone()
        if heir is not None:
            conn.execute(
                "UPDATE fingerprints SET group_id = ? WHERE group_id = ? AND article_id != ?",
                (heir["article_id"], article_id, article_id),
            )

    def exact_matches(self, exact_hash: str, *, limit: int = 100) -> list[str]:
        if not exact_hash or limit <= 0:
            return []
        with self._reading("finding exact duplicates") as conn:
            rows = conn.execute(
                """
                SELECT f.article_id FROM fingerprints AS f
                JOIN articles AS a ON a.id = f.article_id
                WHERE f.exact_hash = ? ORDER BY a.pk LIMIT ?
                """,
                (exact_hash, limit),
            ).fetchall()
        return [row["article_id"] for row in rows]

    def lsh_candidates(self, band_keys: Sequence[int], *, limit: int = 200) -> list[LshCandidate]:
        if not band_keys or limit <= 0:
            return []
        with self._reading("finding near-duplicate candidates") as conn:
            levels = live_levels(conn)
            if not levels:
                return []
            probes, params = candidate_probes(levels, band_keys)
            rows = conn.execute(
                f"""
                SELECT f.article_id, f.signature, f.group_id
                FROM ({probes}) AS hit
                JOIN fingerprints AS f ON f.article_id = hit.article_id
                JOIN articles AS a ON a.id = f.article_id
                WHERE f.signature IS NOT NULL
                ORDER BY a.pk LIMIT ?
                """,
                (*params, limit),
            ).fetchall()
        return [
            LshCandidate(row["article_id"], bytes(row["signature"]), row["group_id"])
            for row in rows
        ]

    def merge_groups(self, group_ids: Sequence[str]) -> str:
        groups = list(dict.fromkeys(g for g in group_ids if g))
        if not groups:
            raise StoreError("merge_groups needs at least one group id")
        if len(groups) == 1:
            return groups[0]
        with self._transaction("merging duplicate groups") as conn:
            marks = ", ".join("?" for _ in groups)
            order = {
                row["id"]: row["pk"]
                for row in conn.execute(
                    f"SELECT id, pk FROM articles WHERE id IN ({marks})", groups
                )
            }
            # Earliest stored root wins; ids without an article row go last.
            winner = min(groups, key=lambda g: (g not in order, order.get(g, 0), g))
            losers = [g for g in groups if g != winner]
            conn.execute(
                f"UPDATE fingerprints SET group_id = ? "
                f"WHERE group_id IN ({', '.join('?' for _ in losers)})",
                (winner, *losers),
            )
        return winner

    def set_duplicates(self, infos: Sequence[DuplicateInfo]) -> None:
        if not infos:
            return
        with self._transaction("recording duplicates") as conn:
            for info in infos:
                cursor = conn.execute(
                    """
                    UPDATE fingerprints
                    SET group_id = ?, match = ?, closest_id = ?, similarity = ?
                    WHERE article_id = ?
                    """,
                    (
                        info.group_id,
                        info.match,
                        info.closest_id,
                        info.similarity,
                        info.article_id,
                    ),
                )
                if cursor.rowcount == 0:
                    raise StoreError(
                        f"{self._where}: {info.article_id!r} has no fingerprint to attach "
                        "duplicates to"
                    )

    def offer_closest(self, offers: Sequence[tuple[str, str, float]]) -> None:
        if not offers:
            return
        with self._transaction("recording closest copies") as conn:
            conn.executemany(
                """
                UPDATE fingerprints SET closest_id = ?, similarity = ?
                WHERE article_id = ? AND closest_id IS NOT ?
                  AND (similarity IS NULL OR similarity < ?)
                """,
                [(copy_id, sim, article_id, copy_id, sim) for article_id, copy_id, sim in offers],
            )

    def duplicates_of(self, article_id: str) -> DuplicateInfo | None:
        with self._reading("reading duplicates") as conn:
            full_id = self._resolve_id(conn, article_id)
            if full_id is None:
                return None
            row = conn.execute(
                f"SELECT {DUPLICATE_COLUMNS} FROM fingerprints WHERE article_id = ?", (full_id,)
            ).fetchone()
        return None if row is None else duplicate_info_from_row(row)

    def articles_without_fingerprints(self, *, limit: int = 500) -> list[str]:
        if limit <= 0:
            return []
        with self._reading("finding articles to fingerprint") as conn:
            rows = conn.execute(
                """
                -- CROSS JOIN keeps the small queue as the outer loop; with a plain
                -- JOIN SQLite scans all articles to honour ORDER BY a.pk.
                SELECT a.id FROM pending_dedup AS p
                CROSS JOIN articles AS a ON a.id = p.article_id
                LEFT JOIN fingerprints AS f ON f.article_id = a.id
                WHERE f.article_id IS NULL OR f.content_sha256 != a.content_sha256
                ORDER BY a.pk LIMIT ?
                """,
                (limit,),
            ).fetchall()
        return [row["id"] for row in rows]
