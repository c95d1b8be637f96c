"""The graphs `langgraph.json` serves: the reasoning graph, and an agent over the chat model.

- ``reasoner``: `spec_graph.servable.servable_graph`; a run's ``context`` (endpoints, profile,
  strategy, options) is plain JSON, the rest comes from the server's ``SPEC_GRAPH_...`` env.
- ``agent``: ``langchain.agents.create_agent`` over `SpeculativeReasoningChatModel`, with the
  calculator: each model call reasons speculatively, then replies or calls the tool.

Both read the models from the environment: ``SPEC_GRAPH_DRAFT__BASE_URL`` /
``SPEC_GRAPH_TARGET__BASE_URL`` (and ``__MODEL``) for your servers, else the embedded pair of
``SPEC_GRAPH_PROFILE`` (``tiny`` for a quick try, ``default`` otherwise).
"""

from langchain.agents import create_agent

from spec_graph import SpeculativeReasoningChatModel
from spec_graph.servable import servable_graph
from spec_graph.tools import calculator

reasoner = servable_graph(name="reasoner")

agent = create_agent(
    SpeculativeReasoningChatModel(max_tokens=512),  # the reply's cap; reasoning has its own
    tools=[calculator],
    system_prompt="Use the calculator for any arithmetic.",
    name="agent",
)
