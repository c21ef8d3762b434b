"""The bundled demo corpus: invented news in every input format, with ground truth.

``corpus_path()`` is the folder ``newsloom demo`` ingests; ``load_ground_truth()``
says what is in it (stories, who copied whom, planted conflicts, mojibake,
chrome).  Every event, place, person and outlet in it is fictional.  See
``README.md`` beside this file for the layout.
"""

from __future__ import annotations

import json
import tempfile
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

__all__ = ["corpus_path", "load_ground_truth", "resource_path"]


def _copy_tree(node: Traversable, target: Path) -> None:
    for child in node.iterdir():
        if child.is_dir():
            (target / child.name).mkdir()
            _copy_tree(child, target / child.name)
        else:
            (target / child.name).write_bytes(child.read_bytes())


@cache
def resource_path(name: str) -> Path:
    """A file or folder shipped in this package, as a real path on disk.

    An installed package is a plain folder and the path points into it.  When
    the package is imported from a zip archive the resource is copied once to
    a temporary folder, because callers walk the corpus with ordinary file
    APIs.
    """
    resource = files(__name__).joinpath(name)
    if isinstance(resource, Path):
        return resource
    scratch = Path(tempfile.mkdtemp(prefix="newsloom-demo-"))
    target = scratch / name
    if resource.is_dir():
        target.mkdir(parents=True)
        _copy_tree(resource, target)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(resource.read_bytes())
    return target


def corpus_path() -> Path:
    """The demo corpus folder: html/, text/, feeds/, archive/ and jsonl/."""
    return resource_path("corpus")


def load_ground_truth() -> dict[str, Any]:
    """The parsed ``ground_truth.json``; see README.md for its fields."""
    text = files(__name__).joinpath("ground_truth.json").read_text(encoding="utf-8")
    return json.loads(text)


def demo_articles() -> dict[str, Any]:
    """Every demo document extracted by newsloom, keyed as the ground truth keys it.

    Files are keyed by their path under the corpus folder, feed items, archive
    records and JSONL entries by their URL.  Raises if a document fails to
    extract, since the corpus is meant to be clean input.
    """
    from newsloom.pipeline import extract_pages
    from newsloom.read import read_sources
    from newsloom.settings import Settings
    from newsloom.types import Article

    corpus = corpus_path()
    by_key: dict[str, Article] = {}
    for item in extract_pages(read_sources([str(corpus)], Settings()), Settings()):
        if not isinstance(item, Article):
            raise RuntimeError(f"demo document failed to extract: {item.source}: {item.reason}")
        source = Path(item.source.split("#")[0])
        key = source.relative_to(corpus).as_posix() if source.is_absolute() else item.source
        by_key[key] = item
        if item.url:
            by_key[item.url] = item
    return {key: by_key[key] for key in load_ground_truth()["documents"]}
