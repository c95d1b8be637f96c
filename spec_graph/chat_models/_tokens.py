"""Token counts with the served target model's own tokenizer, as the reply is counted.

LangChain's default (`BaseLanguageModel.get_token_ids`) needs ``transformers`` and counts
with GPT-2's tokenizer, which is not the model that reads the conversation: ``trim_messages``
and context checks then cut at the wrong place. The target's server tokenizes instead
(llama.cpp and vLLM ``POST /tokenize``, through the backend's `TokenPrompts`, the same client
token-exact continuation uses): text as the model's tokens, a conversation through the model's
chat template (its role markers and the opening of the assistant's turn counted, tools too).
A backend without a token API (not an OpenAI-compatible server, or a server family that has
none) falls back to LangChain's count.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from spec_graph._sync import run_sync
from spec_graph.backends import OpenAICompatibleBackend
from spec_graph.backends.openai.tokens import TokenPrompts
from spec_graph.chat_models._messages import to_wire

__all__ = ["TargetTokenCounts"]


class TargetTokenCounts(BaseChatModel):
    """``get_token_ids`` / ``get_num_tokens*`` by the target's server (see the module)."""

    def _token_backend(self) -> Any:
        """The backend that writes the reply (the chat model's target)."""
        raise NotImplementedError

    def _token_prompts(self) -> TokenPrompts | None:
        backend = self._token_backend()
        if not isinstance(backend, OpenAICompatibleBackend):
            return None
        return run_sync(backend.token_prompts())

    def get_token_ids(self, text: str) -> list[int]:
        """``text`` as the target model's token ids (no special tokens, as tiktoken's)."""
        prompts = None if self.custom_get_token_ids else self._token_prompts()
        if prompts is None:
            return super().get_token_ids(text)
        return run_sync(prompts.tokenize(text, special=False))

    def get_num_tokens_from_messages(
        self,
        messages: list[BaseMessage],
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool] | None = None,
    ) -> int:
        """The conversation's tokens as the target reads them: its chat template, with tools."""
        prompts = None if self.custom_get_token_ids else self._token_prompts()
        if prompts is None:
            return super().get_num_tokens_from_messages(messages, tools)
        schemas = [convert_to_openai_tool(t) for t in tools] if tools else None
        return len(run_sync(prompts.template_ids(to_wire(messages), schemas)))
