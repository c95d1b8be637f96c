"""``spec-graph serve``: an OpenAI-compatible HTTP endpoint over the reply pipeline.

The second front end over `spec_graph.reply` (the LangChain chat model is the first):
``POST /v1/chat/completions`` (streamed as SSE or not) with the reasoning in ``reasoning``
and ``reasoning_content``, ``GET /v1/models`` (one model per strategy,
``spec-graph/<strategy>``), ``GET /health`` and ``GET /ready``. Needs the ``server`` extra
(``pip install 'spec-graph[server]'``); ``import spec_graph`` never imports it.
See docs/serve.md.
"""

from __future__ import annotations

try:
    import fastapi  # noqa: F401
    import sse_starlette  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as e:  # pragma: no cover - depends on the install
    from spec_graph.errors import UserError

    raise UserError(
        f"spec-graph serve needs the server extra ({e.name} is missing): "
        "pip install 'spec-graph[server]'"
    ) from e

from spec_graph.config import ServeSettings
from spec_graph.serve.app import ReasonerSource, create_app
from spec_graph.serve.errors import ApiError
from spec_graph.serve.request import MODEL_PREFIX, model_id
from spec_graph.serve.runner import run_server

__all__ = [
    "MODEL_PREFIX",
    "ApiError",
    "ReasonerSource",
    "ServeSettings",
    "create_app",
    "model_id",
    "run_server",
]
