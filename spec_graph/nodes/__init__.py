"""The shared node library every strategy wires into its graph.

A node is ``async (state, runtime) -> Command``: it reads the models and settings from
``runtime.context`` (a `SpecContext`) and returns its state update together with where the
chain goes next. Replace or wrap any of them (`spec_graph.build_graph`, or a strategy's
``build(...)`` overrides); the answer nodes return a plain update and end the run.

- context (`spec_graph.nodes.context`): `SpecContext`, the run's context, and what the nodes
  need of a strategy (`Routing`);
- steps (`spec_graph.nodes.steps`): `draft`, `judge`, `correct`, and `decide`, which a custom
  judge node ends with;
- routing (`spec_graph.nodes.routing`): `keep`, which every node that keeps a step ends with,
  and the routing after it;
- settings (`spec_graph.nodes.settings`): the settings models a strategy inherits to turn on
  a node's knob (`GatedSettings`, `SampledSettings`, `CandidateSettings`, ...);
- choices (`spec_graph.nodes.choices`): `draft_candidates` / `select_candidate` (best-of-n),
  `draft_chains` / `select_chain` (SCoT);
- answer (`spec_graph.nodes.answer`): `answer`, `target_answer`, `finish`;
- tools (`spec_graph.nodes.tools`): `run_tools`, which runs a kept step's tool calls;
- `conversation`: the one builder of the messages every node sends.
"""

from spec_graph.nodes.answer import answer, finish, target_answer
from spec_graph.nodes.choices import (
    DraftChain,
    draft_candidates,
    draft_chains,
    select_candidate,
    select_chain,
)
from spec_graph.nodes.context import (
    Routing,
    SpecContext,
    conversation,
    extract_boxed,
    stop_reason,
)
from spec_graph.nodes.routing import keep, next_node, start_condition, warming_up
from spec_graph.nodes.settings import (
    CandidateSettings,
    ChainSettings,
    GatedSettings,
    PipelinedSettings,
    SampledSettings,
)
from spec_graph.nodes.steps import (
    confident,
    correct,
    decide,
    draft,
    draft_candidate,
    draft_step,
    judge,
    step_request,
    write_target_step,
)
from spec_graph.nodes.tools import run_tools

__all__ = [
    "CandidateSettings",
    "ChainSettings",
    "DraftChain",
    "GatedSettings",
    "PipelinedSettings",
    "Routing",
    "SampledSettings",
    "SpecContext",
    "answer",
    "confident",
    "conversation",
    "correct",
    "decide",
    "draft",
    "draft_candidate",
    "draft_candidates",
    "draft_chains",
    "draft_step",
    "extract_boxed",
    "finish",
    "judge",
    "keep",
    "next_node",
    "run_tools",
    "select_candidate",
    "select_chain",
    "start_condition",
    "step_request",
    "stop_reason",
    "target_answer",
    "warming_up",
    "write_target_step",
]
