"""A **fake** model whose every step follows from its prompt, for crash-and-resume tests.

A scripted fake hands out its script in call order, so a fresh process would start the script
over; this one writes step ``k + 1`` after ``k`` steps whatever process asks, which is what a
greedy model does. Run as a script, it reasons on a durable thread and prints each kept step
(the parent SIGKILLs it mid-run): ``python counting_fake.py DB THREAD STRATEGY``.
"""

from __future__ import annotations

import asyncio
import re
import sys

from spec_graph import ReasoningConfig, SpeculativeReasoner
from spec_graph.backends.base import GenerateRequest, Generation, NextToken, ScoreRequest
from spec_graph.testing import FakeCall, ScriptedFakeBackend
from spec_graph.threads import sqlite_checkpointer
from spec_graph.usage import Usage

QUESTION = "Count to 5, one step each."
LAST = 5


class CountingFake(ScriptedFakeBackend):
    """Step ``k + 1`` after ``k`` steps (``\\boxed{5}`` at the end); every step judged 9."""

    async def generate(self, request: GenerateRequest) -> Generation:
        self.calls.append(FakeCall("generate", request))
        await asyncio.sleep(self.delay_s)
        if request.prefix.endswith("\\boxed{"):
            text = f"{LAST}}}"
        else:
            k = len(re.findall(r"Count (\d+)\.", request.prefix))
            text = f"Count {k + 1}." if k + 1 < LAST else f"Count {LAST}. So \\boxed{{{LAST}}}"
        usage = Usage(calls=1, prompt_tokens=1, completion_tokens=len(text.split()))
        return Generation(text=text, finish_reason="stop", usage=usage)

    async def next_token(self, request: ScoreRequest) -> NextToken:
        self.calls.append(FakeCall("next_token", request))
        await asyncio.sleep(self.delay_s)
        return NextToken(top_logprobs=[("9", 0.0)], usage=Usage(calls=1, completion_tokens=1))


def reasoner(strategy: str, checkpointer: object, delay_s: float = 0.0) -> SpeculativeReasoner:
    config = ReasoningConfig(strategy=strategy, max_steps=12)
    return SpeculativeReasoner(
        CountingFake("draft", delay_s=delay_s),
        CountingFake("target", delay_s=delay_s),
        config,
        checkpointer=checkpointer,
    )


async def main(db: str, thread: str, strategy: str) -> None:
    async with sqlite_checkpointer(db) as checkpointer:
        async for item in reasoner(strategy, checkpointer, delay_s=0.2).astream(
            QUESTION, thread_id=thread
        ):
            text = getattr(item, "text", None)
            if text is not None:
                print(text, flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
