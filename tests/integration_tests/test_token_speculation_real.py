"""Token-level speculative decoding in the embedded target (llama.cpp draft-model speculation).

With a draft model loaded into the target's server, a request that asks for drafted tokens
must return exactly what plain greedy decoding returns; the server's timings prove that
drafting happened (or did not, when the request leaves it off).
"""

from __future__ import annotations

import httpx
import pytest

from spec_graph import EmbeddedModels, SamplingConfig
from spec_graph.backends import GenerateRequest, backend_for

PROMPT = [{"role": "user", "content": "Count from 1 to 20, separated by commas."}]


@pytest.fixture(scope="module")
def speculative_tiny():
    with EmbeddedModels("tiny", target_speculation=True, n_parallel=1) as models:
        yield models


def _timings(base_url: str, n_max: int) -> dict:
    body = {
        "model": "m",
        "messages": PROMPT,
        "max_tokens": 48,
        "temperature": 0,
        "speculative.n_max": n_max,
    }
    reply = httpx.post(f"{base_url}/chat/completions", json=body, timeout=120).json()
    return reply["timings"]


async def test_drafted_greedy_output_is_identical_to_plain(speculative_tiny: EmbeddedModels):
    target = backend_for(speculative_tiny.target)
    try:
        texts = {}
        for tokens in (0, 4, 8):
            sampling = SamplingConfig(temperature=0.0, draft_tokens=tokens)
            gen = await target.generate(
                GenerateRequest(messages=PROMPT, max_tokens=48, sampling=sampling)
            )
            texts[tokens] = gen.text
        assert texts[0]
        assert texts[4] == texts[0]
        assert texts[8] == texts[0]
    finally:
        await target.aclose()


def test_the_request_decides_whether_the_server_drafts(speculative_tiny: EmbeddedModels):
    base_url = speculative_tiny.target.base_url
    assert _timings(base_url, 8).get("draft_n", 0) > 0
    assert _timings(base_url, 0).get("draft_n", 0) == 0
