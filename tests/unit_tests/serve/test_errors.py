"""Bad requests are answered 4xx in OpenAI's error shape, before any model is called."""

from __future__ import annotations

import httpx
import openai
import pytest
from serve_fakes import QUESTION

MODEL = "spec-graph/specreason"


def post(served, body, **kw) -> httpx.Response:
    return httpx.post(f"{served.url}/chat/completions", json=body, timeout=10, **kw)


def error_of(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


@pytest.mark.parametrize(
    ("extra", "status", "param", "words"),
    [
        ({"model": "gpt-4o"}, 404, "model", "does not exist"),
        ({"messages": []}, 400, "messages", "at least 1"),
        ({"threshold": 99}, 400, None, "threshold"),
        ({"bogus_knob": 1}, 400, None, "bogus_knob"),
        ({"strategy": "scot"}, 400, "strategy", "model name picks"),
        ({"logprobs": True}, 400, "logprobs", "not supported"),
        ({"top_p": 0.5}, 400, "top_p", "not supported"),
        ({"n": 2}, 400, "n", "one choice"),
        ({"temperature": 5}, 400, "temperature", "less than or equal to 2"),
        ({"max_tokens": 5, "max_completion_tokens": 6}, 400, "max_completion_tokens", "disagree"),
        ({"messages": [{"role": "robot", "content": "hi"}]}, 400, "messages[0].role", "robot"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
            400,
            "messages[0].content",
            "only text",
        ),
        ({"tool_choice": "required"}, 400, "tool_choice", "needs tools"),
        (
            {
                "tools": [{"type": "function", "function": {"name": "add"}}],
                "tool_choice": {"type": "function", "function": {"name": "mul"}},
            },
            400,
            None,
            "'mul'",
        ),
        ({"response_format": {"type": "json_schema"}}, 400, "response_format", "schema"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_bad_requests_are_4xx_before_any_work(serve, extra, status, param, words, stream):
    served = serve()
    response = post(served, {"model": MODEL, "messages": QUESTION, "stream": stream, **extra})
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")  # not a stream
    error = error_of(response)
    assert error["param"] == param
    assert words in error["message"]
    assert error["type"] == "invalid_request_error"
    assert served.calls() == 0


def test_a_strategy_setting_of_another_strategy_is_refused(serve):
    served = serve()
    response = post(served, {"model": "spec-graph/target-only", "messages": QUESTION, "k": 3})
    assert response.status_code == 400
    assert "target-only" in error_of(response)["message"]


def test_the_openai_client_raises_its_own_errors(serve):
    client = openai.OpenAI(base_url=serve().url, api_key="x", max_retries=0)
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="nope", messages=QUESTION)
    assert info.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=MODEL, messages=QUESTION, extra_body={"n": "x"})
    assert info.value.param == "n"


def test_unknown_route_and_method(serve):
    served = serve()
    missing = httpx.get(f"{served.url}/nothing")
    assert missing.status_code == 404
    assert error_of(missing)["code"] == "not_found"
    wrong = httpx.get(f"{served.url}/chat/completions")
    assert wrong.status_code == 405


def test_a_model_server_failing_mid_run_is_an_error_event_in_the_stream(serve):
    from spec_graph.errors import ServerUnavailableError
    from spec_graph.testing import ScriptedFakeBackend

    class GoneDraft(ScriptedFakeBackend):
        async def generate(self, request):
            raise ServerUnavailableError("draft server refused the connection")

    served = serve(GoneDraft("gone"), ScriptedFakeBackend("fake-target"))
    client = openai.OpenAI(base_url=served.url, api_key="x", max_retries=0)
    with pytest.raises(openai.APIError, match="draft server refused"):
        list(client.chat.completions.create(model=MODEL, messages=QUESTION, stream=True))
    response = post(served, {"model": MODEL, "messages": QUESTION})
    assert response.status_code == 503
    assert error_of(response)["code"] == "model_unavailable"
