"""Jinja2 set-up: autoescaping everywhere, strict undefined, a few filters."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from newsloom.web.pages import highlight_pieces, snippet_pieces
from newsloom.web.security import safe_url

__all__ = ["env", "error_page", "render"]


def _date(value: str | None) -> str:
    """An ISO timestamp as "21 March 2023" (the day is what readers care about)."""
    if not value:
        return ""
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return value[:10]
    return f"{when.day} {when:%B %Y}"


def _percent(value: float) -> str:
    return f"{round(value * 100)}%"


def _plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


env = Environment(
    loader=PackageLoader("newsloom.web", "templates"),
    # Every value is escaped, always: article text comes from the open web.
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters.update(
    date=_date,
    percent=_percent,
    plural=_plural,
    safe_url=safe_url,
    highlight=highlight_pieces,
    snippet=snippet_pieces,
)


def render(template: str, **context: Any) -> str:
    return env.get_template(template).render(**context)


def error_page(path: str, status: int, message: str) -> tuple[bytes, str]:
    """The body of an error response: JSON for ``.json`` addresses, else a page."""
    if path.endswith(".json"):
        body = json.dumps({"error": {"status": status, "message": message}})
        return body.encode(), "application/json"
    titles = {
        400: "Bad request",
        404: "Not found",
        405: "Method not allowed",
        414: "Address too long",
        429: "Too many requests",
        500: "Server error",
    }
    html = render("error.html", status=status, title=titles.get(status, "Error"), message=message)
    return html.encode(), "text/html; charset=utf-8"
