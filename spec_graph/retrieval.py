"""`BM25Retriever`: a local, model-free LangChain retriever for context inside the reasoning loop.

Why BM25 and not embeddings: the context a reasoning step needs is mostly a fact, a formula or
a worked example that shares words with the problem (quantities, units, names). BM25 finds
those by keyword overlap with no model to download, no torch, no warm-up and microseconds per
query on a 2-core CPU; an embedding model (even MiniLM) would add hundreds of MB and a second
model process for no gain on such lookups. Any LangChain ``BaseRetriever`` (a vector store's
``as_retriever()``, an embedding service) plugs into the same hook (`spec_graph.hooks.Retrieve`)
when semantic search is what you need.

Scoring is `rank_bm25`'s Okapi BM25 (the ``retrieval`` extra), over lower-cased word tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, PrivateAttr

from spec_graph.errors import UserError

__all__ = ["BM25Retriever", "tokenize"]

_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")


def tokenize(text: str) -> list[str]:
    """Lower-cased words and numbers (``1,000`` and ``2.5`` stay one token)."""
    return _WORD.findall(text.lower())


class BM25Retriever(BaseRetriever):
    """The ``k`` best documents by BM25 score among those sharing a word with the query.

    Example::

        retriever = BM25Retriever.from_texts(["A dozen is 12.", "A week has 7 days."], k=1)
        retriever.invoke("How many eggs in two dozen?")  # [Document("A dozen is 12.")]
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    docs: list[Document] = Field(min_length=1)
    k: int = Field(default=2, ge=1)
    _index: Any = PrivateAttr(default=None)
    _tokens: list[set[str]] = PrivateAttr(default_factory=list)

    def model_post_init(self, context: Any, /) -> None:
        """Index the documents once (BM25 statistics over the whole collection)."""
        try:
            from rank_bm25 import BM25Okapi
        except ImportError as e:  # pragma: no cover - the extra is part of [test]
            msg = 'BM25Retriever needs rank-bm25: pip install "spec-graph[retrieval]"'
            raise UserError(msg) from e
        tokens = [tokenize(d.page_content) for d in self.docs]
        self._tokens = [set(t) for t in tokens]
        self._index = BM25Okapi([t or [""] for t in tokens])

    @classmethod
    def from_texts(
        cls,
        texts: Iterable[str],
        metadatas: Sequence[dict[str, Any]] | None = None,
        *,
        k: int = 2,
    ) -> BM25Retriever:
        """A retriever over plain texts (``metadatas[i]`` becomes document i's metadata)."""
        texts = list(texts)
        if not texts:
            raise UserError("BM25Retriever needs at least one document")
        metas = list(metadatas) if metadatas is not None else [{} for _ in texts]
        if len(metas) != len(texts):
            raise UserError(f"{len(texts)} texts but {len(metas)} metadatas")
        docs = [Document(page_content=t, metadata=m) for t, m in zip(texts, metas, strict=True)]
        return cls(docs=docs, k=k)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        words = tokenize(query)
        scores = self._index.get_scores(words)
        # Okapi IDF goes negative for words in most documents of a small collection, so a
        # document qualifies by sharing a word with the query, and the score only ranks.
        query_words = set(words)
        matching = [i for i, d in enumerate(self._tokens) if query_words & d]
        ranked = sorted(matching, key=lambda i: (-scores[i], i))
        return [self.docs[i] for i in ranked[: self.k]]
