"""Features the story clusterer compares articles by.

* :mod:`newsloom.features.embed`: sentence embeddings of title and lead from a
  packaged ONNX model;
* :mod:`newsloom.features.entities`: named entities from a packaged spaCy model;
* :mod:`newsloom.features.terms`: word tokens, document frequencies and TF-IDF.

The submodules load their models lazily, so importing this package is cheap.
"""

from __future__ import annotations
