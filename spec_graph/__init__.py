"""spec-graph: speculative reasoning as a LangGraph state machine.

A small draft model writes each reasoning step; the large target model judges it (one prefill,
one score token) and rewrites it only when the score is low.
"""

from spec_graph._version import __version__
from spec_graph.backends import (
    GenerateRequest,
    Generation,
    ModelBackend,
    NextToken,
    ScoreRequest,
    backend_for,
)
from spec_graph.chat_models import SpeculativeReasoningChatModel
from spec_graph.config import (
    EndpointConfig,
    ReasoningConfig,
    SamplingConfig,
    SpecGraphSettings,
)
from spec_graph.embedded import LOCAL_PROFILES, EmbeddedModels
from spec_graph.errors import (
    BackendError,
    EmbeddedServerError,
    ModelFetchError,
    RunTimeoutError,
    ServerUnavailableError,
    SpecGraphError,
    UserError,
)
from spec_graph.graph import build_graph
from spec_graph.hooks import Retrieve
from spec_graph.judging import (
    AllOf,
    AnyOf,
    ArithmeticJudge,
    LLMJudge,
    RewardJudge,
    StepScorer,
    TargetJudge,
    Verdict,
    Weighted,
)
from spec_graph.nodes import SpecContext
from spec_graph.reasoner import SpeculativeReasoner
from spec_graph.state import ContextItem, ReasoningResult, RunTotals, SpecState, Step
from spec_graph.strategies import (
    Strategy,
    StrategySettings,
    get_strategy,
    register_strategy,
    strategy_names,
)
from spec_graph.tools import ToolLimits
from spec_graph.usage import Usage

__all__ = [
    "LOCAL_PROFILES",
    "AllOf",
    "AnyOf",
    "ArithmeticJudge",
    "BackendError",
    "ContextItem",
    "EmbeddedModels",
    "EmbeddedServerError",
    "EndpointConfig",
    "GenerateRequest",
    "Generation",
    "LLMJudge",
    "ModelBackend",
    "ModelFetchError",
    "NextToken",
    "ReasoningConfig",
    "ReasoningResult",
    "Retrieve",
    "RewardJudge",
    "RunTimeoutError",
    "RunTotals",
    "SamplingConfig",
    "ScoreRequest",
    "ServerUnavailableError",
    "SpecContext",
    "SpecGraphError",
    "SpecGraphSettings",
    "SpecState",
    "SpeculativeReasoner",
    "SpeculativeReasoningChatModel",
    "Step",
    "StepScorer",
    "Strategy",
    "StrategySettings",
    "TargetJudge",
    "ToolLimits",
    "Usage",
    "UserError",
    "Verdict",
    "Weighted",
    "__version__",
    "backend_for",
    "build_graph",
    "get_strategy",
    "register_strategy",
    "strategy_names",
]
