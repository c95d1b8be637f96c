"""LangChain chat models over the speculative-reasoning graph (like a partner package).

`SpeculativeReasoningChatModel` (in ``base.py``) is a thin adapter over the framework-neutral
reply pipeline, `spec_graph.reply.reply_stream`; the private modules beside it convert
messages and events (``_messages``), build ``invoke``'s result (``_results``), bind tools and
schemas (``_structured``), keep the reasoning run out of the caller's callbacks
(``_isolation``) and count tokens with the target's tokenizer (``_tokens``).
"""

from spec_graph.chat_models.base import SpeculativeReasoningChatModel

__all__ = ["SpeculativeReasoningChatModel"]
