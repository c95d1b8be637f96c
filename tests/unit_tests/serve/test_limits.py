"""The bound on concurrent runs (429 past it), the bearer key, and client disconnects."""

from __future__ import annotations

import time

import httpx
import openai
import pytest
from serve_fakes import QUESTION, fake_models

MODEL = "spec-graph/specreason"


def wait_until(condition, timeout=5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def first_reasoning(stream) -> None:
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.model_extra.get("reasoning_content"):
            return
    raise AssertionError("no reasoning came")


def test_past_max_concurrency_a_request_gets_429_with_retry_after(serve):
    served = serve(*fake_models(steps=40, delay_s=0.05), max_concurrency=1, retry_after_s=3)
    client = openai.OpenAI(base_url=served.url, api_key="x", max_retries=0)
    stream = client.chat.completions.create(model=MODEL, messages=QUESTION, stream=True)
    first_reasoning(stream)  # one run in flight
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model=MODEL, messages=QUESTION)
    assert info.value.response.headers["retry-after"] == "3"
    assert info.value.code == "rate_limit_exceeded"
    stream.close()  # the slot is freed when the stream ends
    served.draft.steps.extend(["Again.", ""])
    served.target.replies.append("Done.")
    wait_until(lambda: client.models.list() is not None)

    def admitted() -> bool:
        try:
            client.chat.completions.create(
                model=MODEL, messages=QUESTION, extra_body={"max_steps": 1}
            )
        except openai.RateLimitError:
            return False
        return True

    wait_until(admitted)


def test_bearer_key(serve):
    served = serve(api_key="s3cret-key")
    for given in ("wrong", "s3cret-key-but-longer", "s3cret-ke"):
        client = openai.OpenAI(base_url=served.url, api_key=given, max_retries=0)
        with pytest.raises(openai.AuthenticationError) as info:
            client.models.list()
        assert info.value.code == "invalid_api_key"
        assert "s3cret" not in str(info.value.body)
    no_header = httpx.post(
        f"{served.url}/chat/completions", json={"model": MODEL, "messages": QUESTION}
    )
    assert no_header.status_code == 401
    good = openai.OpenAI(base_url=served.url, api_key="s3cret-key", max_retries=0)
    assert good.chat.completions.create(model=MODEL, messages=QUESTION).choices[0].message.content
    assert httpx.get(f"{served.root}/health").status_code == 200  # probes need no key
    assert served.calls() > 0


def test_a_client_that_disconnects_mid_stream_stops_the_run(serve):
    served = serve(*fake_models(steps=100, delay_s=0.05), max_concurrency=1)
    client = openai.OpenAI(base_url=served.url, api_key="x", max_retries=0)
    stream = client.chat.completions.create(model=MODEL, messages=QUESTION, stream=True)
    first_reasoning(stream)
    stream.close()
    time.sleep(0.3)  # the server notices, the calls in flight are cancelled
    settled = served.calls()
    time.sleep(0.6)  # ~6 more calls would be made in this time if the run went on
    assert served.calls() == settled
    assert settled < 2 * 100  # the run did not finish
    assert served.target.count("stream_reply") == 0


def test_a_client_that_gives_up_on_a_plain_request_stops_the_run(serve):
    served = serve(*fake_models(steps=100, delay_s=0.05))
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{served.url}/chat/completions",
            json={"model": MODEL, "messages": QUESTION},
            timeout=httpx.Timeout(5, read=0.4),
        )
    time.sleep(0.3)
    settled = served.calls()
    time.sleep(0.6)
    assert served.calls() == settled
    assert served.target.count("stream_reply") == 0
