"""Export the stored stories to files: JSON lines, Markdown, Atom or a static HTML site.

Every format is written into a fresh directory next to ``out`` and renamed
into place only when complete, so a failed export leaves ``out`` as it was.
An existing ``out`` is replaced only if it is empty or an earlier newsloom
export (it has our ``manifest.json``): a mistyped ``--out ~`` must not wipe
a home directory.

Layout of each format (``manifest.json`` everywhere: format, counts, since):

``jsonl``
    ``stories.jsonl``: one object per story, most recently updated first::

        {"id", "title", "first_seen", "updated", "size", "article_ids", "merged_from",
         "split_from", "split_off",
         "articles": [{"id", "title", "url", "site_name", "authors", "published",
                       "relation", "source_id", "attributed", "credits": [...]}],
         "provenance": [Provenance.to_dict()], "tree": provenance_tree(...),
         "conflicts": [Conflict.to_dict()], "summary": StorySummary.to_dict() | null}

    ``relation`` is ``original``/``independent`` for a root of the provenance
    tree, else how it derives from ``source_id``.  ``articles.jsonl`` holds
    each article in full (``Article.to_dict()``, text included): every stored
    article, or with ``since`` the articles of the exported stories.
``markdown``
    ``index.md`` (the stories, linked), ``stories/<id>.md`` (summary, key
    points, timeline, sources, conflicts, citations linking to the article
    files) and ``articles/<id>.md``.
``atom``
    ``feed.atom`` (the latest stories) and ``story/<id>/feed.atom``: the
    paths the web app serves, so ``base_url`` can point at where they are hosted.
``html``
    The web app's pages rendered in-process and saved as files with relative
    links (``index.html``, ``stories/page-<n>.html``, ``story/<id>.html``,
    ``article/<id>.html``, ``static/…`` and the Atom feeds), readable from
    ``file://``.  Needs ``newsloom.web`` and a store in a file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from newsloom.analyse import provenance_tree
from newsloom.credits import credits
from newsloom.errors import InputError, NewsloomError
from newsloom.store.base import Store
from newsloom.types import Story

__all__ = ["FORMATS", "ExportFormat", "ExportReport", "export", "iter_export_stories"]

ExportFormat = Literal["jsonl", "markdown", "html", "atom"]
FORMATS: tuple[str, ...] = ("jsonl", "markdown", "html", "atom")
_MANIFEST = "manifest.json"
_GENERATOR = "newsloom export"
_PAGE = 200
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


@dataclass(slots=True)
class ExportReport:
    """What an export wrote."""

    format: str
    out: Path
    stories: int = 0
    articles: int = 0
    files: int = 0
    pages: list[str] = field(default_factory=list)  # html: the addresses rendered
    missing: list[str] = field(default_factory=list)  # html: linked addresses the app refused

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "out": str(self.out),
            "stories": self.stories,
            "articles": self.articles,
            "files": self.files,
        }


class ExportWriter:
    """Writes files under a root directory and counts them."""

    def __init__(self, root: Path, report: ExportReport) -> None:
        self.root = root
        self.report = report

    def path(self, relative: str) -> Path:
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def text(self, relative: str, content: str) -> None:
        self.path(relative).write_text(content, encoding="utf-8")
        self.report.files += 1

    def binary(self, relative: str, content: bytes) -> None:
        self.path(relative).write_bytes(content)
        self.report.files += 1


def _name(item_id: str) -> str:
    """An id usable as a file name (ids are hex; anything else is refused)."""
    if not _SAFE_NAME.fullmatch(item_id):
        raise NewsloomError(f"cannot export an item whose id is not a safe file name: {item_id!r}")
    return item_id


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def iter_export_stories(store: Store, since: datetime | None = None) -> Iterator[Story]:
    """Every live story updated at or after ``since``, most recently updated first.

    A naive ``since`` is taken as UTC.
    """
    # The store compares stored text, and stored times keep the offset they came
    # with: ask from a day early and compare real times here.
    asked = None if since is None else _aware(since).astimezone(UTC) - timedelta(days=1)
    offset = 0
    while True:
        page = store.iter_stories(since=asked, limit=_PAGE, offset=offset)
        for story in page:
            if since is None or (story.updated and _aware(story.updated) >= _aware(since)):
                yield story
        if len(page) < _PAGE:
            return
        offset += _PAGE


# -- jsonl -------------------------------------------------------------------


def _nodes(tree: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for node in tree:
        yield node
        yield from _nodes(node["derived"])


def story_record(store: Store, story: Story) -> dict[str, Any]:
    """The ``stories.jsonl`` object of one story (shape in the module docstring)."""
    edges = store.story_provenance(story.id)
    tree = provenance_tree(story.article_ids, edges)
    placed = {node["article_id"]: node for node in _nodes(tree)}
    articles = []
    for article_id in story.article_ids:
        article = store.get_article(article_id)
        if article is None:
            continue
        node = placed.get(article_id, {})
        articles.append(
            {
                "id": article.id,
                "title": article.title,
                "url": article.url,
                "site_name": article.site_name,
                "authors": list(article.authors),
                "published": article.published.isoformat() if article.published else None,
                "relation": node.get("relation", "independent"),
                "source_id": node.get("source_id"),
                "attributed": node.get("attributed"),
                "credits": [c.to_dict() for c in credits(article)],
            }
        )
    summary = store.story_summary(story.id)
    return {
        **story.to_dict(),
        "articles": articles,
        "provenance": [e.to_dict() for e in edges],
        "tree": tree,
        "conflicts": [c.to_dict() for c in store.story_conflicts(story.id)],
        "summary": summary.to_dict() if summary is not None else None,
    }


def _json_line(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n"


def _export_jsonl(
    store: Store, writer: ExportWriter, since: datetime | None, on_item: Callable[[str], None]
) -> None:
    report = writer.report
    member_ids: list[str] = []
    with writer.path("stories.jsonl").open("w", encoding="utf-8") as out:
        for story in iter_export_stories(store, since):
            out.write(_json_line(story_record(store, story)))
            member_ids += story.article_ids
            report.stories += 1
            on_item(story.id)
    report.files += 1
    with writer.path("articles.jsonl").open("w", encoding="utf-8") as out:
        if since is None:
            articles = store.iter_articles(limit=None, order="published", newest_first=True)
        else:
            articles = (a for i in dict.fromkeys(member_ids) if (a := store.get_article(i)))
        for article in articles:
            out.write(_json_line(article.to_dict()))
            report.articles += 1
    report.files += 1


# -- markdown ----------------------------------------------------------------


def _export_markdown(
    store: Store, writer: ExportWriter, since: datetime | None, on_item: Callable[[str], None]
) -> None:
    from newsloom.digest import md_escape, story_markdown
    from newsloom.formats import article_markdown

    report = writer.report
    index = ["# newsloom: stories", ""]
    written: set[str] = set()
    for story in iter_export_stories(store, since):
        story_file = f"stories/{_name(story.id)}.md"
        writer.text(
            story_file,
            story_markdown(store, story, link=lambda i: f"../articles/{_name(i)}.md"),
        )
        updated = story.updated.date().isoformat() if story.updated else "undated"
        title = md_escape(story.title) or "(untitled story)"
        index.append(f"- [{title}]({story_file}) · {updated} · {len(story.article_ids)} reports")
        for article_id in story.article_ids:
            article = store.get_article(article_id)
            if article is not None and article.id not in written:
                writer.text(f"articles/{_name(article.id)}.md", article_markdown(article))
                written.add(article.id)
        report.stories += 1
        on_item(story.id)
    if report.stories == 0:
        index.append("No stories.")
    writer.text("index.md", "\n".join(index) + "\n")
    report.articles = len(written)


# -- atom --------------------------------------------------------------------


def _export_atom(
    store: Store,
    writer: ExportWriter,
    since: datetime | None,
    on_item: Callable[[str], None],
    base_url: str,
) -> None:
    from newsloom.feeds import site_feed, story_feed

    report = writer.report
    stories = list(iter_export_stories(store, since))
    writer.text("feed.atom", site_feed(store, base_url, limit=max(len(stories), 1)))
    for story in stories:
        writer.text(f"story/{_name(story.id)}/feed.atom", story_feed(store, story.id, base_url))
        report.stories += 1
        report.articles += len(story.article_ids)
        on_item(story.id)


# -- the directory swap ------------------------------------------------------


def _is_replaceable(out: Path) -> bool:
    if not out.exists():
        return True
    if not out.is_dir():
        return False
    if not any(out.iterdir()):
        return True
    try:
        manifest = json.loads((out / _MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("generator") == _GENERATOR


def _swap_in(fresh: Path, out: Path) -> None:
    """Put the finished export at ``out``, removing an earlier one only afterwards."""
    if not out.exists():
        fresh.rename(out)
        return
    old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
    out.rename(old)
    try:
        fresh.rename(out)
    except OSError:
        old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def export(
    store: Store,
    out: Path,
    fmt: ExportFormat,
    *,
    base_url: str = "",
    since: datetime | None = None,
    on_item: Callable[[str], None] | None = None,
) -> ExportReport:
    """Write the stories (updated at or after ``since``) to the directory ``out``.

    ``fmt`` picks the layout (see the module docstring); ``base_url`` is where
    the export will be published (Atom links; absolute links in html pages to
    what a static site cannot serve, like search), "" for relative links.
    ``on_item`` is called with each story id once it is written.  Raises
    ``InputError`` for an unknown format or an ``out`` that is neither empty,
    new, nor an earlier export; on any error ``out`` is left untouched.
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    out = Path(out).absolute()
    if not _is_replaceable(out):
        raise InputError(
            f"{out} exists and is not a newsloom export: choose a new or empty directory"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    # A sibling of ``out``, so the final rename stays on one file system; made
    # with mkdir (not mkdtemp's 0700) so the published files keep normal modes.
    fresh = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    os.mkdir(fresh)
    report = ExportReport(format=fmt, out=out)
    writer = ExportWriter(fresh, report)
    progress = on_item or (lambda _id: None)
    try:
        if fmt == "jsonl":
            _export_jsonl(store, writer, since, progress)
        elif fmt == "markdown":
            _export_markdown(store, writer, since, progress)
        elif fmt == "atom":
            _export_atom(store, writer, since, progress, base_url)
        else:
            from newsloom.site import export_site

            export_site(store, writer, since, progress, base_url)
        manifest = {
            "generator": _GENERATOR,
            "format": fmt,
            "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "since": since.isoformat() if since else None,
            "base_url": base_url,
            **{k: v for k, v in report.to_dict().items() if k in ("stories", "articles")},
        }
        writer.text(_MANIFEST, json.dumps(manifest, indent=2) + "\n")
        _swap_in(fresh, out)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    return report
