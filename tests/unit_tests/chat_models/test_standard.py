"""LangChain's standard unit tests for chat models."""

from __future__ import annotations

from langchain_tests.unit_tests import ChatModelUnitTests

from spec_graph import EndpointConfig, SpeculativeReasoningChatModel


class TestSpeculativeReasoningChatModelUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[SpeculativeReasoningChatModel]:
        return SpeculativeReasoningChatModel

    @property
    def chat_model_params(self) -> dict:
        # Endpoints are only contacted on the first call; unit tests never make one.
        return {
            "draft": EndpointConfig(base_url="http://127.0.0.1:1/v1", model="draft"),
            "target": EndpointConfig(base_url="http://127.0.0.1:1/v1", model="target"),
        }

    @property
    def has_tool_calling(self) -> bool:
        return True

    @property
    def has_structured_output(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def init_from_env_params(self) -> tuple[dict, dict, dict]:
        env = {
            "SPEC_GRAPH_TARGET__BASE_URL": "http://127.0.0.1:8000/v1",
            "SPEC_GRAPH_TARGET__MODEL": "target-from-env",
            "SPEC_GRAPH_TARGET__API_KEY": "sk-from-env",
        }
        expected = {
            "target": EndpointConfig(
                base_url="http://127.0.0.1:8000/v1", model="target-from-env", api_key="sk-from-env"
            )
        }
        return env, {}, expected
