"""The per-run reasoning knobs: `ReasoningConfig`, its sampling, and the strategy registry.

What every strategy reads (budgets, delimiter, sampling, the tool schemas shown to the models)
is a `ReasoningConfig` field; what one strategy alone reads is that strategy's own settings,
given as ``options`` and validated once, by its settings model, when the config is made
(`ReasoningConfig.strategy_settings`). The registry of strategies lives here, not in
`spec_graph.strategies`, so that this module imports no graph code: the strategies register
themselves into it (`spec_graph.strategies.register_strategy`). `spec_graph.config`
re-exports everything here.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, Literal, Protocol

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_serializer,
    model_validator,
)

from spec_graph.errors import UserError
from spec_graph.registry import Registry

__all__ = [
    "SAMPLING_FIELDS",
    "STRATEGIES",
    "STRATEGY_KNOBS",
    "FrozenOptions",
    "JudgeName",
    "ReasoningConfig",
    "SamplingConfig",
    "ScoreMethod",
    "StrategyEntry",
    "setting_value",
]


JudgeName = str
"""A judge formulation: how the target is asked about a draft step. Built in: ``specreason``,
``yesno``, ``inline``, ``reviewer``, ``likelihood``; more with
`spec_graph.judging.register_formulation`, which is what a name is validated against."""

ScoreMethod = Literal["greedy", "average"]
"""``greedy``: the most probable digit; ``average``: expected value over the digit tokens."""


class SamplingConfig(BaseModel):
    """Sampling for writing a step (the judge always uses one greedy token)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    """Greedy by default: the default configuration was chosen on a frontier measured greedy
    (docs/frontier.md), and small models lose accuracy when sampled. SpecReason samples
    steps at 0.6; SCoT's and best-of-n's own ``temperature`` options diversify their drafts."""
    top_p: float = Field(default=0.95, gt=0.0, le=1.0)
    seed: int | None = None
    """Passed to the server; with temperature > 0 it makes reruns comparable."""


def setting_value(text: str) -> str | None:
    """A setting's value as written on a command line (``-o``, bench modes).

    ``none`` or ``off`` is None (``gate_logprob=none``); anything else stays text for the
    settings model to validate.
    """
    return None if text.lower() in ("none", "off") else text


class StrategyEntry(Protocol):
    """What configuration needs of a registered strategy: its name and its settings model."""

    @property
    def name(self) -> str:
        """The name a config selects it by."""
        ...

    @property
    def Settings(self) -> type[BaseModel]:
        """Its settings model, which validates ``ReasoningConfig.options``."""
        ...


STRATEGIES: Registry[StrategyEntry] = Registry("strategy")
"""Every registered strategy by name. Filled by `spec_graph.strategies.register_strategy`
(this module never imports the strategies: they depend on it, not the other way round); a
`ReasoningConfig` reads only each one's ``Settings``, to validate ``options`` once."""

STRATEGY_KNOBS = (
    "threshold",
    "judge_prompt",
    "judge",
    "score_method",
    "check_arithmetic",
    "pipeline",
)
"""Settings of the strategies that judge steps (SpecReason's `SpecReasonSettings`), which earlier
releases had as `ReasoningConfig` fields: given as fields they go to ``options``, where the
strategy's own settings validate them (``threshold`` with ``strategy="scot"`` is an error)."""

_RENAMED = {"tools": "tool_schemas"}


class FrozenOptions(dict[str, Any]):
    """A strategy's validated options: a dict that refuses every change (copy it to edit)."""

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            "ReasoningConfig.options is read-only: use config.with_overrides(...) for a "
            "changed copy"
        )

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenOptions, (dict(self),))

    def __copy__(self) -> FrozenOptions:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenOptions:
        return self  # immutable; its values are plain JSON data


class ReasoningConfig(BaseModel):
    """The per-run knobs of the speculate -> judge -> correct loop.

    Passed to the graph as its LangGraph ``context`` so one compiled graph serves runs with
    different thresholds or strategies. Immutable: ``options`` cannot change after
    validation, and the strategy's settings are validated once, here (`strategy_settings`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    strategy: str = "specreason"
    """A registered strategy (`spec_graph.strategies`): ``specreason``, ``scot``,
    ``handoff``, ``best-of-n``, ``target-only``, ``draft-only``, or one of your own.

    The default is chosen on the measured accuracy-latency frontier, quality first: the
    fastest speculative configuration no more than 2 points less accurate than the target
    alone, else the most accurate speculative one (docs/frontier.md; ``spec-graph tune``
    repeats the choice on your hardware). Measured here, none met the rule: the default,
    SpecReason with confidence gating, is slower and less accurate than ``target-only``."""
    options: dict[str, Any] = Field(default_factory=dict)
    """The strategy's own settings, validated by its settings model and then read-only:
    SpecReason's ``threshold``, ``judge_prompt``, ``score_method``, ``check_arithmetic``,
    ``pipeline`` and ``gate_logprob``, SCoT's ``n``, best-of-n's ``k``, ... The given ones
    only, typed ("3" from a command line becomes 3); all of them: `strategy_settings`."""
    judge_top_logprobs: int = Field(default=10, ge=1, le=20)
    """How many alternatives of the score token to read (digits outside them count as 0)."""
    warmup_steps: int = Field(default=0, ge=0)
    """The first N steps are always written by the target."""
    step_delimiter: str = Field(default="\n\n", min_length=1)
    max_step_tokens: int = Field(default=512, ge=1)
    token_budget: int = Field(default=4096, ge=1)
    """Total tokens of the reasoning chain; reasoning stops once it is spent."""
    max_steps: int = Field(default=64, ge=1, le=10_000)
    repetition_limit: int = Field(default=2, ge=2)
    """End the chain (stop reason ``repetition``) when its last steps are one cycle of 1 to 8
    steps written this many times in a row: A, A or A, B, C, A, B, C at the default 2."""
    answer_max_tokens: int = Field(default=64, ge=1)
    """When the chain ends without a boxed answer, the target writes at most this many."""
    run_timeout_s: float | None = Field(default=None, gt=0)
    """A deadline for the whole run, answer included (None: none). Each call to a server has
    its own (the endpoint's ``timeout_s``); this one bounds how long a caller waits in all,
    however many steps are left. Past it the run stops with `RunTimeoutError`."""
    draft_sampling: SamplingConfig = SamplingConfig()
    target_sampling: SamplingConfig = SamplingConfig()
    system_prompt: str | None = None
    """Optional system message for both models."""
    tool_schemas: list[dict[str, Any]] | None = None
    """OpenAI-format tool schemas shown to both models while reasoning (never called there),
    so the chain can plan tool calls; the chat model sets them from ``bind_tools``. Tools that
    run are ``SpeculativeReasoner(tools=...)``. (``tools=`` is the deprecated name.)"""

    _settings: BaseModel = PrivateAttr()

    @model_validator(mode="before")
    @classmethod
    def _moved_fields(cls, data: Any) -> Any:
        """Renamed fields (with a warning) and strategy knobs given as fields (to options)."""
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        for old, new in _RENAMED.items():
            if old in data:
                warnings.warn(
                    f"ReasoningConfig({old}=...) is deprecated: use {new}=",
                    DeprecationWarning,
                    stacklevel=4,
                )
                data.setdefault(new, data.pop(old))
        moved = {k: data.pop(k) for k in STRATEGY_KNOBS if k in data}
        if moved:
            data["options"] = {**dict(data.get("options") or {}), **moved}  # the field wins
        return data

    @model_validator(mode="after")
    def _check_strategy_and_options(self) -> ReasoningConfig:
        entry = STRATEGIES.find(self.strategy)
        if entry is None:
            raise ValueError(STRATEGIES.unknown(self.strategy))
        try:
            settings = entry.Settings.model_validate(dict(self.options))
        except ValidationError as e:
            known = ", ".join(entry.Settings.model_fields) or "none"
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()
            )
            raise ValueError(
                f"invalid options for strategy {self.strategy!r} ({problems}; known: {known})"
            ) from None
        # keep the typed values ("3" from a command line becomes 3), only the ones given
        typed = settings.model_dump(mode="json", exclude_unset=True)
        self.__dict__["options"] = FrozenOptions(typed)
        self._settings = settings
        return self

    @field_serializer("options", when_used="json")
    def _effective_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """In JSON, every setting of the strategy: the given ones and the defaults.

        So two configs that run the same way dump the same (``specreason threshold=8`` is
        ``specreason``); in Python (``model_dump()``) only the given ones.
        """
        settings = getattr(self, "_settings", None)
        if settings is None:
            return dict(options)
        return {**settings.model_dump(mode="json"), **dict(options)}

    @property
    def strategy_settings(self) -> BaseModel:
        """The strategy's settings, validated once with this config (frozen, all defaults in)."""
        return self._settings

    def _deprecated_knob(self, name: str, default: Any) -> Any:
        warnings.warn(
            f"ReasoningConfig.{name} is deprecated: it is a setting of the strategy "
            f"(config.strategy_settings.{name}, or ctx.judging in a judge)",
            DeprecationWarning,
            stacklevel=3,
        )
        return getattr(self._settings, name, default)

    @property
    def threshold(self) -> float:
        """Deprecated: ``strategy_settings.threshold`` (8.0 for a strategy that never judges)."""
        return float(self._deprecated_knob("threshold", 8.0))

    @property
    def judge(self) -> str:
        """Deprecated: ``strategy_settings.judge_prompt``."""
        return str(self._deprecated_knob("judge_prompt", "yesno"))

    @property
    def judge_prompt(self) -> str:
        """Deprecated: ``strategy_settings.judge_prompt``."""
        return str(self._deprecated_knob("judge_prompt", "yesno"))

    @property
    def score_method(self) -> ScoreMethod:
        """Deprecated: ``strategy_settings.score_method``."""
        return self._deprecated_knob("score_method", "average")  # type: ignore[no-any-return]

    @property
    def check_arithmetic(self) -> bool:
        """Deprecated: ``strategy_settings.check_arithmetic``."""
        return bool(self._deprecated_knob("check_arithmetic", False))

    @property
    def pipeline(self) -> bool:
        """Deprecated: ``strategy_settings.pipeline``."""
        return bool(self._deprecated_knob("pipeline", False))

    @property
    def tools(self) -> list[dict[str, Any]] | None:
        """Deprecated name of `tool_schemas`."""
        warnings.warn(
            "ReasoningConfig.tools is deprecated: use tool_schemas",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.tool_schemas

    def with_overrides(self, **overrides: Any) -> ReasoningConfig:
        """A copy with ``overrides`` applied and validated.

        Keys that are not `ReasoningConfig` fields go to ``options`` (the strategy's own
        settings), so ``with_overrides(strategy="scot", n=3)`` works; ``options=`` given
        explicitly is merged too. A dotted key sets one field of a sampling config
        (``**{"draft_sampling.temperature": 0.6}``).
        """
        data = self.model_dump()
        for old, new in _RENAMED.items():
            if old in overrides:
                warnings.warn(f"{old}= is deprecated: use {new}=", DeprecationWarning, stacklevel=2)
                overrides.setdefault(new, overrides.pop(old))
        if "strategy" in overrides and overrides["strategy"] != self.strategy:
            data["options"] = {}  # another strategy: its own defaults, not this one's options
        options = {**data["options"], **dict(overrides.pop("options", None) or {})}
        for key, value in overrides.items():
            head, dot, rest = key.partition(".")
            if dot and head in SAMPLING_FIELDS:  # "draft_sampling.temperature=0.6" from a mode
                data[head] = {**data[head], rest: value}
            elif key in ReasoningConfig.model_fields:
                data[key] = value
            else:
                options[key] = value
        data["options"] = options
        try:
            return ReasoningConfig.model_validate(data)
        except ValidationError as e:
            problems = "; ".join(_problem(err) for err in e.errors())
            raise UserError(f"invalid reasoning settings: {problems}") from e


SAMPLING_FIELDS = ("draft_sampling", "target_sampling")
"""The `ReasoningConfig` fields that are `SamplingConfig`s (a dotted key sets one field)."""


def _check_reasoning(reasoning: dict[str, Any]) -> str | None:
    """None if ``reasoning`` is a valid `ReasoningConfig`, else its problems in one line."""
    try:
        ReasoningConfig.model_validate(reasoning)
    except ValidationError as e:
        return "; ".join(_problem(err) for err in e.errors())
    return None


def _problem(error: Any) -> str:
    """One pydantic error as ``field: message`` (no URL, no input dump)."""
    where = ".".join(str(p) for p in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
