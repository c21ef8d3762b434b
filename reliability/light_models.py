"""``newsloom`` with small deterministic stand-ins for the models.

The crash harness kills and resumes ingest many times; with the packaged
embedding and spaCy models a few hundred pages cost half a minute a run, too
slow for the default test run.  This entry point runs the real CLI (reading,
extraction, store, dedup, story placement, analysis: every transaction and
every resume path) with the two model-backed functions swapped for stand-ins:
a hashed bag-of-words embedding and capitalised words as entities.  Person-name
tagging in cross-checks is off (``get_nlp`` gives no pipeline, as
``Checker(nlp=False)`` would).  ``python reliability/light_models.py ingest …`` takes the
same arguments as ``newsloom``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

__all__ = ["HashEmbedder", "install", "light_entities"]

_WORD = re.compile(r"[a-z0-9]+")
_NAME = re.compile(r"\b[A-Z][a-z]{3,}\b")
DIMENSIONS = 256


class HashEmbedder:
    """Unit vectors of hashed word counts: equal texts give equal vectors in any process."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                # md5, not hash(): str hashes are salted per process.
                slot = int.from_bytes(hashlib.md5(word.encode()).digest()[:4], "little")
                out[row, slot % DIMENSIONS] += 1.0
            norm = float(np.linalg.norm(out[row]))
            if norm:
                out[row] /= norm
        return out


def light_entities(texts: Sequence[str], **_: object) -> list[list[tuple[str, str]]]:
    """Capitalised words as ORG entities, in order of appearance."""
    return [[(word.lower(), "ORG") for word in _NAME.findall(text or "")] for text in texts]


def install() -> None:
    """Swap the model-backed functions for the stand-ins in this process."""
    from newsloom.features import embed, entities

    embedder = HashEmbedder()
    embed.get_embedder = lambda model=embed.DEFAULT_MODEL: embedder  # type: ignore[assignment]
    entities.entities = light_entities  # type: ignore[assignment]
    entities.get_nlp = lambda: None  # type: ignore[assignment]


def main() -> None:
    install()
    from newsloom.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
