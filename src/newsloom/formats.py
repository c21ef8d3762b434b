"""Render articles as plain text and Markdown (CLI output, exports)."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from newsloom.types import Article, Citation

__all__ = ["article_markdown", "article_text", "byline", "citation_line"]


def byline(article: Article) -> str:
    """ "By A and B · Site · 2023-03-21 · 4 min read" with the parts that are known."""
    parts: list[str] = []
    if article.authors:
        parts.append("By " + " and ".join(article.authors))
    if article.site_name:
        parts.append(article.site_name)
    if article.published:
        parts.append(article.published.date().isoformat())
    parts.append(f"{article.read_minutes} min read")
    return " · ".join(parts)


def citation_line(citation: Citation) -> str:
    label = {
        "reference": "Reference",
        "summary_by": "Summary by",
        "attribution": "Attributed to",
        "link": "Links to",
    }.get(citation.kind, citation.kind)
    if citation.kind == "reference":
        return f"{label}: {citation.text}"
    target = citation.name or citation.url or ""
    if citation.url and citation.url != target:
        target = f"{target} <{citation.url}>"
    return f"{label}: {target}"


def article_text(article: Article) -> str:
    head = [article.title] if article.title else []
    return "\n\n".join([*head, *article.paragraphs]) + "\n"


def _md_escape(text: str) -> str:
    # Page text is untrusted: keep it from turning into Markdown links or HTML.
    for char in ("\\", "`", "*", "_", "[", "]", "<", ">", "#"):
        text = text.replace(char, "\\" + char)
    return text


def article_markdown(article: Article) -> str:
    lines: list[str] = []
    if article.title:
        lines += [f"# {_md_escape(article.title)}", ""]
    lines += [f"*{_md_escape(byline(article))}*", ""]
    for paragraph in article.paragraphs:
        lines += [_md_escape(paragraph), ""]
    if article.citations:
        lines += ["## Sources named by the page", ""]
        lines += [f"- {_md_escape(citation_line(c))}" for c in article.citations]
        lines.append("")
    if article.url:
        lines += [f"Original: {_md_url(article.url)}", ""]
    return "\n".join(lines)


# Characters a URL may keep as they are inside a Markdown autolink: no
# ``<``, ``>``, quotes, backticks, spaces or controls, which could end the
# link and let the rest of a hostile URL through as raw HTML.
_URL_SAFE = "/:?#[]@!$&()*+,;=%-._~"


def _md_url(url: str) -> str:
    if urlsplit(url).scheme.lower() not in {"http", "https"}:
        return _md_escape(url)  # not a link a reader should follow: plain text
    return f"<{quote(url, safe=_URL_SAFE)}>"
