"""The chat model in LangChain programs, on real llama.cpp servers.

LCEL, callbacks, astream_events, cancellation, every strategy per call and create_agent with a
structured response use the tiny model. The agent example with a tool (default profile) is the
README's, run by test_readme.py.
"""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from langchain.agents import create_agent
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from pydantic import BaseModel

from spec_graph import (
    EmbeddedModels,
    ReasoningConfig,
    SamplingConfig,
    SpeculativeReasoningChatModel,
)

GREEDY = SamplingConfig(temperature=0.0)
SHORT = ReasoningConfig(
    max_steps=3, max_step_tokens=64, token_budget=192, draft_sampling=GREEDY, target_sampling=GREEDY
)


@pytest.fixture
def tiny_chat(tiny) -> SpeculativeReasoningChatModel:
    return SpeculativeReasoningChatModel(
        draft=tiny.draft, target=tiny.target, reasoning=SHORT, max_tokens=64
    )


def test_lcel_prompt_model_parser(tiny_chat):
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You are terse."), ("human", "What is {a} + {b}?")]
    )
    chain = prompt | tiny_chat | StrOutputParser()
    out = chain.invoke({"a": 2, "b": 3})
    assert isinstance(out, str)
    assert out.strip()


def test_callbacks_receive_reasoning_and_reply_tokens(tiny_chat):
    class Collect(BaseCallbackHandler):
        def __init__(self) -> None:
            self.tokens: list[str] = []
            self.reasoning = 0

        def on_llm_new_token(self, token, *, chunk=None, **kwargs):
            self.tokens.append(token)
            if chunk is not None and chunk.message.additional_kwargs.get("reasoning_content"):
                self.reasoning += 1

    handler = Collect()
    msg = tiny_chat.invoke("Name a color.", config={"callbacks": [handler]})
    streamed = list(tiny_chat.stream("Name a color.", config={"callbacks": [handler]}))
    assert streamed
    assert "".join(handler.tokens).strip()
    assert handler.reasoning >= 1
    assert msg.content


async def test_astream_events_show_reasoning_then_answer(tiny_chat):
    kinds = []
    async for event in tiny_chat.astream_events("What is 2 + 2?", version="v2"):
        if event["event"] == "on_chat_model_stream":
            chunk = event["data"]["chunk"]
            if chunk.additional_kwargs.get("reasoning_content"):
                kinds.append("reasoning")
            elif chunk.content:
                kinds.append("text")
    assert "reasoning" in kinds
    assert "text" in kinds
    assert kinds.index("text") > max(i for i, k in enumerate(kinds) if k == "reasoning")


def _predicted_tokens(base_url: str) -> int:
    metrics = httpx.get(base_url.removesuffix("/v1") + "/metrics", timeout=10).text
    match = re.search(r"^llamacpp:tokens_predicted_total\s+(\d+(?:\.\d+)?)", metrics, re.M)
    assert match, metrics[:500]
    return int(float(match.group(1)))


@pytest.mark.parametrize("phase", ["reasoning", "reply"])
async def test_cancelling_the_stream_stops_generation_on_the_server(phase):
    # Own servers: the counters must not move because of anyone else.
    with EmbeddedModels("tiny", n_ctx=4096) as models:
        long = ReasoningConfig(
            max_steps=50,
            max_step_tokens=400,
            token_budget=4000,
            threshold=0,
            draft_sampling=GREEDY,
            target_sampling=GREEDY,
        )
        model = SpeculativeReasoningChatModel(
            draft=models.draft, target=models.target, reasoning=long, max_tokens=2000
        )
        stream = model.astream("Write a very long story about a dragon, in many paragraphs.")
        async for chunk in stream:
            if phase == "reasoning" and chunk.additional_kwargs.get("reasoning_content"):
                break
            if phase == "reply" and chunk.content:
                break
        await stream.aclose()
        await asyncio.sleep(1.0)  # the server notices the closed connection
        before = _predicted_tokens(models.target.base_url)
        await asyncio.sleep(2.0)
        after = _predicted_tokens(models.target.base_url)
        assert after == before, f"the server kept generating: {before} -> {after} tokens"


@pytest.mark.parametrize(
    ("strategy", "options"),
    [("scot", {"n": 2, "max_chain_tokens": 48}), ("handoff", {}), ("best-of-n", {"k": 2})],
)
def test_every_strategy_works_per_call(tiny_chat, strategy, options):
    msg = tiny_chat.invoke("What is 2 + 3?", strategy=strategy, **options)
    assert msg.content.strip()
    assert msg.response_metadata["strategy"] == strategy
    assert msg.response_metadata["steps"] >= 1
    assert msg.usage_metadata["output_tokens"] > 0
    if strategy == "scot":
        telemetry = msg.response_metadata["telemetry"]
        assert len(telemetry["drafts"]) == 2
        assert "rethought" in telemetry


class Sum(BaseModel):
    value: int


def test_create_agent_with_response_format(tiny_chat):
    # model.profile says structured_output: the agent asks for a json_schema reply, which
    # llama.cpp enforces with a grammar (even a 135M model then answers in the schema).
    agent = create_agent(tiny_chat, tools=[], response_format=Sum)
    result = agent.invoke({"messages": [("user", "What is 2 + 3?")]})
    assert isinstance(result["structured_response"], Sum)


def test_token_counts_are_the_target_servers_own(tiny_chat, tiny):
    # Counted by the target's llama.cpp server (POST /tokenize, its chat template), not by
    # LangChain's GPT-2 tokenizer, which needs transformers (not installed with spec-graph).
    from langchain_core.messages import HumanMessage, SystemMessage

    messages = [SystemMessage("You are terse."), HumanMessage("What is 2 + 3?")]
    counted = tiny_chat.get_num_tokens_from_messages(messages)
    reply = httpx.post(
        f"{tiny.target.base_url}/chat/completions",
        json={
            "model": tiny.target.model,
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "What is 2 + 3?"},
            ],
            "max_tokens": 1,
        },
        timeout=120,
    ).json()
    assert counted == reply["usage"]["prompt_tokens"]  # what the server itself counts
    assert 0 < tiny_chat.get_num_tokens("What is 2 + 3?") < counted
