"""Token-level speculative decoding in the embedded target (llama.cpp draft-model speculation).

A target server with the draft model loaded must return exactly what a plain server returns
for the same greedy request, and its timings must show that tokens were drafted. llama.cpp
decides speculation when the server starts (per-request values are ignored), so the plain
and the speculative target are two servers.
"""

from __future__ import annotations

import httpx
import pytest

from spec_graph import EmbeddedModels, SamplingConfig
from spec_graph.backends import GenerateRequest, backend_for

PROMPT = [{"role": "user", "content": "Count from 1 to 20, separated by commas."}]


@pytest.fixture(scope="module")
def plain_and_speculative():
    with (
        EmbeddedModels("tiny", roles=("target",), n_parallel=1) as plain,
        EmbeddedModels("tiny", target_speculation=8, n_parallel=1) as speculative,
    ):
        yield plain, speculative


async def test_drafted_greedy_output_is_identical_to_plain(plain_and_speculative):
    texts = []
    for models in plain_and_speculative:
        target = backend_for(models.target)
        try:
            request = GenerateRequest(
                messages=PROMPT, max_tokens=48, sampling=SamplingConfig(temperature=0.0)
            )
            texts.append((await target.generate(request)).text)
        finally:
            await target.aclose()
    assert texts[0]
    assert texts[1] == texts[0]


def test_only_the_speculative_server_drafts(plain_and_speculative):
    def drafted(models: EmbeddedModels) -> int:
        body = {"model": "m", "messages": PROMPT, "max_tokens": 48, "temperature": 0}
        reply = httpx.post(f"{models.target.base_url}/chat/completions", json=body, timeout=120)
        return reply.json()["timings"].get("draft_n", 0)

    plain, speculative = plain_and_speculative
    assert drafted(plain) == 0
    assert drafted(speculative) > 0
