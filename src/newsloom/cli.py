"""The ``newsloom`` command: a thin layer over the library.

Results go to standard output (JSON with ``--json``); progress, warnings and
errors go to standard error, so ``newsloom … --json | jq`` always works.
Exit codes: 0 success, 1 some inputs failed, 2 usage or configuration error.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from newsloom.errors import NewsloomError
from newsloom.formats import article_markdown, article_text, byline, citation_line
from newsloom.settings import Settings, load_settings
from newsloom.types import Article, Failure, Passage, Story

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="newsloom: clean, grouped, cross-checked news from feeds, sites, files and archives.",
)
show_app = typer.Typer(no_args_is_help=True, help="Show one stored item.")
app.add_typer(show_app, name="show")

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Store URL: sqlite:///path.db or postgresql://user@host/db "
        "(default ./newsloom.db or $NEWSLOOM_STORE).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
PrivateOption = Annotated[
    bool,
    typer.Option("--allow-private", help="Allow fetching loopback and private-network addresses."),
]
ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="TOML config file (default ./newsloom.toml).")
]


def _settings(config: Path | None = None, **overrides: Any) -> Settings:
    return load_settings(config, **overrides)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _table(*columns: str, title: str | None = None) -> Table:
    """A table whose long cells fold; ids never do, so they can be copied whole
    into ``newsloom show`` even from output 80 columns wide (a pipe, a file)."""
    table = Table(title=title)
    for column in columns:
        if column == "id":
            table.add_column(column, no_wrap=True)
        else:
            table.add_column(column, overflow="fold")
    return table


def _not_found(kind: str, ident: str, store_url: str) -> NoReturn:
    err.print(f"newsloom: no {kind} {ident!r} in {escape(store_url)}")
    raise typer.Exit(1)


def _report_failures(failures: list[Failure]) -> None:
    if not failures:
        return
    err.print(f"[bold red]{len(failures)} input(s) failed:[/]")
    for failure in failures:
        err.print(f"  [red]✗[/] {escape(failure.source)}: {escape(failure.reason)}")


@contextmanager
def _progress(label: str, unit: str = "pages") -> Iterator[Any]:
    """A spinner with a running count; silent when stderr is not a terminal."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed} " + unit),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    with progress:
        task = progress.add_task(label, total=None)
        yield lambda: progress.advance(task)


def _open(store: str | None, settings: Settings):
    from newsloom.store import open_store

    return open_store(store, settings=settings)


@app.command()
def extract(
    source: Annotated[str, typer.Argument(help="A file, folder, URL, feed, WARC or JSONL file.")],
    as_json: JsonOption = False,
    as_text: Annotated[bool, typer.Option("--text", help="Print only the clean text.")] = False,
    as_markdown: Annotated[bool, typer.Option("--markdown", help="Print Markdown.")] = False,
    allow_private: PrivateOption = False,
    config: ConfigOption = None,
) -> None:
    """Extract clean articles from SOURCE and print them (nothing is stored)."""
    from newsloom.pipeline import extract_pages
    from newsloom.read import read_sources

    if sum((as_json, as_text, as_markdown)) > 1:
        raise typer.BadParameter("choose one of --json, --text, --markdown")
    settings = _settings(config, allow_private=allow_private or None)
    articles: list[Article] = []
    failures: list[Failure] = []
    for item in extract_pages(read_sources([source], settings), settings):
        (failures if isinstance(item, Failure) else articles).append(item)

    if as_json:
        docs = [a.to_dict() for a in articles]
        if docs:
            _print_json(docs[0] if len(docs) == 1 else docs)
    else:
        for index, article in enumerate(articles):
            if index:
                sys.stdout.write("\n" + "─" * 40 + "\n\n")
            if as_text:
                sys.stdout.write(article_text(article))
            elif as_markdown:
                sys.stdout.write(article_markdown(article))
            else:
                _print_article(article)
    _report_failures(failures)
    if failures:
        raise typer.Exit(1)


def _print_article(article: Article) -> None:
    out.print(f"[bold]{escape(article.title or '(untitled)')}[/]")
    out.print(f"[dim]{escape(byline(article))}[/]")
    facts = [f"id {article.id}", f"{article.word_count} words"]
    if article.language:
        facts.append(f"language {article.language}")
    if article.stated_read_minutes is not None:
        facts.append(f"page says {article.stated_read_minutes} min read")
    if article.stated_views is not None:
        facts.append(f"{article.stated_views} views")
    if article.date_source:
        facts.append(f"date from {article.date_source}")
    out.print(f"[dim]{escape(' · '.join(facts))}[/]")
    if article.url:
        out.print(f"[dim]{escape(article.url)}[/]")
    out.print()
    for paragraph in article.paragraphs:
        out.print(escape(paragraph))
        out.print()
    if article.citations:
        out.print("[bold]Sources named by the page[/]")
        for citation in article.citations:
            out.print(f"  • {escape(citation_line(citation))}")
    if article.repairs:
        out.print("[bold]Repairs[/]")
        for repair in article.repairs:
            out.print(f"  • {escape(repair.kind)} ×{repair.count}: {escape(repair.detail)}")


@app.command()
def ingest(
    sources: Annotated[
        list[str], typer.Argument(help="Files, folders, URLs, feeds, sitemaps, WARC, JSONL.")
    ],
    store: StoreOption = None,
    feed: Annotated[
        bool, typer.Option("--feed", help="Treat URL sources as RSS/Atom feeds.")
    ] = False,
    sitemap: Annotated[
        bool, typer.Option("--sitemap", help="Treat URL sources as sitemaps.")
    ] = False,
    allow_private: PrivateOption = False,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Read, extract and store articles; unchanged pages are not stored twice."""
    from newsloom.pipeline import Pipeline

    settings = _settings(config, allow_private=allow_private or None)
    with _open(store, settings) as opened, _progress("Ingesting") as tick:
        report = Pipeline(opened, settings).ingest(
            sources, feed=feed, sitemap=sitemap, on_item=lambda _item: tick()
        )
        total = opened.count_articles()
    if as_json:
        _print_json({**report.to_dict(), "store": opened.url, "articles_in_store": total})
    else:
        err.print(
            f"{report.pages} page(s): [green]{report.new} new[/], {report.updated} updated, "
            f"{report.unchanged} unchanged, [red]{len(report.failures)} failed[/]; "
            f"{report.stories_started} new stories, {report.stories_joined} joined existing; "
            f"{report.stories_analysed} stories analysed, {report.conflicts} conflict(s) found; "
            f"{total} article(s) in {escape(opened.url)}"
        )
        _report_failures(report.failures)
    if report.failures:
        raise typer.Exit(1)


@app.command()
def articles(
    search: Annotated[str | None, typer.Option("--search", "-s", help="Full-text query.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    store: StoreOption = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """List stored articles, newest first, or search them."""
    settings = _settings(config)
    with _open(store, settings) as opened:
        if search is not None:
            hits = opened.search(search, limit=limit, offset=offset)
            rows = [(h.article, h.snippet) for h in hits]
        else:
            rows = [
                (a, None)
                for a in opened.iter_articles(limit=limit, offset=offset, order="published")
            ]
    if as_json:
        _print_json([_summary(a) | ({"snippet": s} if s is not None else {}) for a, s in rows])
        return
    if not rows:
        err.print("no articles" + (f" match {search!r}" if search else " stored yet"))
        return
    table = _table("id", "published", "site", "title")
    for article, snippet in rows:
        title = escape(article.title or "(untitled)")
        if snippet:
            title += f"\n[dim]{escape(snippet)}[/]"
        table.add_row(
            article.id,
            article.published.date().isoformat() if article.published else "",
            escape(article.site_name or ""),
            title,
        )
    out.print(table)


def _summary(article: Article) -> dict[str, Any]:
    return {
        "id": article.id,
        "url": article.url,
        "title": article.title,
        "site_name": article.site_name,
        "published": article.published.isoformat() if article.published else None,
        "word_count": article.word_count,
        "read_minutes": article.read_minutes,
    }


@show_app.command("article")
def show_article(
    article_id: Annotated[str, typer.Argument(help="Article id or a unique prefix of it.")],
    store: StoreOption = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Show one stored article."""
    settings = _settings(config)
    with _open(store, settings) as opened:
        article = opened.get_article(article_id)
        versions = opened.versions(article.id) if article else []
    if article is None:
        _not_found("article", article_id, opened.url)
    if as_json:
        _print_json(article.to_dict() | {"versions": len(versions)})
    else:
        _print_article(article)
        if len(versions) > 1:
            err.print(f"[dim]{len(versions)} stored versions[/]")


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def _parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date like 2026-03-02") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _story_row(story: Story, articles: dict[str, Article]) -> dict[str, Any]:
    sites = sorted(
        {a.site_name for i in story.article_ids if (a := articles.get(i)) and a.site_name}
    )
    return story.to_dict() | {"sites": sites}


@app.command()
def stories(
    since: Annotated[
        str | None, typer.Option("--since", help="Only stories updated on or after this date.")
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", "-s", help="Stories with an article matching this.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    store: StoreOption = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """List stories, most recently updated first."""
    settings = _settings(config)
    cutoff = _parse_since(since)
    with _open(store, settings) as opened:
        if search is not None:
            hits = opened.search(search, limit=limit * 5)
            owners = opened.stories_of([h.article.id for h in hits])
            found: dict[str, Story] = {}
            for hit in hits:
                story = opened.get_story(owners.get(hit.article.id, ""))
                recent = story and (cutoff is None or (story.updated and story.updated >= cutoff))
                if story and recent and story.id not in found:
                    found[story.id] = story
            listed = list(found.values())[offset : offset + limit]
        else:
            listed = opened.iter_stories(since=cutoff, limit=limit, offset=offset)
        ids = [i for story in listed for i in story.article_ids]
        articles = {i: a for i in dict.fromkeys(ids) if (a := opened.get_article(i))}
    rows = [_story_row(story, articles) for story in listed]
    if as_json:
        _print_json(rows)
        return
    if not rows:
        err.print("no stories" + (f" match {search!r}" if search else " yet"))
        return
    table = _table("id", "updated", "articles", "sites", "title")
    for row in rows:
        table.add_row(
            row["id"],
            (row["updated"] or "")[:10],
            str(row["size"]),
            escape(", ".join(row["sites"])),
            escape(row["title"]),
        )
    out.print(table)


@show_app.command("story")
def show_story(
    story_id: Annotated[str, typer.Argument(help="Story id or a unique prefix of it.")],
    store: StoreOption = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Show a story: its articles, why each belongs, near copies, provenance, conflicts."""
    from newsloom.analyse import provenance_tree

    settings = _settings(config)
    with _open(store, settings) as opened:
        story = opened.get_story(story_id)
        if story is None:
            _not_found("story", story_id, opened.url)
        members = {m.article_id: m for m in opened.story_members(story.id)}
        entries = []
        groups: dict[str, list[str]] = {}
        for article_id in story.article_ids:
            article = opened.get_article(article_id)
            duplicate = opened.duplicates_of(article_id)
            member = members.get(article_id)
            entry = {
                "id": article_id,
                "title": article.title if article else None,
                "site_name": article.site_name if article else None,
                "url": article.url if article else None,
                "published": article.published.isoformat()
                if article and article.published
                else None,
                "why": member.reasons if member else {},
                "duplicate": asdict(duplicate) if duplicate else None,
            }
            entries.append(entry)
            if duplicate and duplicate.match != "none":
                groups.setdefault(duplicate.group_id, [duplicate.group_id])
                if article_id not in groups[duplicate.group_id]:
                    groups[duplicate.group_id].append(article_id)
        edges = opened.story_provenance(story.id)
        conflicts = opened.story_conflicts(story.id)
        analysed_at = opened.story_analysed_at(story.id)
    data = story.to_dict() | {
        "articles": entries,
        "near_copy_groups": [{"group_id": g, "article_ids": ids} for g, ids in groups.items()],
        "analysed_at": _iso(analysed_at),
        "provenance": provenance_tree(story.article_ids, edges),
        "provenance_edges": [e.to_dict() for e in edges],
        "conflicts": [c.to_dict() for c in conflicts],
    }
    if as_json:
        _print_json(data)
        return
    out.print(f"[bold]{escape(story.title)}[/]")
    out.print(
        f"[dim]{story.size} articles · first seen {(data['first_seen'] or '?')[:10]}"
        f" · updated {(data['updated'] or '?')[:10]} · id {story.id}[/]"
    )
    for entry in entries:
        why = entry["why"]
        if why.get("new_story"):
            reason = "started the story"
        else:
            reason = f"similarity {why.get('score', 0):.2f}"
            if why.get("shared_entities"):
                reason += "; shares " + ", ".join(why["shared_entities"][:4])
        copy = entry["duplicate"]
        if copy and copy.get("match") not in (None, "none"):
            reason += f"; {copy['match']} copy of {copy.get('closest_id')}"
        out.print(
            f"  • {escape(entry['site_name'] or '?')} · {(entry['published'] or '')[:10]} · "
            f"{escape(entry['title'] or '(untitled)')} [dim]({entry['id']}: {escape(reason)})[/]"
        )
    if story.merged_from:
        out.print(f"[dim]merged from {', '.join(story.merged_from)}[/]")
    if story.split_from:
        out.print(f"[dim]split off {story.split_from}[/]")
    if story.split_off:
        out.print(f"[dim]split into this and {', '.join(story.split_off)}[/]")
    if analysed_at is None:
        out.print("[dim]provenance and cross-checks: not analysed yet (the next ingest does it)[/]")
        return
    titles = {e["id"]: f"{e['site_name'] or '?'} · {e['title'] or '(untitled)'}" for e in entries}
    out.print("\n[bold]Who reported it[/] [dim](originals first, what derives from them below)[/]")
    _print_tree(data["provenance"], titles, depth=1)
    out.print(f"\n[bold]{len(conflicts)} conflict(s)[/]")
    for conflict in data["conflicts"]:
        _print_conflict(conflict)


def _print_tree(nodes: list[dict[str, Any]], titles: dict[str, str], depth: int) -> None:
    for node in nodes:
        label = escape(titles.get(node["article_id"], node["article_id"]))
        relation = node["relation"].replace("_", " ")
        if node["source_id"] is not None:
            credit = "credits it" if node["attributed"] else "[yellow]no credit[/]"
            relation = f"{relation} ({credit})"
        indent = "  " * depth + ("└ " if depth > 1 else "• ")
        out.print(f"{indent}{label} [dim]{node['article_id'][:10]}[/] — {relation}")
        _print_tree(node["derived"], titles, depth + 1)


def _load_one(spec: str, settings: Settings, store_url: str | None) -> Article:
    """One article from a file, a URL or a stored article id (in that order)."""
    from newsloom.pipeline import extract_pages
    from newsloom.read import read_sources

    if Path(spec).exists() or spec.startswith(("http://", "https://")):
        found: list[Article] = []
        failures: list[Failure] = []
        for item in extract_pages(read_sources([spec], settings), settings):
            (failures if isinstance(item, Failure) else found).append(item)
        if failures and not found:
            raise typer.BadParameter(f"{spec}: {failures[0].reason}")
        if len(found) != 1:
            raise typer.BadParameter(f"{spec} holds {len(found)} articles; give exactly one")
        return found[0]
    with _open(store_url, settings) as opened:
        article = opened.get_article(spec)
        where = opened.url
    if article is None:
        raise typer.BadParameter(f"{spec!r} is not a file, a URL or an article id in {where}")
    return article


def _check_side(article: Article) -> dict[str, Any]:
    from newsloom.credits import credits

    named = credits(article)
    return _summary(article) | {
        "citations": [c.to_dict() for c in article.citations],
        "credits": [c.to_dict() for c in named],
        "uncredited": not named,
    }


def _swap(passage: Passage) -> Passage:
    return Passage(
        passage.b_start,
        passage.b_end,
        passage.a_start,
        passage.a_end,
        passage.b_text,
        passage.a_text,
        passage.score,
        passage.kind,
    )


@app.command()
def check(
    first: Annotated[str, typer.Argument(metavar="A", help="A file, URL or stored article id.")],
    second: Annotated[str, typer.Argument(metavar="B", help="A file, URL or stored article id.")],
    store: StoreOption = None,
    allow_private: PrivateOption = False,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Compare two articles: who copied whom, what they share, which facts disagree."""
    from newsloom.analyse import bounded
    from newsloom.check import check_pair
    from newsloom.trace import trace_pair

    settings = _settings(config, allow_private=allow_private or None)
    a = bounded(_load_one(first, settings, store), settings.analysis_max_chars)
    b = bounded(_load_one(second, settings, store), settings.analysis_max_chars)
    edge = trace_pair(a, b)
    # Provenance spans have the derived article on side a; the user's order may differ.
    as_given = [_swap(p) for p in edge.spans] if edge.derived_id != a.id else list(edge.spans)
    conflicts = check_pair(a, b, passages=as_given)
    source = None
    if edge.directed and edge.relation != "independent":
        source = "a" if edge.source_id == a.id and edge.derived_id != a.id else "b"
    data = {
        "a": _check_side(a),
        "b": _check_side(b),
        "relation": edge.relation,
        "source": source,
        "attributed": edge.attributed,
        "score": round(edge.score, 4),
        "passages": [p.to_dict() for p in as_given],
        "conflicts": [c.to_dict() for c in conflicts],
    }
    if as_json:
        _print_json(data)
        return
    _print_check(data)


def _print_check(data: dict[str, Any]) -> None:
    for side in ("a", "b"):
        art = data[side]
        out.print(
            f"[bold]{side.upper()}[/] {escape(art['title'] or '(untitled)')}"
            f" [dim]· {escape(art['site_name'] or '?')} · {(art['published'] or 'no date')[:10]}"
            f" · {art['id']}[/]"
        )
        if art["uncredited"]:
            out.print("   [yellow]names no source (uncredited)[/]")
        else:
            names = ", ".join(
                f"{c['name']} ({c['domain']})"
                if c["name"] and c["domain"]
                else c["name"] or c["url"]
                for c in art["credits"]
            )
            out.print(f"   credits {escape(names)}")
    relation = data["relation"]
    if data["source"] is None:
        out.print(
            f"\nRelation: {relation}" + (" (no copying found)" if relation == "independent" else "")
        )
    else:
        derived = "B" if data["source"] == "a" else "A"
        credit = "credits its source" if data["attributed"] else "does not credit its source"
        out.print(
            f"\nRelation: {derived} is a {relation.replace('_', ' ')} of {data['source'].upper()};"
            f" {derived} {credit}"
        )
    out.print(f"{len(data['passages'])} shared passage(s)")
    for passage in data["passages"][:5]:
        snippet = escape(passage["a"]["text"][:160])
        out.print(f"   [dim]{passage['kind']} {passage['score']:.2f}:[/] {snippet}")
    conflicts = data["conflicts"]
    out.print(f"\n[bold]{len(conflicts)} conflict(s)[/]")
    for conflict in conflicts:
        _print_conflict(conflict)


def _print_conflict(conflict: dict[str, Any]) -> None:
    out.print(
        f"  [red]{conflict['kind']}[/] [dim](confidence {conflict['confidence']:.2f})[/]"
        f" {escape(conflict['explanation'])}"
    )
    out.print(
        f"     [dim]{conflict['a']['article_id'][:10]}:[/] {escape(conflict['a']['sentence'])}"
    )
    out.print(
        f"     [dim]{conflict['b']['article_id'][:10]}:[/] {escape(conflict['b']['sentence'])}"
    )


def _load_many(sources: list[str], settings: Settings) -> list[Article]:
    """Every article the given files, folders and URLs hold; bad ones are reported."""
    from newsloom.pipeline import extract_pages
    from newsloom.read import read_sources

    found: list[Article] = []
    failures: list[Failure] = []
    for item in extract_pages(read_sources(sources, settings), settings):
        (failures if isinstance(item, Failure) else found).append(item)
    _report_failures(failures)
    if not found:
        raise typer.BadParameter("no article could be read from the given sources")
    return found


def _cited(sentences: list[Any], urls: dict[str, str | None]) -> list[dict[str, Any]]:
    rows = []
    for sentence in sentences:
        row = {"text": sentence.text, "article_id": sentence.article_id}
        row["url"] = urls.get(sentence.article_id)
        row["span"] = [sentence.start, sentence.end]
        if sentence.when is not None:
            row["when"] = sentence.when.isoformat()
        rows.append(row)
    return rows


@app.command()
def summarize(
    sources: Annotated[list[str], typer.Argument(help="Files, folders or URLs: one story.")],
    allow_private: PrivateOption = False,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Summarize the given articles as one story: every sentence cites its article."""
    from newsloom.analyse import bounded, pick_articles
    from newsloom.summarize import summarize_story
    from newsloom.trace import trace_story

    settings = _settings(config, allow_private=allow_private or None)
    articles = [
        bounded(a, settings.analysis_max_chars)
        for a in pick_articles(_load_many(sources, settings), settings.analysis_max_articles)
    ]
    summary = summarize_story(articles, provenance=trace_story(articles))
    urls = {a.id: a.url for a in articles}
    data = {
        "summary": _cited(summary.summary, urls),
        "key_points": _cited(summary.key_points, urls),
        "timeline": _cited(summary.timeline, urls),
        "articles": [_summary(a) for a in articles],
    }
    if as_json:
        _print_json(data)
        return
    numbers = {a.id: n for n, a in enumerate(articles, 1)}
    out.print("[bold]Summary[/]")
    out.print(
        " ".join(f"{escape(s['text'])} [{numbers[s['article_id']]}]" for s in data["summary"])
    )
    if data["key_points"]:
        out.print("\n[bold]What to know[/]")
        for point in data["key_points"]:
            out.print(f"  • {escape(point['text'])} [{numbers[point['article_id']]}]")
    if data["timeline"]:
        out.print("\n[bold]Timeline[/]")
        for entry in data["timeline"]:
            when = (entry.get("when") or "")[:16].replace("T", " ")
            out.print(f"  {when}  {escape(entry['text'])} [{numbers[entry['article_id']]}]")
    out.print("\n[bold]Sources[/]")
    for article in articles:
        where = article.url or article.source
        out.print(f"  [{numbers[article.id]}] {escape(byline(article))} — {escape(where or '')}")


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8000,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> None:
    """Serve the web app: stories, articles, search, feeds and a .json twin of every page."""
    from newsloom.web import serve as run_server

    settings = _settings(config)
    with _open(store, settings) as opened:  # fail here, cleanly, on a bad store URL
        url = opened.url
    err.print(f"Serving {escape(url)} at [bold]http://{host}:{port}/[/] (Ctrl+C stops)")
    run_server(url, host, port, settings)


@app.command()
def export(
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="jsonl, markdown, html (a static site) or atom.")
    ],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder to write.")],
    base_url: Annotated[
        str, typer.Option("--base-url", help="Where the export will be published (feed links).")
    ] = "",
    since: Annotated[
        str | None, typer.Option("--since", help="Only stories updated on or after this date.")
    ] = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Export stories with their articles, provenance, conflicts and summaries."""
    from newsloom.export import export as run_export

    if fmt not in ("jsonl", "markdown", "html", "atom"):
        raise typer.BadParameter(f"unknown format {fmt!r}: use jsonl, markdown, html or atom")
    settings = _settings(config)
    with _open(store, settings) as opened, _progress("Exporting", "items") as tick:
        report = run_export(
            opened,
            out_dir,
            fmt,  # type: ignore[arg-type]
            base_url=base_url,
            since=_parse_since(since),
            on_item=lambda *_: tick(),
        )
    if as_json:
        _print_json(report.to_dict())
    else:
        err.print(f"exported to {escape(str(out_dir))}: {escape(json.dumps(report.to_dict()))}")


@app.command()
def digest(
    day: Annotated[
        str | None, typer.Option("--day", help="The day (YYYY-MM-DD); default today.")
    ] = None,
    tz: Annotated[
        str, typer.Option("--tz", help="Time zone that sets the day's bounds, e.g. Europe/Paris.")
    ] = "UTC",
    base_url: Annotated[
        str, typer.Option("--base-url", help="Link stories and citations to this web app.")
    ] = "",
    store: StoreOption = None,
    config: ConfigOption = None,
) -> None:
    """Print the daily digest in Markdown: the day's stories with cited summaries."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from newsloom.digest import daily_digest

    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise typer.BadParameter(f"unknown time zone {tz!r}") from None
    when = _parse_since(day).date() if day else datetime.now(zone).date()
    settings = _settings(config)
    with _open(store, settings) as opened:
        sys.stdout.write(daily_digest(opened, when, tz=zone, base_url=base_url))


@app.command()
def recluster(
    store: StoreOption = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Rebuild every story from scratch, in the order articles were stored, and analyse each."""
    from newsloom.analyse import analyse_pending
    from newsloom.cluster import ClusterParams
    from newsloom.cluster import recluster as rebuild

    settings = _settings(config)
    with _open(store, settings) as opened:
        with _progress("Clustering", "articles") as _tick:
            decisions = rebuild(opened, ClusterParams(quiet_days=settings.story_quiet_days))
            total = opened.count_stories()
        with _progress("Tracing and checking stories", "stories") as tick:
            analysis = analyse_pending(
                opened,
                max_articles=settings.analysis_max_articles,
                max_chars=settings.analysis_max_chars,
                on_story=lambda _story: tick(),
            )
    summary = {
        "articles": len(decisions),
        "stories": total,
        "stories_analysed": analysis.stories,
        "conflicts": analysis.conflicts,
        "failures": [{"source": f.source, "reason": f.reason} for f in analysis.failures],
    }
    if as_json:
        _print_json(summary)
    else:
        err.print(
            f"{len(decisions)} article(s) placed in {total} stories; "
            f"{analysis.stories} analysed, {analysis.conflicts} conflict(s) found"
        )
        _report_failures(analysis.failures)
    if analysis.failures:
        raise typer.Exit(1)


@app.command()
def demo(
    store: Annotated[
        str,
        typer.Option(
            "--store", help="Where the demo store goes (sqlite:///... or postgresql://...)."
        ),
    ] = "sqlite:///newsloom-demo.db",
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the web app once ingested.")
    ] = True,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8000,
    config: ConfigOption = None,
) -> None:
    """Ingest the bundled demo corpus, show what newsloom made of it, and serve it."""
    from newsloom.demo import corpus_path
    from newsloom.pipeline import Pipeline

    settings = _settings(config)
    corpus = corpus_path()
    err.print(f"Ingesting the demo corpus from {escape(str(corpus))} …")
    with _open(store, settings) as opened, _progress("Ingesting") as tick:
        report = Pipeline(opened, settings).ingest([str(corpus)], on_item=lambda _i: tick())
        stored = list(opened.iter_articles(order="published", newest_first=False))
        story_rows = [
            (story, opened.story_provenance(story.id), opened.story_conflicts(story.id))
            for story in opened.iter_stories(limit=20)
        ]
    table = _table(
        "id", "published", "site", "title", "repairs", "sources named",
        title=f"{len(stored)} articles in {opened.url}",
    )  # fmt: skip
    for article in stored:
        table.add_row(
            article.id[:10],
            article.published.date().isoformat() if article.published else "",
            escape(article.site_name or ""),
            escape(article.title or "(untitled)"),
            escape(", ".join(sorted({r.kind for r in article.repairs}))),
            escape(", ".join(c.name or c.url or "" for c in article.citations)[:80]),
        )
    out.print(table)
    stories_table = _table(
        "id", "articles", "copies", "uncredited", "conflicts", "title",
        title=f"{len(story_rows)} stories",
    )  # fmt: skip
    for story, edges, conflicts in story_rows:
        copies = [e for e in edges if e.relation != "independent"]
        stories_table.add_row(
            story.id,
            str(story.size),
            str(len(copies)),
            str(sum(not e.attributed for e in copies)),
            str(len(conflicts)),
            escape(story.title),
        )
    out.print(stories_table)
    err.print(
        f"{report.new} new, {report.updated} updated, {report.unchanged} unchanged, "
        f"{len(report.failures)} failed; {report.stories_analysed} stories analysed, "
        f"{report.conflicts} conflict(s) found."
    )
    _report_failures(report.failures)
    if report.failures:
        raise typer.Exit(1)
    if serve_after:
        from newsloom.web import serve as run_server

        err.print(f"Serving the demo at [bold]http://{host}:{port}/[/] (Ctrl+C stops)")
        run_server(opened.url, host, port, settings)
        return
    # After `make demo` the command lives in .venv/bin, not on PATH.
    command = "newsloom" if shutil.which("newsloom") else os.path.relpath(sys.argv[0])
    err.print(
        f"Next: [bold]{escape(command)} serve --store {escape(opened.url)}[/]"
        f" or [bold]{escape(command)} show story <id> --store {escape(opened.url)}[/]"
    )


@contextmanager
def _spark_status(label: str) -> Iterator[Any]:
    """A spinner whose text is the Spark job's current stage; silent off a terminal."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    with progress:
        task = progress.add_task(label, total=None)
        yield lambda text: progress.update(task, description=f"{label}: {escape(text)}")


@app.command()
def batch(
    inputs: Annotated[
        list[str],
        typer.Argument(help="WARC, JSONL, HTML/text files or folders: local paths or Spark URIs."),
    ],
    out_dir: Annotated[str, typer.Option("--out", help="Folder (or URI) for the Parquet tables.")],
    master: Annotated[
        str | None,
        typer.Option("--master", help="Spark master URL (default local[*]; spark-submit's own)."),
    ] = None,
    partitions: Annotated[
        int | None, typer.Option("--partitions", min=1, help="Tasks per stage and shuffle width.")
    ] = None,
    analyse: Annotated[
        bool, typer.Option("--analyse/--no-analyse", help="Trace provenance and cross-check.")
    ] = True,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Process many pages on Apache Spark (same steps as ingest); write Parquet tables."""
    from newsloom.batch import BatchOptions, run_batch

    settings = _settings(config)
    options = BatchOptions(master=master, partitions=partitions, analyse=analyse)
    with _spark_status("Batch") as show:
        report = run_batch(inputs, out_dir, settings, options, show=show)
    if as_json:
        _print_json(report.to_dict())
    else:
        err.print(
            f"{report.files} file(s), {report.records} record(s): "
            f"[green]{report.articles} articles[/] ({report.exact_duplicates} exact and "
            f"{report.near_duplicates} near copies), {report.stories} stories, "
            f"{report.stories_analysed} analysed, {report.conflicts} conflict(s), "
            f"[red]{report.errors} error(s)[/] in {report.seconds:.1f}s; "
            f"tables in {escape(report.out)}"
        )
    # A bad record is data (the errors table), not a failed job.


@app.command()
def load(
    out_dir: Annotated[str, typer.Argument(help="A `newsloom batch` output folder.")],
    store: StoreOption = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Load the Parquet output of `newsloom batch` into a store (for serve, show, export)."""
    from newsloom.batch import load_output

    settings = _settings(config)
    with _open(store, settings) as opened, _progress("Loading", "articles") as tick:
        report = load_output(out_dir, opened, on_article=tick)
        total = opened.count_articles()
    if as_json:
        _print_json({**report.to_dict(), "store": opened.url, "articles_in_store": total})
    else:
        err.print(
            f"{report.articles} article(s), {report.stories} stories, "
            f"{report.analysed} analysed, {report.errors} error(s) loaded; "
            f"{total} article(s) in {escape(opened.url)}"
        )


def main() -> None:
    """Console entry point: one clean line and a non-zero exit on any expected error.

    Typer handles usage errors and exit codes itself (standalone mode); what
    reaches here is newsloom's own errors, which must not print a traceback.
    """
    try:
        app()
    except NewsloomError as exc:
        err.print(f"newsloom: error: {escape(str(exc))}")
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("interrupted; work committed so far is kept")
        sys.exit(130)
