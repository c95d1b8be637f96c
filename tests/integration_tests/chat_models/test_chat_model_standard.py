"""LangChain's standard integration tests, against real llama.cpp servers (tiny model)."""

from __future__ import annotations

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.integration_tests import ChatModelIntegrationTests

from spec_graph import ReasoningConfig, SamplingConfig, SpeculativeReasoningChatModel

GREEDY = SamplingConfig(temperature=0.0)


TINY_LIMIT = (
    "SmolLM2-135M (the tiny CI model) cannot do this: {what}. The same standard test passes "
    "with the default profile: TestSpeculativeReasoningChatModelDefaultProfile (pytest -m slow)."
)


FORCED_CALL_LIMIT = TINY_LIMIT.format(
    what="reliably end a free-text string argument of a forced tool call: it sometimes loops "
    "inside the string until max_tokens and the call is cut off (flaky, so not strict)"
)


STRING_LOOP = (
    "end a free-text JSON string: greedy, it repeats a phrase inside one field until max_tokens, "
    "and the cut JSON parses only when the loop falls in the last field (flaky, so not strict)"
)


class _SpecGraphStandardTests(ChatModelIntegrationTests):
    """What spec-graph's chat model supports; subclasses pick the models."""

    @property
    def chat_model_class(self) -> type[SpeculativeReasoningChatModel]:
        return SpeculativeReasoningChatModel

    @property
    def has_tool_calling(self) -> bool:
        return True

    @property
    def has_tool_choice(self) -> bool:
        return True

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


class TestSpeculativeReasoningChatModelIntegration(_SpecGraphStandardTests):
    """The standard suite on the tiny profile (default test run)."""

    @property
    def chat_model_params(self) -> dict:
        return {
            "embedded_profile": "tiny",
            # The suite checks the LangChain contract, not a strategy: pinned to SpecReason, the
            # setting it passed CI with through issue 9. Under hand-off, CI's CPU (greedy output
            # differs across CPUs) kept a 135M draft step claiming "magic_function(3) is 1",
            # and the forced call copied that argument.
            "reasoning": ReasoningConfig(
                strategy="specreason",
                max_steps=3,
                max_step_tokens=64,
                token_budget=192,
                draft_sampling=GREEDY,
                target_sampling=GREEDY,
            ),
            "max_tokens": 128,
        }

    @property
    def tool_choice_value(self) -> str:
        # A 135M model rarely decides to call a tool by itself; "any" makes the target call
        # one (constrained decoding). Unforced tool use runs on the default profile below.
        return "any"

    @pytest.mark.xfail(
        reason=TINY_LIMIT.format(
            what="follow a JSON schema given only in the prompt (json_mode does not constrain to it)"
        )
    )
    def test_json_mode(self, model: BaseChatModel) -> None:
        super().test_json_mode(model)

    @pytest.mark.xfail(
        reason=TINY_LIMIT.format(what="decide on its own (tool_choice unset) to call a tool")
    )
    @pytest.mark.parametrize("model", [{}, {"output_version": "v1"}], indirect=True)
    def test_agent_loop(self, model: BaseChatModel) -> None:
        super().test_agent_loop(model)

    @pytest.mark.xfail(strict=False, reason=FORCED_CALL_LIMIT)
    def test_tool_choice(self, model: BaseChatModel) -> None:
        super().test_tool_choice(model)

    @pytest.mark.xfail(strict=False, reason=FORCED_CALL_LIMIT)
    def test_bind_runnables_as_tools(self, model: BaseChatModel) -> None:
        super().test_bind_runnables_as_tools(model)

    # Greedy SmolLM2 loops inside the first free-text field of the schema ("no, no, no, ..." on
    # CI, and here in a fresh clone) or the second ("The answer is: The answer is: ...") until
    # max_tokens: the JSON is cut, and whether the lenient parser finds both fields is luck.
    @pytest.mark.xfail(strict=False, reason=TINY_LIMIT.format(what=STRING_LOOP))
    @pytest.mark.parametrize("schema_type", ["pydantic", "typeddict", "json_schema"])
    def test_structured_output(self, model: BaseChatModel, schema_type: str) -> None:
        super().test_structured_output(model, schema_type)

    @pytest.mark.xfail(strict=False, reason=TINY_LIMIT.format(what=STRING_LOOP))
    @pytest.mark.parametrize("schema_type", ["pydantic", "typeddict", "json_schema"])
    async def test_structured_output_async(self, model: BaseChatModel, schema_type: str) -> None:
        await super().test_structured_output_async(model, schema_type)

    @pytest.mark.xfail(strict=False, reason=TINY_LIMIT.format(what=STRING_LOOP))
    def test_structured_output_pydantic_2_v1(self, model: BaseChatModel) -> None:
        super().test_structured_output_pydantic_2_v1(model)

    @pytest.mark.xfail(reason=TINY_LIMIT.format(what="copy non-ASCII text into tool arguments"))
    def test_unicode_tool_call_integration(self, model: BaseChatModel, *args, **kwargs) -> None:
        super().test_unicode_tool_call_integration(model, *args, **kwargs)


@pytest.mark.slow
class TestSpeculativeReasoningChatModelDefaultProfile(_SpecGraphStandardTests):
    """The whole standard suite on the default profile (Qwen2.5-Coder 0.5B -> 1.5B), unforced tools.

    Opt-in: ``python -m pytest -m slow tests/integration_tests/chat_models/test_chat_model_standard.py``.
    """

    @property
    def chat_model_params(self) -> dict:
        return {
            "embedded_profile": "default",
            "reasoning": ReasoningConfig(
                max_steps=2,
                max_step_tokens=64,
                token_budget=128,
                draft_sampling=GREEDY,
                target_sampling=GREEDY,
            ),
            "max_tokens": 256,
        }
