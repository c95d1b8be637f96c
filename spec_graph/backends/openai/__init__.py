"""The OpenAI-compatible backend: one backend, many servers (vLLM, SGLang, llama.cpp, ...).

- `backend`: `OpenAICompatibleBackend`, the requests and their errors;
- `shapes`: the ``chat`` and ``completions`` request shapes;
- `wire`: reading responses into plain values (pure functions);
- `quirks`: `ServerQuirks` per server family, public data (`QUIRKS`);
- `text_tools`: tool calls for servers that return them as text;
- `tokens`: token-exact continuation (prompts as token ids, generations with their ids).
"""

from spec_graph.backends.openai.backend import OpenAICompatibleBackend
from spec_graph.backends.openai.quirks import (
    QUIRKS,
    RequestShape,
    ServerQuirks,
    quirks_for_owner,
)

__all__ = [
    "QUIRKS",
    "OpenAICompatibleBackend",
    "RequestShape",
    "ServerQuirks",
    "quirks_for_owner",
]
