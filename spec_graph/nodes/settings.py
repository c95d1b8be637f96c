"""The settings the shared nodes read, as small models a strategy's settings inherit.

A shared node never reads a strategy's settings by attribute name: a strategy opts in to a
node's knob by inheriting its model (``class BestOfNSettings(CandidateSettings,
SampledSettings, StrategySettings)``), and the node checks ``isinstance`` and otherwise uses
its default. So a setting of your own that happens to be called ``temperature`` changes
nothing in the shared nodes unless your settings say they are `SampledSettings`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CandidateSettings",
    "ChainSettings",
    "GatedSettings",
    "PipelinedSettings",
    "SampledSettings",
    "gate_of",
    "pipelined",
    "sampling_temperature",
]


class _NodeSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SampledSettings(_NodeSettings):
    """Drafts of several options are sampled at ``temperature``.

    Read by `draft_candidates` and `draft_chains`; without these settings the run's
    ``draft_sampling`` applies.
    """

    temperature: float = Field(default=0.6, ge=0.0, le=2.0)
    """Sampling of the drafts (at 0 every option would be the same text)."""


class CandidateSettings(_NodeSettings):
    """`draft_candidates` writes ``k`` candidates for the next step (default 2)."""

    k: int = Field(default=2, ge=1, le=8)


class ChainSettings(_NodeSettings):
    """`draft_chains` writes ``n`` whole chains of at most ``max_chain_tokens`` each."""

    n: int | None = Field(default=None, ge=1, le=8)
    """Chains per question; None: the draft backend's preferred width."""
    max_chain_tokens: int = Field(default=1024, ge=1)
    """Per-chain token cap (also bounded by ``token_budget``)."""


class GatedSettings(_NodeSettings):
    """Confidence gating in `draft`.

    A step whose every token the draft found at least ``exp(gate_logprob)`` likely is kept
    without a judge call; None: judge every step.
    """

    gate_logprob: float | None = Field(default=-0.5, le=0.0)


class PipelinedSettings(_NodeSettings):
    """Pipelined speculation in `judge`: the draft writes step k+1 while step k is judged."""

    pipeline: bool = False
    """While the target judges step k, the draft already writes step k+1 after the
    optimistic chain (step k accepted); the early draft is used on acceptance and cancelled
    on rejection. Pays off when draft and target do not share compute (GPUs); measure it on
    shared CPU cores (see the README's benchmark)."""


def sampling_temperature(options: object) -> float | None:
    """The options' draft temperature if they are `SampledSettings`, else None."""
    return options.temperature if isinstance(options, SampledSettings) else None


def gate_of(options: object) -> float | None:
    """The options' confidence gate if they are `GatedSettings`, else None (no gating)."""
    return options.gate_logprob if isinstance(options, GatedSettings) else None


def pipelined(options: object) -> bool:
    """Whether the options ask for pipelining (`PipelinedSettings`)."""
    return isinstance(options, PipelinedSettings) and options.pipeline
