"""Step judges beyond the target's logprobs, all on one 0-9 contract, and their combinations.

A `StepScorer` looks at one draft step (a `spec_graph.judges.StepView`) and returns a
`Verdict`: a 0-9 score on the same scale as the built-in judges, so ``config.threshold`` means
the same whoever judges. The judge node (`spec_graph.nodes.judge`) runs ``ctx.judge`` (set with
``SpeculativeReasoner(..., judge=...)``) or, by default, ``TargetJudge(config.judge)``, which
is exactly the target's logprob judge of `spec_graph.judges`.

Why a contract of its own: the target's judge call is the expensive part of SpecReason on a
CPU (about as costly as the step it judges, see ``docs/bounds.md``), and a small target judges
poorly (AUROC ~0.57). Free or cheaper evidence (a calculator re-checking arithmetic, a reward
model, another LLM) is worth combining with it, and ``AllOf(..., cheap_first=True)`` lets a
free check veto a step before the target is asked at all.

Policies (one place, ``docs/judges.md`` "Custom judges"):

- ``score=None`` is no verdict and rejects the step, as with the logprob judges.
- ``abstain=True`` means the judge has nothing to say about this step (the arithmetic judge on
  a step without arithmetic). Combinations ignore abstentions. Alone, an abstaining verdict
  counts as its ``score``, which each judge that can abstain sets from its ``abstain_score``
  (default None: reject, since a judge that said nothing has not said the step is right;
  ``ArithmeticJudge(abstain_score=9)`` makes a lone calculator accept steps it cannot check).

Modules, one job each:

- `spec_graph.judging._contract`: the contract, `Verdict` and `StepScorer`;
- `spec_graph.judging.target`: `TargetJudge`, the target's logprob judges;
- `spec_graph.judging.reward`: `RewardJudge`, a reward model or any scoring function;
- `spec_graph.judging.llm`: `LLMJudge` and its `StepGrade`, any LangChain chat model;
- `spec_graph.judging.arithmetic`: `ArithmeticJudge`, the calculator and its claim parser;
- `spec_graph.judging.combine`: `AllOf`, `AnyOf`, `Weighted`;
- `spec_graph.judging.default`: `default_judge`, the judge of a run that names none.
"""

from spec_graph.judging._contract import StepScorer, Verdict
from spec_graph.judging.arithmetic import ArithmeticJudge
from spec_graph.judging.combine import AllOf, AnyOf, Weighted
from spec_graph.judging.default import default_judge
from spec_graph.judging.llm import LLMJudge, StepGrade
from spec_graph.judging.reward import RewardJudge
from spec_graph.judging.target import TargetJudge

__all__ = [
    "AllOf",
    "AnyOf",
    "ArithmeticJudge",
    "LLMJudge",
    "RewardJudge",
    "StepGrade",
    "StepScorer",
    "TargetJudge",
    "Verdict",
    "Weighted",
    "default_judge",
]
