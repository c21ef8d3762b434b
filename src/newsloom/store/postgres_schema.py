"""The PostgreSQL schema as numbered migration steps.

It mirrors the SQLite schema table for table; the differences are what
PostgreSQL does natively: a generated ``tsvector`` column with a GIN index
instead of an FTS5 table, PL/pgSQL trigger functions for the pending-work
queues, and ``COLLATE "C"`` on ids, keys and ISO times so that ordering and
prefix ranges compare bytes, as SQLite does, whatever the database locale.
"""

from __future__ import annotations

from newsloom.store.migrations import Migration

__all__ = ["MIGRATIONS", "MIGRATIONS_TABLE"]

MIGRATIONS_TABLE = "newsloom_migrations"

# Shorthand for the byte-ordered text columns.
_C = 'TEXT COLLATE "C"'

_ARTICLES = (
    f"""
    CREATE TABLE articles (
        pk BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id {_C} NOT NULL UNIQUE,
        url TEXT,
        canonical_url TEXT,
        site_name TEXT,
        title TEXT,
        published {_C},
        language TEXT,
        word_count INTEGER NOT NULL DEFAULT 0,
        stored_at {_C} NOT NULL,
        fetched_at {_C},
        raw_sha256 TEXT NOT NULL DEFAULT '',
        content_sha256 TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        data JSONB NOT NULL,
        -- Title words weigh A, body words B; ranking gives A ten times B.
        -- 'simple': no stemming or stop words, as SQLite's unicode61 index.
        search TSVECTOR GENERATED ALWAYS AS (
            setweight(to_tsvector('simple', coalesce(title, '')), 'A')
            || setweight(to_tsvector('simple', coalesce(data ->> 'text', '')), 'B')
        ) STORED
    )
    """,
    "CREATE INDEX articles_url ON articles (url)",
    "CREATE INDEX articles_canonical_url ON articles (canonical_url)",
    "CREATE INDEX articles_published ON articles (published)",
    "CREATE INDEX articles_site_name ON articles (site_name)",
    "CREATE INDEX articles_stored_at ON articles (stored_at)",
    "CREATE INDEX articles_search ON articles USING GIN (search)",
    f"""
    CREATE TABLE article_versions (
        article_id {_C} NOT NULL
            REFERENCES articles (id) ON DELETE CASCADE ON UPDATE CASCADE,
        version INTEGER NOT NULL CHECK (version >= 1),
        raw_sha256 TEXT NOT NULL DEFAULT '',
        content_sha256 TEXT NOT NULL,
        fetched_at {_C},
        stored_at {_C} NOT NULL,
        data JSONB NOT NULL,
        PRIMARY KEY (article_id, version)
    )
    """,
    f"""
    CREATE TABLE failures (
        pk BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        run_id {_C} NOT NULL,
        source TEXT NOT NULL,
        reason TEXT NOT NULL,
        error TEXT NOT NULL,
        recorded_at {_C} NOT NULL
    )
    """,
    "CREATE INDEX failures_run_id ON failures (run_id)",
)

_DEDUP = (
    f"""
    CREATE TABLE fingerprints (
        article_id {_C} PRIMARY KEY
            REFERENCES articles (id) ON DELETE CASCADE ON UPDATE CASCADE,
        content_sha256 TEXT NOT NULL,
        exact_hash TEXT,
        signature BYTEA,
        words INTEGER NOT NULL DEFAULT 0,
        reason TEXT,
        group_id {_C} NOT NULL,
        match TEXT NOT NULL DEFAULT 'none' CHECK (match IN ('none', 'exact', 'near')),
        closest_id {_C},
        similarity DOUBLE PRECISION,
        fingerprinted_at {_C} NOT NULL
    )
    """,
    "CREATE INDEX fingerprints_exact_hash ON fingerprints (exact_hash) "
    "WHERE exact_hash IS NOT NULL",
    "CREATE INDEX fingerprints_group_id ON fingerprints (group_id)",
    f"""
    CREATE TABLE lsh_bands (
        band INTEGER NOT NULL,
        key BIGINT NOT NULL,
        article_id {_C} NOT NULL
            REFERENCES fingerprints (article_id) ON DELETE CASCADE ON UPDATE CASCADE,
        PRIMARY KEY (band, key, article_id)
    )
    """,
    "CREATE INDEX lsh_bands_article_id ON lsh_bands (article_id)",
)

_STORIES = (
    f"""
    CREATE TABLE stories (
        id {_C} PRIMARY KEY,
        title TEXT NOT NULL,
        first_seen {_C} NOT NULL,
        updated {_C} NOT NULL,
        size INTEGER NOT NULL,
        centroid BYTEA NOT NULL,
        terms TEXT NOT NULL,
        entities TEXT NOT NULL,
        keys TEXT NOT NULL,
        merged_into {_C}
    )
    """,
    "CREATE INDEX stories_updated ON stories (updated)",
    f"""
    CREATE TABLE story_key_days (
        key {_C} NOT NULL,
        day INTEGER NOT NULL,
        story_id {_C} NOT NULL,
        PRIMARY KEY (key, day, story_id)
    )
    """,
    "CREATE INDEX story_key_days_story ON story_key_days (story_id)",
    f"""
    CREATE TABLE story_members (
        article_id {_C} PRIMARY KEY,
        story_id {_C} NOT NULL,
        seq BIGINT NOT NULL,
        decided_at {_C},
        reasons TEXT NOT NULL
    )
    """,
    "CREATE INDEX story_members_story ON story_members (story_id, seq)",
    "CREATE INDEX story_members_seq ON story_members (seq)",
    f"""
    CREATE TABLE story_merges (
        absorbed {_C} PRIMARY KEY,
        into_id {_C} NOT NULL,
        article_id {_C} NOT NULL
    )
    """,
    "CREATE INDEX story_merges_into ON story_merges (into_id)",
    f"CREATE TABLE term_df (term {_C} PRIMARY KEY, df INTEGER NOT NULL)",
    f"CREATE TABLE cluster_counters (name {_C} PRIMARY KEY, value BIGINT NOT NULL)",
)

# Queues of pending work kept by triggers, as in SQLite: finding what still
# needs a fingerprint, a story or an analysis costs what is pending, not a
# scan of every article.
_QUEUES = (
    f"CREATE TABLE pending_dedup (article_id {_C} PRIMARY KEY)",
    f"CREATE TABLE pending_story (article_id {_C} PRIMARY KEY)",
    """
    CREATE FUNCTION newsloom_article_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO pending_dedup (article_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
        INSERT INTO pending_story (article_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER articles_inserted AFTER INSERT ON articles
    FOR EACH ROW EXECUTE FUNCTION newsloom_article_inserted()
    """,
    """
    CREATE FUNCTION newsloom_article_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO pending_dedup (article_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
        INSERT INTO pending_analysis (story_id)
        SELECT story_id FROM story_members WHERE article_id = NEW.id
        ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER articles_changed AFTER UPDATE OF content_sha256 ON articles
    FOR EACH ROW WHEN (NEW.content_sha256 IS DISTINCT FROM OLD.content_sha256)
    EXECUTE FUNCTION newsloom_article_changed()
    """,
    """
    CREATE FUNCTION newsloom_fingerprinted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM pending_dedup AS p USING articles AS a
        WHERE p.article_id = NEW.article_id AND a.id = NEW.article_id
          AND a.content_sha256 = NEW.content_sha256;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER fingerprints_done AFTER INSERT OR UPDATE OF content_sha256 ON fingerprints
    FOR EACH ROW EXECUTE FUNCTION newsloom_fingerprinted()
    """,
    """
    CREATE FUNCTION newsloom_member_placed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM pending_story WHERE article_id = NEW.article_id;
        INSERT INTO pending_analysis (story_id) VALUES (NEW.story_id) ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER story_members_placed AFTER INSERT OR UPDATE OF story_id ON story_members
    FOR EACH ROW EXECUTE FUNCTION newsloom_member_placed()
    """,
)

_ANALYSIS = (
    f"""
    CREATE TABLE provenance (
        story_id {_C} NOT NULL,
        derived_id {_C} NOT NULL,
        source_id {_C} NOT NULL,
        relation TEXT NOT NULL CHECK (relation IN
            ('duplicate', 'near_copy', 'rewrite', 'summary', 'quotes', 'independent')),
        score DOUBLE PRECISION NOT NULL,
        attributed BOOLEAN NOT NULL,
        directed BOOLEAN NOT NULL,
        data JSONB NOT NULL,
        PRIMARY KEY (story_id, derived_id, source_id)
    )
    """,
    "CREATE INDEX provenance_derived ON provenance (derived_id)",
    "CREATE INDEX provenance_source ON provenance (source_id)",
    f"""
    CREATE TABLE conflicts (
        story_id {_C} NOT NULL,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        a_article {_C} NOT NULL,
        b_article {_C} NOT NULL,
        confidence DOUBLE PRECISION NOT NULL,
        data JSONB NOT NULL,
        PRIMARY KEY (story_id, seq)
    )
    """,
    "CREATE INDEX conflicts_a ON conflicts (a_article)",
    "CREATE INDEX conflicts_b ON conflicts (b_article)",
    f"""
    CREATE TABLE story_analysis (
        story_id {_C} PRIMARY KEY,
        members INTEGER NOT NULL,
        analysed_at {_C} NOT NULL
    )
    """,
    f"CREATE TABLE pending_analysis (story_id {_C} PRIMARY KEY)",
    f"""
    CREATE TABLE story_summaries (
        story_id {_C} PRIMARY KEY,
        data JSONB NOT NULL,
        updated_at {_C} NOT NULL
    )
    """,
    # A story merged away or deleted (recluster) takes its analysis with it.
    """
    CREATE FUNCTION newsloom_story_gone() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        gone TEXT := CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END;
    BEGIN
        DELETE FROM provenance WHERE story_id = gone;
        DELETE FROM conflicts WHERE story_id = gone;
        DELETE FROM story_analysis WHERE story_id = gone;
        DELETE FROM pending_analysis WHERE story_id = gone;
        DELETE FROM story_summaries WHERE story_id = gone;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER stories_merged AFTER UPDATE OF merged_into ON stories
    FOR EACH ROW WHEN (NEW.merged_into IS NOT NULL)
    EXECUTE FUNCTION newsloom_story_gone()
    """,
    """
    CREATE TRIGGER stories_deleted AFTER DELETE ON stories
    FOR EACH ROW EXECUTE FUNCTION newsloom_story_gone()
    """,
)

# What a story keeps of each member, so that it can split again when a join
# shows it holds two groups, and the splits (as in SQLite's migration 9).
_MEMBER_FEATURES = (
    f"""
    CREATE TABLE article_features (
        article_id {_C} PRIMARY KEY,
        title TEXT NOT NULL,
        published {_C},
        embedding BYTEA NOT NULL,
        terms TEXT NOT NULL,
        entities TEXT NOT NULL
    )
    """,
    f"""
    CREATE TABLE story_splits (
        part_id {_C} PRIMARY KEY,
        story_id {_C} NOT NULL,
        article_id {_C} NOT NULL
    )
    """,
    "CREATE INDEX story_splits_story ON story_splits (story_id)",
)

_VIEWS = (
    f"""
    CREATE TABLE page_views (
        kind {_C} NOT NULL,
        item_id {_C} NOT NULL,
        day {_C} NOT NULL,
        count BIGINT NOT NULL,
        PRIMARY KEY (kind, item_id, day)
    )
    """,
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "articles with versions, ingest failures, full-text search", _ARTICLES),
    Migration(2, "duplicate detection: fingerprints, groups and the LSH band index", _DEDUP),
    Migration(3, "stories: clusterer state, keys by day, memberships, merges", _STORIES),
    Migration(
        4,
        "story analysis (provenance, conflicts, summaries) and the pending-work queues",
        # pending_analysis must exist before the trigger functions that fill it run.
        _ANALYSIS + _QUEUES,
    ),
    Migration(5, "page views (counts only, nothing about readers)", _VIEWS),
    Migration(6, "what stories keep of their members, and story splits", _MEMBER_FEATURES),
)
