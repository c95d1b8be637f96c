"""Time to the first reasoning step (speculative chat model) vs the target's time to first token.

Same question, same servers, same run, alternating 3 times after an untimed warm-up:

    python benchmarks/ttft.py --profile default
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

from spec_graph import (
    EmbeddedModels,
    ReasoningConfig,
    SamplingConfig,
    SpeculativeReasoningChatModel,
)
from spec_graph.backends import ModelBackend, ReplyRequest, backend_for
from spec_graph.chat_model import REASONING_INSTRUCTION

GREEDY = SamplingConfig(temperature=0.0)
QUESTION = "A robe takes 2 bolts of blue fiber and half that much white fiber. How many bolts in total does it take?"


async def first_reasoning_step(model: SpeculativeReasoningChatModel) -> float:
    started = time.perf_counter()
    stream = model.astream(QUESTION)
    async for chunk in stream:
        if chunk.additional_kwargs.get("reasoning_content"):
            break
    elapsed = time.perf_counter() - started
    await stream.aclose()
    return elapsed


async def target_first_token(target: ModelBackend) -> float:
    messages = [
        {"role": "system", "content": REASONING_INSTRUCTION},
        {"role": "user", "content": QUESTION},
    ]
    started = time.perf_counter()
    stream = target.stream_reply(ReplyRequest(messages=messages, max_tokens=64, sampling=GREEDY))
    async for piece in stream:
        if piece.text:
            break
    elapsed = time.perf_counter() - started
    await stream.aclose()
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with EmbeddedModels(args.profile) as models:
        config = ReasoningConfig(draft_sampling=GREEDY, target_sampling=GREEDY)
        model = SpeculativeReasoningChatModel(
            draft=models.draft, target=models.target, reasoning=config
        )
        target = backend_for(models.target)
        await first_reasoning_step(model)  # warm-up: the servers' caches hold the prompt after it
        await target_first_token(target)
        spec, base = [], []
        for _ in range(args.repeats):
            spec.append(await first_reasoning_step(model))
            base.append(await target_first_token(target))
    print(
        json.dumps(
            {
                "profile": args.profile,
                "first_reasoning_step_s": [round(x, 2) for x in spec],
                "target_first_token_s": [round(x, 2) for x in base],
                "median_first_step_s": round(statistics.median(spec), 2),
                "median_target_ttft_s": round(statistics.median(base), 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
