"""BM25Retriever: a real retriever (rank_bm25 scoring) and its place in the graph."""

from __future__ import annotations

import pytest

from spec_graph import ReasoningConfig, SpeculativeReasoner, UserError, build_graph
from spec_graph.hooks import Retrieve
from spec_graph.retrieval import BM25Retriever, tokenize
from spec_graph.testing import ScriptedFakeBackend

FACTS = [
    "A dozen is 12 items.",
    "A week has 7 days.",
    "Mars has two moons, Phobos and Deimos.",
]


def test_tokens_keep_numbers_whole():
    assert tokenize("Pay $1,000.50 for 2.5 kg!") == ["pay", "1,000.50", "for", "2.5", "kg"]


def test_the_best_matching_documents_come_first_and_non_matching_never():
    retriever = BM25Retriever.from_texts(FACTS, [{"source": f"f{i}"} for i in range(3)], k=2)
    docs = retriever.invoke("How many eggs in one dozen?")
    assert [d.metadata["source"] for d in docs] == ["f0"]  # only one shares a word ("dozen")
    docs = retriever.invoke("moons of Mars and days in a week")
    assert {d.metadata["source"] for d in docs} == {"f1", "f2"}
    assert retriever.invoke("zebra") == []


def test_bad_input_is_a_user_error():
    with pytest.raises(UserError, match="at least one document"):
        BM25Retriever.from_texts([])
    with pytest.raises(UserError, match="2 texts but 1 metadatas"):
        BM25Retriever.from_texts(["a", "b"], [{}])


async def test_retrieved_text_reaches_the_draft_and_the_judge():
    retriever = BM25Retriever.from_texts(FACTS, k=1)
    graph = build_graph("specreason", before={"start": Retrieve(retriever=retriever)})
    draft = ScriptedFakeBackend("fake-draft", steps=["2 * 12 = 24 \\boxed{24}"])
    target = ScriptedFakeBackend("fake-target", scores=[9])
    config = ReasoningConfig(strategy="specreason", options={"gate_logprob": None})
    await SpeculativeReasoner(draft, target, config, graph=graph).ainvoke("Eggs in two dozen?")
    (drafted,) = draft.calls
    (judged,) = target.calls
    for call in (drafted, judged):
        user = next(m["content"] for m in call.messages if m["role"] == "user")
        assert "A dozen is 12 items." in user
        assert "Mars" not in user
