"""Stories as Markdown: one story's section, and the daily digest built from them.

Every piece of page text (titles, sentences, outlet names) goes through
``md_escape`` so it cannot become a link, an image or raw HTML in whatever
renders the Markdown; the only links are the ones written here, to newsloom's
own pages and to http(s) originals.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from urllib.parse import quote

from newsloom.analyse import provenance_tree
from newsloom.credits import credits
from newsloom.feeds import story_sentences, web_url, xml_text
from newsloom.store.base import Store
from newsloom.types import Article, Conflict, Story, SummarySentence

__all__ = ["ArticleLink", "daily_digest", "md_escape", "stories_between", "story_markdown"]

# Where a cited article links to: a path or URL for an article id, or None for
# plain text (the digest has no pages of its own to link to).
ArticleLink = Callable[[str], str | None]

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|!~&])")
_SPACES = re.compile(r"\s+")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PAGE = 200

_RELATION = {
    "duplicate": "duplicate of",
    "near_copy": "near copy of",
    "rewrite": "rewrite of",
    "summary": "summary of",
    "quotes": "quotes",
}


def md_escape(text: str | None) -> str:
    """One line of untrusted text, safe as Markdown inline text.

    Backslash-escapes what could start a link, image, emphasis, HTML tag, entity
    or table cell; line breaks collapse so a title cannot open a heading or a
    list; a leading "1." or "-" is escaped so it cannot become a list item.
    """
    line = _SPACES.sub(" ", xml_text(text)).strip()
    line = _MD_SPECIAL.sub(r"\\\1", line)
    return re.sub(r"^(\d+)\.", r"\1\\.", re.sub(r"^([-+=])", r"\\\1", line))


def _url(url: str | None) -> str | None:
    """An http(s) URL fit for ``<…>`` autolinks and ``(…)`` link targets."""
    safe = web_url(url)
    return quote(safe, safe=":/?#[]@!$&'*+,;=%~-._") if safe else None


def _no_link(_article_id: str) -> None:
    return None


def _day(value: datetime | None) -> str:
    return value.date().isoformat() if value and value != _EPOCH else "undated"


def _outlet(article: Article | None) -> str | None:
    """The outlet's name, else its web host; None when neither is known."""
    if article is None:
        return None
    from newsloom.extract.citations import registered_host

    return article.site_name or registered_host(article.url)


def _cited_name(article_id: str, by_id: dict[str, Article]) -> str:
    article = by_id.get(article_id)
    name = _outlet(article) or (article.title if article else None) or article_id[:12]
    return md_escape(name)


def _cite(sentence: SummarySentence, by_id: dict[str, Article], link: ArticleLink) -> str:
    name = _cited_name(sentence.article_id, by_id)
    target = link(sentence.article_id)
    cite = f"[{name}]({target})" if target else name
    return f"{md_escape(sentence.text)} ({cite})"


def _source_lines(
    node: dict, by_id: dict[str, Article], link: ArticleLink, depth: int
) -> Iterator[str]:
    article = by_id.get(node["article_id"])
    title = md_escape(article.title if article and article.title else node["article_id"])
    target = link(node["article_id"])
    head = f"[{title}]({target})" if target else title
    parts = [head]
    outlet = _outlet(article)
    if outlet:
        parts.append(md_escape(outlet))
    if article is not None and article.published is not None:
        parts.append(article.published.date().isoformat())
    relation = node["relation"]
    if relation in _RELATION:
        credited = "credited" if node["attributed"] else "**uncredited**"
        parts.append(f"{_RELATION[relation]} {_cited_name(node['source_id'], by_id)} ({credited})")
    else:
        parts.append(relation)
    if article is not None:
        named = [c.label() for c in credits(article)]
        if named:
            parts.append("names " + ", ".join(md_escape(n) for n in named))
        original = _url(article.url)
        if original:
            parts.append(f"<{original}>")
    yield "  " * depth + "- " + " · ".join(parts)
    for child in node["derived"]:
        yield from _source_lines(child, by_id, link, depth + 1)


def _conflict_lines(
    conflict: Conflict, by_id: dict[str, Article], link: ArticleLink
) -> Iterator[str]:
    yield f"- **{md_escape(conflict.kind)}**: {md_escape(conflict.explanation)}"
    for side in (conflict.a, conflict.b):
        name = _cited_name(side.article_id, by_id)
        target = link(side.article_id)
        cite = f"[{name}]({target})" if target else name
        yield f"  - {cite}: “{md_escape(side.sentence)}”"


def story_markdown(
    store: Store,
    story: Story,
    *,
    level: int = 1,
    link: ArticleLink = _no_link,
    story_link: str | None = None,
) -> str:
    """A story in Markdown: title, dates, cited summary, key points, timeline,
    sources (originals first, copies indented under them, credit flags) and
    conflicts (both sentences).

    ``level`` is the heading level of the title; ``link`` maps an article id
    to the link target of its citations; ``story_link`` makes the title a link.
    Without a stored summary the first original's lead sentences stand in,
    marked as such.
    """
    h = "#" * level
    articles = [a for i in story.article_ids if (a := store.get_article(i))]
    by_id = {a.id: a for a in articles}
    summary = store.story_summary(story.id)
    sentences, is_summary = story_sentences(store, story, summary, articles=articles)
    edges = store.story_provenance(story.id)
    conflicts = store.story_conflicts(story.id)

    title = md_escape(story.title) or "(untitled story)"
    lines = [f"{h} [{title}]({story_link})" if story_link else f"{h} {title}", ""]
    count = len(story.article_ids)
    lines += [
        f"*Updated {_day(story.updated)} · first seen {_day(story.first_seen)} · "
        f"{count} report{'s' if count != 1 else ''} · "
        f"{len(conflicts)} conflict{'s' if len(conflicts) != 1 else ''}*",
        "",
    ]
    if sentences:
        lines += [f"{h}# {'Summary' if is_summary else 'Lead'}", ""]
        lines += [f"- {_cite(s, by_id, link)}" for s in sentences]
        lines.append("")
    if summary is not None and summary.key_points:
        lines += [f"{h}# What to know", ""]
        lines += [f"- {_cite(s, by_id, link)}" for s in summary.key_points]
        lines.append("")
    if summary is not None and summary.timeline:
        lines += [f"{h}# Timeline", ""]
        for s in summary.timeline:
            when = s.when.date().isoformat() if s.when else "undated"
            lines.append(f"- **{when}**: {_cite(s, by_id, link)}")
        lines.append("")
    lines += [f"{h}# Sources", ""]
    for node in provenance_tree(story.article_ids, edges):
        lines.extend(_source_lines(node, by_id, link, 0))
    lines.append("")
    if conflicts:
        lines += [f"{h}# Conflicts", ""]
        for conflict in conflicts:
            lines.extend(_conflict_lines(conflict, by_id, link))
        lines.append("")
    return "\n".join(lines)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def stories_between(store: Store, start: datetime, end: datetime) -> list[Story]:
    """Live stories whose ``updated`` falls in ``[start, end)``, most recent first."""
    # The store compares stored text, and stored times keep the offset they came
    # with; start a day early and filter on real times so no offset is missed.
    since = (start - timedelta(days=1)).astimezone(UTC)
    found: list[Story] = []
    offset = 0
    while True:
        page = store.iter_stories(since=since, limit=_PAGE, offset=offset)
        found += [s for s in page if s.updated is not None and start <= _aware(s.updated) < end]
        if len(page) < _PAGE:
            break
        offset += _PAGE
    return sorted(found, key=lambda s: (_aware(s.updated or _EPOCH), s.id), reverse=True)


def daily_digest(store: Store, day: date, *, tz: tzinfo = UTC, base_url: str = "") -> str:
    """Markdown digest of the stories updated on ``day`` (midnight to midnight in ``tz``).

    Each story gets its cited summary (or its first original's lead
    sentences), its sources with credit flags and its conflicts; a day without
    stories gives a short document that says so.  With ``base_url`` (where the
    web app is served) story titles and citations link to its pages.
    """
    base = base_url.rstrip("/")
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    stories = stories_between(store, start, end)
    zone = getattr(tz, "key", None) or start.tzname() or str(tz)
    lines = [f"# newsloom digest: {day.isoformat()}", ""]
    if not stories:
        lines += [f"No stories were updated on {day.isoformat()} ({md_escape(zone)}).", ""]
        return "\n".join(lines)
    reports = sum(len(s.article_ids) for s in stories)
    lines += [
        f"{len(stories)} stor{'ies' if len(stories) != 1 else 'y'} updated on "
        f"{day.isoformat()} ({md_escape(zone)}), from {reports} reports.",
        "",
    ]
    lines += [f"- {md_escape(s.title) or '(untitled story)'}" for s in stories]
    lines.append("")
    for story in stories:
        lines.append(
            story_markdown(
                store,
                story,
                level=2,
                link=(lambda i: f"{base}/article/{quote(i, safe='')}") if base else _no_link,
                story_link=f"{base}/story/{quote(story.id, safe='')}" if base else None,
            )
        )
    return "\n".join(lines).rstrip("\n") + "\n"
