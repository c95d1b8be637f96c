"""spec-graph's OpenAI-compatible endpoint, mounted in LangGraph Server (``http.app``).

``/v1/chat/completions``, ``/v1/models``, ``/health`` and ``/ready`` (docs/serve.md) beside
the server's own routes, on the same port; the reasoner is built from the same settings as
the graphs, at startup, in a worker thread.
"""

from spec_graph import SpecGraphSettings
from spec_graph.servable import reasoner_from_settings
from spec_graph.serve import create_app

app = create_app(reasoner_from_settings, SpecGraphSettings().serve)
