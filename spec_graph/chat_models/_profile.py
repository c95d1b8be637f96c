"""The chat model's LangChain `ModelProfile`: what ``create_agent`` and others may rely on."""

from __future__ import annotations

from langchain_core.language_models import ModelProfile

from spec_graph.config import EndpointConfig

__all__ = ["EMBEDDED_N_CTX", "chat_profile"]

EMBEDDED_N_CTX = 8192
"""Context one chain has on the embedded servers `EmbeddedModels.shared` starts (a slot's)."""


def chat_profile(
    *, prebuilt: bool, draft: EndpointConfig | None, target: EndpointConfig | None
) -> ModelProfile:
    """Reasoning, tool calling and structured output, text only.

    Context limits where spec-graph serves the models itself (a role without an endpoint is
    embedded), none for your own endpoints or a ``prebuilt`` reasoner: spec-graph cannot know
    them.
    """
    profile = ModelProfile(
        text_inputs=True,
        image_inputs=False,
        audio_inputs=False,
        video_inputs=False,
        pdf_inputs=False,
        text_outputs=True,
        reasoning_output=True,
        tool_calling=True,
        tool_choice=True,
        tool_call_streaming=True,
        structured_output=True,
        temperature=True,
    )
    if not prebuilt:
        if draft is None or target is None:
            # Both models see the whole conversation; an embedded one holds EMBEDDED_N_CTX.
            profile["max_input_tokens"] = EMBEDDED_N_CTX
        if target is None:  # the reply is the target's; llama.cpp may fill the context
            profile["max_output_tokens"] = EMBEDDED_N_CTX
            profile["open_weights"] = True
    return profile
