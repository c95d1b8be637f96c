"""The verifier side in one package: what judges look at, how they ask, how answers are read.

A `StepScorer` looks at one draft step (a `StepView`) and returns a `Verdict`: a 0-9 score on
the same scale as the built-in judges, so ``threshold`` means the same whoever judges. The
judge node (`spec_graph.nodes.judge`) runs ``ctx.judge`` (set with
``SpeculativeReasoner(..., judge=...)``) or, by default, ``TargetJudge(judge_prompt)``, the
target's logprob judge in one of the registered formulations.

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

- `spec_graph.judging.view`: `StepView` and `OptionsView`, what a verifier looks at;
- `spec_graph.judging.contract`: the contract, `Verdict`, `StepScorer` and `JudgeSettings`;
- `spec_graph.judging.formulations`: `Judge`, the registry of judge prompts
  (`register_formulation`), `yes_no_score`, `likelihood_score`;
- `spec_graph.judging.digits`: `JudgeScore`, `score_from_logprobs` (reading a 0-9 digit);
- `spec_graph.judging.picker`: `OptionPicker`, `Selection`, `MAX_OPTIONS` (SCoT, best-of-n);
- `spec_graph.judging.target`: `TargetJudge`, the target's logprob judges;
- `spec_graph.judging.reward`: `RewardJudge`, a reward model or any scoring function;
- `spec_graph.judging.llm`: `LLMJudge` and its `StepGrade`, any LangChain chat model;
- `spec_graph.judging.arithmetic`: `ArithmeticJudge`, the calculator and its claim parser;
- `spec_graph.judging.combine`: `AllOf`, `AnyOf`, `Weighted`;
- `spec_graph.judging.default`: `default_judge`, the judge of a run that names none.
"""

from spec_graph.judging.arithmetic import ArithmeticJudge
from spec_graph.judging.combine import AllOf, AnyOf, Weighted
from spec_graph.judging.contract import JudgeSettings, StepScorer, Verdict
from spec_graph.judging.default import default_judge
from spec_graph.judging.digits import JudgeScore, score_from_logprobs
from spec_graph.judging.formulations import (
    FORMULATIONS,
    Judge,
    formulation_names,
    register_formulation,
)
from spec_graph.judging.llm import LLMJudge, StepGrade
from spec_graph.judging.picker import MAX_OPTIONS, OptionPicker, Selection
from spec_graph.judging.reward import RewardJudge
from spec_graph.judging.target import TargetJudge
from spec_graph.judging.view import OptionsView, StepView

__all__ = [
    "FORMULATIONS",
    "MAX_OPTIONS",
    "AllOf",
    "AnyOf",
    "ArithmeticJudge",
    "Judge",
    "JudgeScore",
    "JudgeSettings",
    "LLMJudge",
    "OptionPicker",
    "OptionsView",
    "RewardJudge",
    "Selection",
    "StepGrade",
    "StepScorer",
    "StepView",
    "TargetJudge",
    "Verdict",
    "Weighted",
    "default_judge",
    "formulation_names",
    "register_formulation",
    "score_from_logprobs",
]
