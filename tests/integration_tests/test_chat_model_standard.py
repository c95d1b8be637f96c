"""LangChain's standard integration tests, against real llama.cpp servers (tiny model)."""

from __future__ import annotations

from langchain_tests.integration_tests import ChatModelIntegrationTests

from spec_graph import ReasoningConfig, SamplingConfig, SpeculativeReasoningChatModel

GREEDY = SamplingConfig(temperature=0.0)


class TestSpeculativeReasoningChatModelIntegration(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[SpeculativeReasoningChatModel]:
        return SpeculativeReasoningChatModel

    @property
    def chat_model_params(self) -> dict:
        return {
            "profile": "tiny",
            "reasoning": ReasoningConfig(
                max_steps=3,
                max_step_tokens=64,
                token_budget=192,
                draft_sampling=GREEDY,
                target_sampling=GREEDY,
            ),
            "max_tokens": 128,
        }

    @property
    def has_tool_calling(self) -> bool:
        return True

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def tool_choice_value(self) -> str:
        # A 135M model rarely decides to call a tool by itself; "any" makes the target call
        # one (constrained decoding). Unforced tool use runs on the default profile in
        # test_chat_model_default.py.
        return "any"

    @property
    def has_structured_output(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def supports_model_override(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "spec-graph-override"
