"""The public API is exactly what `spec_graph.__all__` pins (a change here is a decision)."""

import spec_graph
import spec_graph.strategies

EXPECTED_ALL = [
    "LOCAL_PROFILES",
    "AllOf",
    "AnyOf",
    "ArithmeticJudge",
    "ContextItem",
    "LLMJudge",
    "Retrieve",
    "RewardJudge",
    "StepScorer",
    "TargetJudge",
    "ToolLimits",
    "Verdict",
    "Weighted",
    "BackendError",
    "EmbeddedModels",
    "EmbeddedServerError",
    "EndpointConfig",
    "GenerateRequest",
    "Generation",
    "ModelBackend",
    "ModelFetchError",
    "NextToken",
    "ReasoningConfig",
    "ReasoningResult",
    "RunTimeoutError",
    "RunTotals",
    "SamplingConfig",
    "ScoreRequest",
    "ServerUnavailableError",
    "SpecContext",
    "SpecGraphError",
    "SpecGraphSettings",
    "SpecState",
    "SpeculativeReasoner",
    "SpeculativeReasoningChatModel",
    "Step",
    "Strategy",
    "StrategySettings",
    "Usage",
    "UserError",
    "__version__",
    "backend_for",
    "build_graph",
    "get_strategy",
    "register_strategy",
    "strategy_names",
]


def test_all_is_pinned():
    assert sorted(spec_graph.__all__) == sorted(EXPECTED_ALL)
    for name in spec_graph.__all__:
        assert hasattr(spec_graph, name), name


def test_builtin_strategies_are_registered_in_order():
    assert spec_graph.strategy_names()[:6] == [
        "specreason",
        "target-only",
        "draft-only",
        "scot",
        "handoff",
        "best-of-n",
    ]
    for name in spec_graph.strategies.__all__:
        assert hasattr(spec_graph.strategies, name), name
