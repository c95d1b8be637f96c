"""SpeculativeReasoningChatModel on scripted fake backends (graph logic, message handling)."""

from __future__ import annotations

import asyncio
import inspect

import pytest
from chat_fakes import SPECREASON, fake_model
from langchain_core.language_models import ModelProfile
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from pydantic import BaseModel, ValidationError

from spec_graph import (
    EmbeddedModels,
    EndpointConfig,
    ReasoningConfig,
    SpeculativeReasoner,
    SpeculativeReasoningChatModel,
    UserError,
    build_graph,
    nodes,
)
from spec_graph.reply import REASONING_INSTRUCTION, REPLY_INSTRUCTION
from spec_graph.state import Candidate
from spec_graph.strategies import Strategy, StrategySettings, register_strategy
from spec_graph.testing import ScriptedFakeBackend


def test_invoke_returns_reply_reasoning_usage_and_metadata():
    model, _, _ = fake_model()
    msg = model.invoke("What is 2+2?")
    assert isinstance(msg, AIMessage)
    assert msg.content == "The answer is 4."
    assert msg.additional_kwargs["reasoning_content"] == "Think one.\n\nFixed two.\n\n"
    kinds = [b["type"] for b in msg.content_blocks]
    assert kinds == ["reasoning", "text"]
    assert msg.usage_metadata["input_tokens"] > 0
    assert msg.usage_metadata["output_tokens"] > 0
    assert (
        msg.usage_metadata["total_tokens"]
        == msg.usage_metadata["input_tokens"] + msg.usage_metadata["output_tokens"]
    )
    meta = msg.response_metadata
    assert meta["model_name"] == "fake-target"  # the served model, as ChatOpenAI reports
    assert meta["strategy"] == "specreason"
    assert meta["steps"] == 3
    assert meta["acceptance_rate"] == pytest.approx(1 / 2)
    assert meta["judge_calls"] == 2
    assert set(meta["usage_by_model"]) == {"draft", "target"}
    assert msg.id


def test_history_and_system_prompt_reach_both_models():
    model, draft, target = fake_model()
    model.invoke(
        [SystemMessage("Be brief."), HumanMessage("Hi"), AIMessage("Hello!"), HumanMessage("2+2?")]
    )
    sent = draft.calls[0].messages
    assert sent[0] == {"role": "system", "content": f"Be brief.\n\n{REASONING_INSTRUCTION}"}
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[2]["content"] == "Hello!"
    reply_call = next(c for c in target.calls if c.kind == "stream_reply")
    assert reply_call.messages[:4] == sent  # same prefix as the reasoning: cached
    assert reply_call.messages[-2] == {"role": "assistant", "content": "Think one.\n\nFixed two."}
    assert reply_call.messages[-1] == {"role": "user", "content": REPLY_INSTRUCTION}


def test_stream_reasoning_first_then_contiguous_text_then_last_chunk():
    model, _, _ = fake_model(replies=("one two three",))
    chunks = list(model.stream("q"))
    reasoning = [c for c in chunks if c.additional_kwargs.get("reasoning_content")]
    text = [c for c in chunks if c.content]
    assert chunks.index(reasoning[-1]) < chunks.index(text[0])
    assert "".join(c.content for c in text) == "one two three"
    assert chunks[-1].chunk_position == "last"
    assert [c for c in chunks if c.usage_metadata] == [chunks[-1]]
    full = chunks[0]
    for c in chunks[1:]:
        full = full + c
    assert [b["type"] for b in full.content_blocks].count("text") == 1


def test_callbacks_receive_tokens():
    from langchain_core.callbacks import BaseCallbackHandler

    class Collect(BaseCallbackHandler):
        def __init__(self):
            self.tokens = []

        def on_llm_new_token(self, token, **kwargs):
            self.tokens.append(token)

    handler = Collect()
    model, _, _ = fake_model(replies=("a b",))
    list(model.stream("q", config={"callbacks": [handler]}))
    assert "".join(handler.tokens) == "a b"


def test_tool_calls_are_returned_as_standard_tool_calls():
    model, _, target = fake_model(replies=([{"name": "add", "args": {"a": 2, "b": 2}}],))

    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    msg = model.bind_tools([add], tool_choice="any").invoke("2+2?")
    assert msg.tool_calls == [
        {"name": "add", "args": {"a": 2, "b": 2}, "id": "call_0", "type": "tool_call"}
    ]
    call = next(c for c in target.calls if c.kind == "stream_reply")
    assert call.extra["tool_choice"] == "required"
    assert call.extra["tools"][0]["function"]["name"] == "add"


def test_named_tool_choice_narrows_to_that_tool():
    model, _, target = fake_model(replies=([{"name": "b", "args": {}}],))

    def a() -> None:
        """Tool a."""

    def b() -> None:
        """Tool b."""

    model.bind_tools([a, b], tool_choice="b").invoke("q")
    call = next(c for c in target.calls if c.kind == "stream_reply")
    assert [t["function"]["name"] for t in call.extra["tools"]] == ["b"]
    with pytest.raises(UserError, match="not among the tools"):
        model.bind_tools([a], tool_choice="zzz")


def test_tool_messages_in_history_are_sent_as_tool_role():
    model, draft, _ = fake_model()
    history = [
        HumanMessage("2+2?"),
        AIMessage("", tool_calls=[{"name": "add", "args": {"a": 2, "b": 2}, "id": "c1"}]),
        ToolMessage("4", tool_call_id="c1"),
    ]
    model.invoke(history)
    sent = draft.calls[0].messages
    assert sent[-1] == {"role": "tool", "content": "4", "tool_call_id": "c1"}
    assert sent[-2]["tool_calls"][0]["function"]["name"] == "add"


class Answer(BaseModel):
    value: int


def test_structured_output_json_schema_with_raw():
    model, _, target = fake_model(replies=('{"value": 4}',))
    out = model.with_structured_output(Answer, include_raw=True).invoke("2+2?")
    assert out["parsed"] == Answer(value=4)
    assert out["parsing_error"] is None
    assert isinstance(out["raw"], AIMessage)
    call = next(c for c in target.calls if c.kind == "stream_reply")
    assert (
        call.extra["response_format"]["json_schema"]["schema"]["properties"]["value"]["type"]
        == "integer"
    )


def test_structured_output_function_calling():
    model, _, _ = fake_model(replies=([{"name": "Answer", "args": {"value": 4}}],))
    assert model.with_structured_output(Answer, method="function_calling").invoke("q") == Answer(
        value=4
    )


def test_per_call_overrides_reach_the_graph_and_reply():
    model, _draft, target = fake_model(steps=("a", ""), scores=(5,), target_steps=("t", ""))
    msg = model.invoke(
        "q", threshold=4, temperature=0.1, max_tokens=7, stop=["END"], model="my-trace-name"
    )
    assert msg.response_metadata["draft_steps"] == 1
    assert msg.response_metadata["model_name"] == "my-trace-name"
    call = next(c for c in target.calls if c.kind == "stream_reply")
    assert call.max_tokens == 7
    assert call.stop == ("END",)
    ls = model._get_ls_params(model="other", temperature=0.3)
    assert ls["ls_model_name"] == "other"
    assert ls["ls_provider"] == "spec-graph"


def test_unsupported_content_and_kwargs_are_clear_errors():
    model, _, _ = fake_model()
    image = HumanMessage(
        content=[{"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}]
    )
    with pytest.raises(UserError, match="only text content"):
        model.invoke([image])
    with pytest.raises(UserError, match="unsupported arguments"):
        model.invoke("q", frobnicate=1)


def test_text_content_blocks_are_accepted():
    model, draft, _ = fake_model()
    model.invoke(
        [
            HumanMessage(
                content=[{"type": "text", "text": "Hello"}, {"type": "text", "text": "there"}]
            )
        ]
    )
    assert "Hello" in draft.calls[0].messages[-1]["content"]


async def test_closing_the_stream_stops_the_reply():
    model, _, target = fake_model(replies=(" ".join(["w"] * 50),))
    target.delay_s = 0.001
    stream = model.astream("q")
    async for chunk in stream:
        if chunk.content:
            break
    await stream.aclose()
    await asyncio.sleep(0.05)
    assert target.closed_streams == 1


async def test_abatch_is_bounded_by_max_concurrency():
    draft = ScriptedFakeBackend("d", steps=[""] * 10)
    target = ScriptedFakeBackend("t", steps=[""] * 10, replies=["ok"] * 10, delay_s=0.01)
    active = peak = 0
    original = target.stream_reply

    async def counting(*args, **kwargs):
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        try:
            async for piece in original(*args, **kwargs):
                yield piece
        finally:
            active -= 1

    target.stream_reply = counting
    reasoner = SpeculativeReasoner(
        draft, target, SPECREASON, graph=build_graph(answer=nodes.finish)
    )
    model = SpeculativeReasoningChatModel(reasoner=reasoner, max_concurrency=2)
    out = await model.abatch(["q"] * 6)
    assert [m.content for m in out] == ["ok"] * 6
    assert peak == 2


def test_streamed_and_invoked_messages_agree():
    model, _, _ = fake_model(replies=("x y",))
    full = None
    for chunk in model.stream("q"):
        full = chunk if full is None else full + chunk
    assert isinstance(full, AIMessageChunk)
    assert full.content == "x y"
    assert full.additional_kwargs["reasoning_content"] == "Think one.\n\nFixed two.\n\n"


def test_as_a_langgraph_node_only_its_own_message_streams():
    from langgraph.graph import START, MessagesState, StateGraph

    model, _, _ = fake_model(replies=("hello there",))

    def llm(state: MessagesState) -> dict:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("llm", llm)
    builder.add_edge(START, "llm")
    app = builder.compile()
    seen = list(app.stream({"messages": [("user", "hi")]}, stream_mode="messages"))
    assert seen, "the chat model's tokens should stream through the outer graph"
    assert {meta["langgraph_node"] for _, meta in seen} == {"llm"}
    assert len({chunk.id for chunk, _ in seen}) == 1  # one message, not one per inner call
    text = "".join(chunk.content for chunk, _ in seen if isinstance(chunk.content, str))
    assert text == "hello there"
    updates = list(app.stream({"messages": [("user", "hi")]}, stream_mode="updates"))
    assert [list(u) for u in updates] == [["llm"]]
    # asked for: the inner speculate/judge/correct steps show up as a subgraph of the node
    model, _, _ = fake_model()  # a fresh script: the first runs used it up
    inner = list(app.stream({"messages": [("user", "hi")]}, stream_mode="updates", subgraphs=True))
    inner_nodes = {node for ns, update in inner if ns for node in update}
    assert {"draft", "judge"} <= inner_nodes
    assert all(ns[0].startswith("llm:") for ns, _ in inner if ns)


def test_bound_tools_are_shown_while_reasoning():
    model, draft, _ = fake_model(replies=([{"name": "multiply", "args": {"a": 2, "b": 3}}],))

    def multiply(a: float, b: float) -> float:
        """Multiply two numbers exactly."""
        return a * b

    model.bind_tools([multiply]).invoke("What is 2 times 3?")
    # the model chooses whether to call: the reasoning reaches the reply as notes in a user turn
    reply = next(c for c in model.reasoner.target.calls if c.kind == "stream_reply")
    assert reply.messages[-1]["role"] == "user"
    assert "<reasoning>" in reply.messages[-1]["content"]
    shown = draft.calls[0].extra["tools"]
    assert [t["function"]["name"] for t in shown] == ["multiply"]
    assert "tools you have been given" in draft.calls[0].messages[0]["content"]
    plain, plain_draft, _ = fake_model()
    plain.invoke("q")
    assert plain_draft.calls[0].extra["tools"] is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('<tool_call>\n{"name": "add", "arguments": {"a": 1}}\n</tool_call>', [("add", {"a": 1})]),
        ('```json\n{"name": "add", "arguments": {"a": 1}}\n```', [("add", {"a": 1})]),
        ('{{"name": "add", "arguments": {"a": 1}}}}', [("add", {"a": 1})]),
        ('{"name": "add", "arguments": "{\\"a\\": 1}"}', [("add", {"a": 1})]),
        ('{"name": "delete_everything", "arguments": {}}', []),
        ("The answer is 4.", []),
    ],
)
def test_text_tool_calls_are_parsed_only_for_bound_tools(text, expected):
    from spec_graph.backends.openai.text_tools import reply_tool_calls

    tools = [{"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}]
    assert [(c["name"], c["args"]) for c in reply_tool_calls(text, tools)] == expected


def test_text_tool_call_after_prose_with_doubled_braces():
    from spec_graph.backends.openai.text_tools import reply_tool_calls

    tools = [
        {"type": "function", "function": {"name": "multiply", "parameters": {"type": "object"}}}
    ]
    text = 'Here is the call:\n{{"name": "multiply", "arguments": {"a": 1234.5, "b": 67.8}}'
    assert [(c["name"], c["args"]) for c in reply_tool_calls(text, tools)] == [
        ("multiply", {"a": 1234.5, "b": 67.8})
    ]


def test_v1_ai_messages_in_history_keep_text_and_tool_calls_only():
    model, draft, _ = fake_model()
    ai = AIMessage(
        content=[
            {"type": "reasoning", "reasoning": "secret chain"},
            {"type": "text", "text": "Calling."},
            {"type": "tool_call", "id": "c1", "name": "add", "args": {"a": 1}},
        ],
        tool_calls=[{"name": "add", "args": {"a": 1}, "id": "c1"}],
    )
    model.invoke([HumanMessage("1+?"), ai, ToolMessage("2", tool_call_id="c1")])
    sent = draft.calls[0].messages
    assert sent[2]["content"] == "Calling."
    assert sent[2]["tool_calls"][0]["id"] == "c1"
    assert "secret chain" not in str(sent)


# -- strategies ------------------------------------------------------------------------------


def graphless_model(draft, target, **kw):
    """A chat model over a reasoner without a graph: each call uses its strategy's graph."""
    return SpeculativeReasoningChatModel(
        reasoner=SpeculativeReasoner(draft, target, SPECREASON), **kw
    )


def test_per_call_strategy_scot_with_its_own_option_and_telemetry():
    draft = ScriptedFakeBackend("d", steps=["Chain one says 4.", "Chain two says 5."])
    target = ScriptedFakeBackend("t", scores=[[("1", 0.0), ("2", -3.0)]], replies=["It is 4."])
    msg = graphless_model(draft, target).invoke("2+2?", strategy="scot", n=2)
    assert msg.content == "It is 4."
    assert msg.additional_kwargs["reasoning_content"] == "Chain one says 4.\n\n"
    meta = msg.response_metadata
    assert meta["strategy"] == "scot"
    assert meta["telemetry"]["chosen"] == 0
    assert meta["telemetry"]["rethought"] is False
    assert len(meta["telemetry"]["drafts"]) == 2
    assert draft.count("generate") == 2  # n=2 reached the strategy's options
    # the chat model writes the reply itself: no answer call by the strategy's answer node
    assert [c.kind for c in target.calls] == ["next_token", "stream_reply"]


def test_per_call_strategy_best_of_n_and_handoff():
    draft = ScriptedFakeBackend("d", steps=["a1", "a2", "", ""])
    target = ScriptedFakeBackend("t", scores=[[("2", 0.0)], [("1", 0.0)]], replies=["done"])
    model = graphless_model(draft, target)
    msg = model.invoke("q", strategy="best-of-n", k=2)
    assert msg.response_metadata["strategy"] == "best-of-n"
    assert msg.additional_kwargs["reasoning_content"].startswith("a2\n\n")
    assert draft.count("generate") == 4  # two steps of k=2 candidates
    draft = ScriptedFakeBackend("d", steps=["Wait, check.", ""])
    target = ScriptedFakeBackend("t", steps=["Checked.", ""], replies=["ok"])
    msg = graphless_model(draft, target).invoke("q", strategy="handoff", span_tokens=16)
    assert msg.response_metadata["strategy"] == "handoff"
    assert "Checked." in msg.additional_kwargs["reasoning_content"]


def test_strategy_in_the_constructor_and_options_dict_per_call():
    draft = ScriptedFakeBackend("d", steps=["x", ""], step_logprobs=[0.0, 0.0])
    target = ScriptedFakeBackend("t", replies=["ok"])
    model = SpeculativeReasoningChatModel(
        reasoner=SpeculativeReasoner(draft, target, ReasoningConfig(strategy="draft-only"))
    )
    assert model.invoke("q").response_metadata["strategy"] == "draft-only"
    draft = ScriptedFakeBackend("d", steps=["sure", ""], step_logprobs=[0.0, 0.0])
    target = ScriptedFakeBackend("t", replies=["ok"])
    msg = graphless_model(draft, target).invoke("q", options={"gate_logprob": -0.5})
    assert msg.response_metadata["gated_steps"] >= 1
    assert target.count("next_token") == 0  # confident steps skip the judge


def test_unknown_strategies_and_options_are_clear_errors():
    model, _, _ = fake_model()
    with pytest.raises(UserError, match="unknown strategy 'fastest'"):
        model.invoke("q", strategy="fastest")
    with pytest.raises(UserError, match=r"unsupported arguments.*\['k'\].*'specreason' takes"):
        model.invoke("q", k=2)  # best-of-n's setting, not specreason's
    with pytest.raises(UserError, match="invalid reasoning settings"):
        model.invoke("q", strategy="scot", n=99)
    # fake_model's reasoner has its own (specreason) graph: it cannot serve another strategy
    with pytest.raises(UserError, match="built for strategy 'specreason'"):
        model.invoke("q", strategy="scot")


class Shout(StrategySettings):
    loud: bool = False


async def shout_draft(state, runtime):
    ctx = runtime.context
    generation = await ctx.draft.generate(nodes.step_request(state, ctx, "draft"))
    text = generation.text.strip()
    if ctx.strategy.options(ctx.config).loud:
        text = text.upper()
    step = nodes.draft_step(state, Candidate(text=text, draft=generation.usage))
    return nodes.keep(state, step, ctx)


class ShoutingDraft(Strategy):
    name = "test-shouting-draft"
    summary = "the draft writes every step, loudly if asked (a strategy from outside)"
    Settings = Shout
    entries = ("draft",)

    def nodes(self):
        return {"draft": (shout_draft, ("draft", "answer")), "answer": (nodes.answer, ())}

    def first_node(self, state, ctx):
        return "draft"

    def next_node(self, state, ctx):
        return "draft"

    def telemetry(self, state):
        return {"shouted_steps": len(state.get("steps", []))}


@pytest.fixture
def shouting_strategy():
    from spec_graph import strategies

    strategy = register_strategy(ShoutingDraft(), replace=True)
    yield strategy
    strategies._REGISTRY.pop(strategy.name, None)  # leave the registry as it was


def test_a_strategy_registered_outside_the_library_runs_in_the_chat_model(shouting_strategy):
    draft = ScriptedFakeBackend("d", steps=["quiet words", ""])
    target = ScriptedFakeBackend("t", replies=["fine"])
    msg = graphless_model(draft, target).invoke("q", strategy=shouting_strategy.name, loud=True)
    assert msg.additional_kwargs["reasoning_content"] == "QUIET WORDS\n\n"
    assert msg.response_metadata["strategy"] == "test-shouting-draft"
    assert msg.response_metadata["telemetry"] == {"shouted_steps": 2}
    assert target.count("generate") == 0  # its answer node was replaced: the reply is ours


def test_endpoints_reach_models_through_backend_for():
    from spec_graph.backends import BACKENDS, register_backend

    fakes = {
        "d": ScriptedFakeBackend("d", steps=["one", ""]),
        "t": ScriptedFakeBackend("t", scores=[9], replies=["via backend_for"]),
    }
    register_backend("generic", lambda endpoint: fakes[endpoint.model])
    try:
        model = SpeculativeReasoningChatModel(
            draft=EndpointConfig(base_url="http://127.0.0.1:1/v1", model="d", server="generic"),
            target=EndpointConfig(base_url="http://127.0.0.1:1/v1", model="t", server="generic"),
        )
        msg = model.invoke("q")
    finally:
        BACKENDS.unregister("generic")  # undone after the test
    assert msg.content == "via backend_for"
    assert msg.response_metadata["draft_model"] == "d"


# -- LangChain's model profile, create_agent -------------------------------------------------


def test_create_agent_with_a_structured_response_format():
    from langchain.agents import create_agent

    model, _, target = fake_model(replies=('{"value": 4}',))
    agent = create_agent(model, tools=[], response_format=Answer)
    result = agent.invoke({"messages": [("user", "What is 2+2?")]})
    assert result["structured_response"] == Answer(value=4)
    call = next(c for c in target.calls if c.kind == "stream_reply")
    # the provider strategy (model.profile says structured_output): the server constrains it
    assert call.extra["response_format"]["type"] == "json_schema"
    assert call.extra["tools"] is None


def test_profile_is_a_langchain_model_profile(monkeypatch):
    for var in ("SPEC_GRAPH_DRAFT__BASE_URL", "SPEC_GRAPH_TARGET__BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    endpoint = EndpointConfig(base_url="http://127.0.0.1:1/v1", model="m")
    served = SpeculativeReasoningChatModel(draft=endpoint, target=endpoint)
    assert served.profile["structured_output"] is True
    assert served.profile["tool_calling"] is True
    assert served.profile["reasoning_output"] is True
    assert "max_input_tokens" not in served.profile  # your servers: spec-graph can't know
    assert set(served.profile) <= set(ModelProfile.__annotations__)
    embedded = SpeculativeReasoningChatModel()  # nothing starts before the first call
    defaults = inspect.signature(EmbeddedModels).parameters
    per_slot = defaults["n_ctx"].default // defaults["n_parallel"].default  # one chain's
    assert embedded.profile["max_input_tokens"] == per_slot
    assert embedded.profile["max_output_tokens"] == per_slot
    assert embedded.profile["structured_output"] is True
    mine = SpeculativeReasoningChatModel(profile={"max_input_tokens": 100})
    assert mine.profile == {"max_input_tokens": 100}


def test_deprecated_profile_keyword_still_names_the_embedded_profile():
    with pytest.warns(DeprecationWarning, match="embedded_profile='tiny'") as record:
        model = SpeculativeReasoningChatModel(profile="tiny")
    assert record[0].filename == __file__  # points at the caller, not at pydantic
    assert model.embedded_profile == "tiny"
    assert model.profile["structured_output"] is True
    assert model._identifying_params["embedded_profile"] == "tiny"
    with pytest.raises(ValidationError, match="disagree"):
        SpeculativeReasoningChatModel(profile="tiny", embedded_profile="default")


def test_embedded_profile_from_env_and_unknown_names(monkeypatch):
    monkeypatch.setenv("SPEC_GRAPH_PROFILE", "tiny")
    assert SpeculativeReasoningChatModel().embedded_profile == "tiny"
    assert SpeculativeReasoningChatModel(embedded_profile="default").embedded_profile == "default"
    with pytest.raises(ValidationError, match="unknown profile 'huge'"):
        SpeculativeReasoningChatModel(embedded_profile="huge")


@pytest.mark.parametrize(
    ("kwargs", "hint"),
    [
        ({"temprature": 0}, "did you mean 'temperature'"),
        ({"base_url": "http://gpu:8000/v1"}, "target=EndpointConfig(base_url="),
        ({"api_key": "sk-x", "timout": 3}, "did you mean 'timeout'"),
    ],
)
def test_unknown_constructor_arguments_are_refused_with_the_field_meant(kwargs, hint):
    # Issue 17: ignored, base_url=... silently downloaded and ran the 1.6 GB embedded default.
    with pytest.raises(ValueError, match="unknown arguments") as caught:
        SpeculativeReasoningChatModel(embedded_profile="tiny", **kwargs)
    assert hint in str(caught.value)
    assert "sk-x" not in str(caught.value)


def test_langchains_standard_timeout_retries_and_key_reach_both_endpoints():
    draft = EndpointConfig(base_url="http://127.0.0.1:1/v1", model="d")
    target = EndpointConfig(base_url="http://127.0.0.1:2/v1", model="t", api_key="sk-own")
    model = SpeculativeReasoningChatModel(
        draft=draft, target=target, timeout=3, max_retries=0, api_key="sk-shared"
    )
    assert "sk-shared" not in repr(model)
    reasoner = model._reasoner()  # built lazily; no server is contacted
    ends = [reasoner.draft.endpoint, reasoner.target.endpoint]
    assert [(e.timeout_s, e.max_retries) for e in ends] == [(3, 0), (3, 0)]
    keys = [e.api_key.get_secret_value() for e in ends]
    assert keys == ["sk-shared", "sk-own"]  # an endpoint's own key wins


def test_create_agent_with_tools_and_a_response_format_still_calls_the_tools():
    # Issue 17: the schema's grammar, bound together with the tools, constrained every reply
    # to the schema, so the agent never called its tool (and answered 83433.5, no error).
    from langchain.agents import create_agent
    from langchain_core.tools import tool

    ran: list[tuple[int, int]] = []

    @tool
    def multiply(a: int, b: int) -> int:
        """Multiply a by b."""
        ran.append((a, b))
        return a * b

    model, _, target = fake_model(
        steps=("Use the tool.", "", "It returned 8.", ""),
        scores=(9, 9),
        target_steps=(),
        replies=(
            [{"name": "multiply", "args": {"a": 2, "b": 4}}],  # tools offered, no schema
            "The product is 8.",  # a plain answer: replaced by one in the schema
            '{"value": 8}',
        ),
    )
    agent = create_agent(model, tools=[multiply], response_format=Answer)
    result = agent.invoke({"messages": [("user", "What is 2 times 4? Use the tool.")]})
    assert ran == [(2, 4)]
    assert result["structured_response"] == Answer(value=8)
    replies = [c for c in target.calls if c.kind == "stream_reply"]
    assert [bool(c.extra["tools"]) for c in replies] == [True, True, False]
    assert [c.extra["response_format"] is None for c in replies] == [True, True, False]
