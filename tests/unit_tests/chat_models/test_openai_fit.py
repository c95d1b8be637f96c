"""The chat model where a LangChain developer expects ``ChatOpenAI``'s behaviour (scripted fakes)."""

from __future__ import annotations

import pytest
from chat_fakes import fake_model
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import HumanMessage

from spec_graph import UserError

ADD = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Add two integers.",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        },
    },
}
MUL = {**ADD, "function": {**ADD["function"], "name": "mul", "description": "Multiply."}}


class LLMEnds(BaseCallbackHandler):
    """Records what ``on_llm_end`` is given (the ``LLMResult``)."""

    def __init__(self) -> None:
        self.results = []

    def on_llm_end(self, response, **kwargs):
        self.results.append(response)


# -- tool-call chunks ------------------------------------------------------------------------


def test_streamed_tool_call_chunks_count_from_zero_like_openai():
    calls = [{"name": "add", "args": {"a": 1, "b": 2}}, {"name": "mul", "args": {"a": 3, "b": 4}}]
    model, _, _ = fake_model(replies=(calls,))
    chunks = list(model.bind_tools([ADD, MUL]).stream("q"))
    indexes = [piece["index"] for c in chunks for piece in c.tool_call_chunks]
    assert indexes == [0, 1]  # after the reasoning, still from 0, as OpenAI numbers them
    full = sum(chunks[1:], chunks[0])
    assert [(c["name"], c["args"]) for c in full.tool_calls] == [
        ("add", {"a": 1, "b": 2}),
        ("mul", {"a": 3, "b": 4}),
    ]


def test_v1_content_blocks_keep_the_reasoning_and_each_call_apart():
    calls = [{"name": "add", "args": {"a": 1, "b": 2}}, {"name": "mul", "args": {"a": 3, "b": 4}}]
    model, _, _ = fake_model(replies=(calls,), output_version="v1")
    chunks = list(model.bind_tools([ADD, MUL]).stream("q"))
    full = sum(chunks[1:], chunks[0])
    assert [b["type"] for b in full.content] == ["reasoning", "tool_call", "tool_call"]
    assert [c["name"] for c in full.tool_calls] == ["add", "mul"]


# -- llm_output, model name, response id -----------------------------------------------------


def test_llm_output_has_openai_token_usage_and_the_model_name():
    model, _, _ = fake_model()
    ends = LLMEnds()
    result = model.generate([[HumanMessage("2+2?")]], callbacks=[ends])
    usage = result.generations[0][0].message.usage_metadata
    expected = {
        "prompt_tokens": usage["input_tokens"],
        "completion_tokens": usage["output_tokens"],
        "total_tokens": usage["total_tokens"],
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": usage["output_token_details"]["reasoning"]
        },
    }
    assert usage["total_tokens"] > 0
    assert result.llm_output["token_usage"] == expected
    assert result.llm_output["model_name"] == "fake-target"
    # what a callback handler is handed, per call, as with ChatOpenAI
    (end,) = ends.results
    assert end.llm_output["token_usage"] == expected
    assert end.llm_output["model_name"] == "fake-target"


def test_llm_output_of_several_conversations_adds_their_usage():
    model, _, _ = fake_model(
        steps=("", ""), scores=(), target_steps=(), replies=("one", "two words")
    )
    result = model.generate([[HumanMessage("a")], [HumanMessage("b c")]])
    usages = [g[0].message.usage_metadata for g in result.generations]
    total = result.llm_output["token_usage"]
    assert total["prompt_tokens"] == sum(u["input_tokens"] for u in usages)
    assert total["completion_tokens"] == sum(u["output_tokens"] for u in usages)
    assert total["total_tokens"] == sum(u["total_tokens"] for u in usages)
    assert result.llm_output["model_name"] == "fake-target"


def test_model_name_is_the_served_target_and_the_reply_has_a_response_id():
    model, _, _ = fake_model()
    msg = model.invoke("q")
    meta = msg.response_metadata
    assert meta["model_name"] == "fake-target"  # not the wrapper's "spec-graph"
    assert (meta["draft_model"], meta["target_model"]) == ("fake-draft", "fake-target")
    assert msg.id.startswith("chatcmpl-")
    assert meta["id"] == msg.id  # llm_output, copied into the metadata as for ChatOpenAI
    again, _, _ = fake_model()
    assert again.invoke("q").id != msg.id
    model, _, _ = fake_model()
    chunks = list(model.stream("q"))
    assert {c.id for c in chunks} == {chunks[0].id}
    assert chunks[0].id.startswith("chatcmpl-")
    assert chunks[-1].response_metadata["model_name"] == "fake-target"


# -- a tool call cut off by max_tokens -------------------------------------------------------


def test_a_forced_tool_call_cut_off_by_max_tokens_is_an_invalid_tool_call():
    model, _, _ = fake_model(replies=([{"name": "add", "args": {"a": 1, "b": 2}}],))
    msg = model.bind_tools([ADD], tool_choice="add").invoke("q", max_tokens=2)
    assert msg.response_metadata["finish_reason"] == "length"
    assert msg.content == ""  # not the call's JSON as text
    assert msg.tool_calls == []  # not a call with half its arguments
    (cut,) = msg.invalid_tool_calls
    assert (cut["name"], cut["args"], cut["id"]) == ("add", '{"a": 1, ', "call_0")
    assert "max_tokens" in cut["error"]


def test_a_call_finished_before_the_cut_stays_a_call():
    calls = [{"name": "add", "args": {"a": 1, "b": 2}}, {"name": "mul", "args": {"a": 3, "b": 4}}]
    model, _, _ = fake_model(replies=(calls,))
    msg = model.bind_tools([ADD, MUL]).invoke("q", max_tokens=6)
    assert msg.response_metadata["finish_reason"] == "length"
    assert [(c["name"], c["args"]) for c in msg.tool_calls] == [("add", {"a": 1, "b": 2})]
    assert [(c["name"], c["args"]) for c in msg.invalid_tool_calls] == [("mul", '{"a": 3, ')]


# -- parallel_tool_calls ---------------------------------------------------------------------


def test_bind_tools_parallel_tool_calls_false_is_sent_and_keeps_one_call():
    calls = [{"name": "add", "args": {"a": 1, "b": 2}}, {"name": "mul", "args": {"a": 3, "b": 4}}]
    model, _, target = fake_model(replies=(calls, calls))
    bound = model.bind_tools([ADD, MUL], parallel_tool_calls=False)
    msg = bound.invoke("q")
    assert [c["name"] for c in msg.tool_calls] == ["add"]  # the server wrote two
    reply = next(c for c in target.calls if c.kind == "stream_reply")
    assert reply.extra["parallel_tool_calls"] is False
    model, _, _ = fake_model(replies=(calls,))
    chunks = list(model.bind_tools([ADD, MUL], parallel_tool_calls=False).stream("q"))
    assert [p["index"] for c in chunks for p in c.tool_call_chunks] == [0]


def test_parallel_tool_calls_left_out_is_the_servers_default_and_unknown_args_still_fail():
    calls = [{"name": "add", "args": {"a": 1, "b": 2}}, {"name": "mul", "args": {"a": 3, "b": 4}}]
    model, _, target = fake_model(replies=(calls,))
    assert len(model.bind_tools([ADD, MUL]).invoke("q").tool_calls) == 2
    reply = next(c for c in target.calls if c.kind == "stream_reply")
    assert reply.extra["parallel_tool_calls"] is None
    with pytest.raises(UserError, match=r"unsupported arguments.*\['parallel_calls'\]"):
        model.bind_tools([ADD], parallel_calls=False).invoke("q")


# -- streaming=True / stream= ----------------------------------------------------------------


class Tokens(BaseCallbackHandler):
    """Records the reply's tokens as ``on_llm_new_token`` hands them over."""

    def __init__(self) -> None:
        self.tokens = []

    def on_llm_new_token(self, token, **kwargs):
        self.tokens.append(token)


async def test_streaming_true_makes_invoke_stream_its_tokens_to_callbacks():
    model, _, _ = fake_model(replies=("a b c",), streaming=True)
    handler = Tokens()
    assert model.invoke("q", config={"callbacks": [handler]}).content == "a b c"
    assert "".join(handler.tokens) == "a b c"
    model, _, _ = fake_model(replies=("a b c",), streaming=True)
    handler = Tokens()
    assert (await model.ainvoke("q", config={"callbacks": [handler]})).content == "a b c"
    assert "".join(handler.tokens) == "a b c"


def test_stream_per_call_is_langchains_switch_not_an_unknown_argument():
    model, _, _ = fake_model(replies=("a b",))
    handler = Tokens()
    assert model.invoke("q", stream=True, config={"callbacks": [handler]}).content == "a b"
    assert "".join(handler.tokens) == "a b"
    model, _, _ = fake_model(replies=("a b",), streaming=True)
    handler = Tokens()
    assert model.invoke("q", stream=False, config={"callbacks": [handler]}).content == "a b"
    assert handler.tokens == []  # stream=False wins over streaming=True, as in LangChain


# -- the inner reasoning graph stays inside ---------------------------------------------------

INNER = {"spec-graph:specreason", "LangGraph:specreason", "draft", "judge", "correct", "answer"}


def _names(events, kind):
    return {e["name"] for e in events if e["event"].startswith(kind)}


async def test_a_chains_astream_events_show_the_chat_model_not_its_reasoning_graph():
    from langchain_core.prompts import ChatPromptTemplate

    model, _, _ = fake_model(replies=("a b",))
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | model
    events = [e async for e in chain.astream_events({"q": "2+2?"}, version="v2")]
    assert _names(events, "on_chain") == {"RunnableSequence"}
    assert _names(events, "on_chat_model") == {"SpeculativeReasoningChatModel"}
    streamed = [e["data"]["chunk"].content for e in events if e["event"] == "on_chat_model_stream"]
    assert "".join(streamed) == "a b"
    assert not [e for e in events if "nostream" in e.get("tags", [])]


async def test_a_langgraph_nodes_events_show_the_chat_model_not_its_reasoning_graph():
    from langgraph.graph import START, MessagesState, StateGraph

    model, _, _ = fake_model(replies=("a b",))

    def llm(state: MessagesState) -> dict:  # a sync node: the model's sync path
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("llm", llm)
    builder.add_edge(START, "llm")
    app = builder.compile()
    events = [e async for e in app.astream_events({"messages": [("user", "hi")]}, version="v2")]
    assert not _names(events, "on_chain") & INNER
    assert _names(events, "on_chain") == {"LangGraph", "llm"}
    assert _names(events, "on_chat_model") == {"SpeculativeReasoningChatModel"}


def test_callback_handlers_of_a_chain_see_no_inner_chains():
    from langchain_core.prompts import ChatPromptTemplate

    class Chains(BaseCallbackHandler):
        def __init__(self) -> None:
            self.names = []

        def on_chain_start(self, serialized, inputs, **kwargs):
            self.names.append(kwargs.get("name"))

    handler = Chains()
    model, _, _ = fake_model()
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | model
    assert chain.invoke({"q": "2+2?"}, config={"callbacks": [handler]}).content
    assert not set(handler.names) & INNER
