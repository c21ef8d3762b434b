"""One settings object: defaults < config file < environment < explicit overrides.

The config file is TOML (``newsloom.toml`` in the working directory, or the
path in ``NEWSLOOM_CONFIG``).  Environment variables are ``NEWSLOOM_<FIELD>``
in upper case, e.g. ``NEWSLOOM_STORE=sqlite:///news.db``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from newsloom.errors import ConfigError

__all__ = ["Settings", "load_settings"]

MB = 1024 * 1024


@dataclass(slots=True, frozen=True)
class Settings:
    store: str = "sqlite:///newsloom.db"
    # Fetcher
    user_agent: str = "newsloom/0.1 (+https://github.com/newsloom/newsloom; news research bot)"
    timeout: float = 20.0
    connect_timeout: float = 10.0
    # Wall-clock limit for one fetch, redirects included: stops slow-drip servers.
    fetch_budget: float = 60.0
    max_body_bytes: int = 10 * MB
    max_decompressed_bytes: int = 40 * MB
    max_header_bytes: int = 64 * 1024
    max_redirects: int = 5
    host_delay: float = 1.0
    respect_robots: bool = True
    allow_private: bool = False
    # Readers
    max_file_bytes: int = 10 * MB
    max_archive_bytes: int = 4096 * MB
    max_feed_entries: int = 500
    max_sitemap_urls: int = 5000
    # Extraction
    words_per_minute: int = 230
    # Stories: a story takes no new article after this many days without one.
    story_quiet_days: float = 7.0
    # Provenance and cross-checks compare every pair of a story's articles, so
    # only this many (the earliest published) are analysed in a large story.
    analysis_max_articles: int = 60
    # ...and only the first this many characters of each (whole paragraphs).
    analysis_max_chars: int = 50_000
    # Web: searches one client may make at once, then per minute (a token
    # bucket per client address); a burst of 0 turns the limit off.
    search_burst: int = 30
    search_per_minute: float = 60.0
    # Web: the home page and the story lists are computed at most once per
    # this many seconds each and served from memory meanwhile, so a new story
    # shows up to this late; 0 computes every request afresh.
    page_cache_seconds: float = 10.0
    # ...and a page of search results at most once per this many seconds.
    search_cache_seconds: float = 60.0
    # Web: a story page checks at most once per this many seconds whether its
    # story changed (a new article, a merge, a new analysis), so a change shows
    # up to this late; 0 checks on every request.
    story_check_seconds: float = 5.0
    # Web: requests handled at once (threads, each on its own store connection).
    web_threads: int = 8
    # Web: a request that takes longer than this (milliseconds, from the app
    # receiving it to its last byte handed to the server) is logged with its
    # address and status; 0 logs none.
    slow_request_ms: float = 1000.0

    def with_overrides(self, **overrides: Any) -> Settings:
        """Return a copy with the non-None overrides applied (CLI flags)."""
        clean = {k: v for k, v in overrides.items() if v is not None}
        unknown = set(clean) - {f.name for f in fields(self)}
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return replace(self, **clean)


def _coerce(name: str, raw: Any, default: Any) -> Any:
    kind = type(default)
    try:
        if kind is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        return kind(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"setting {name}: cannot read {raw!r} as {kind.__name__}") from None


def load_settings(
    config_path: str | os.PathLike[str] | None = None,
    environ: dict[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build settings from defaults, the config file, the environment and overrides."""
    env = os.environ if environ is None else environ
    defaults = Settings()
    values: dict[str, Any] = {}
    known = {f.name: getattr(defaults, f.name) for f in fields(defaults)}

    path = config_path or env.get("NEWSLOOM_CONFIG")
    candidate = Path(path) if path else Path("newsloom.toml")
    if candidate.is_file():
        try:
            data = tomllib.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{candidate}: {exc}") from None
        section = data.get("newsloom", data)
        for key, raw in section.items():
            name = key.replace("-", "_")
            if name not in known:
                raise ConfigError(f"{candidate}: unknown setting {key!r}")
            values[name] = _coerce(name, raw, known[name])
    elif path:
        raise ConfigError(f"config file not found: {candidate}")

    for name, default in known.items():
        raw = env.get(f"NEWSLOOM_{name.upper()}")
        if raw is not None and raw != "":
            values[name] = _coerce(name, raw, default)

    return replace(defaults, **values).with_overrides(**overrides)
