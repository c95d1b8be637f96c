"""What a verifier looks at: `StepView` (one draft step) and `OptionsView` (n options).

Plain frozen values built by the nodes (`spec_graph.nodes`) and read by the judges of this
package; they import nothing but the prompt types, so every judge can depend on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from spec_graph.prompts import ChatMessage

__all__ = ["OptionsView", "StepView"]


@dataclass(frozen=True)
class StepView:
    """What a step judge looks at: the conversation, the kept chain and the new step."""

    messages: Sequence[ChatMessage]
    steps: Sequence[str]
    candidate: str
    delimiter: str
    tools: Sequence[dict[str, Any]] | None = None


@dataclass(frozen=True)
class OptionsView:
    """What the picker looks at: the conversation, the kept chain (steps) and the options."""

    messages: Sequence[ChatMessage]
    options: Sequence[str]
    kind: Literal["chain", "step"]
    steps: Sequence[str] = ()
    delimiter: str = "\n\n"
    tools: Sequence[dict[str, Any]] | None = None
