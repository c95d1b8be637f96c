"""``langgraph dev`` serves integrations/langgraph-server/langgraph.json (tiny embedded models).

A real server process, called with ``langgraph_sdk`` as a user would: create a thread, stream
a run of the reasoning graph, read the thread's state, ask a follow-up on the same thread;
the chat-model agent is registered; the mounted OpenAI-compatible app lists its models. The
server runs with its blocking-call guard on (no ``--allow-blocking``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_client

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "integrations" / "langgraph-server"
CONTEXT = {
    "profile": "tiny",
    "strategy": "specreason",
    "options": {"max_steps": 3, "token_budget": 192, "max_step_tokens": 64},
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``langgraph dev`` on a free port; yields its URL and log, stops it (its whole group)."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("langgraph-dev") / "langgraph-dev.log"
    env = {
        **os.environ,
        "SPEC_GRAPH_PROFILE": "tiny",
        "SPEC_GRAPH_REASONING__MAX_STEPS": "3",
        "SPEC_GRAPH_REASONING__TOKEN_BUDGET": "192",
        "LANGSMITH_TRACING": "false",
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    }
    command = [str(Path(sys.executable).with_name("langgraph")), "dev", "--no-browser"]
    command += ["--no-reload", "--host", "127.0.0.1", "--port", str(port)]
    started = time.perf_counter()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command,
            cwd=PROJECT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"langgraph dev exited ({process.returncode}):\n{log_path.read_text()}")
            try:
                if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"langgraph dev did not answer /ok in 120 s:\n{log_path.read_text()}")
            time.sleep(0.5)
        print(f"\nlanggraph dev up in {time.perf_counter() - started:.1f} s")
        yield url, log_path
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


async def test_langgraph_dev_serves_the_reasoning_graph_the_agent_and_the_endpoint(server):
    url, log_path = server
    client = get_client(url=url)
    try:
        thread = await client.threads.create()
        started = time.perf_counter()
        events = []
        async for part in client.runs.stream(
            thread["thread_id"],
            "reasoner",
            input={"question": "What is 2 + 3?"},
            context=CONTEXT,
            stream_mode=["custom", "values"],
        ):
            events.append(part)
        first = time.perf_counter() - started
        errors = [e.data for e in events if e.event == "error"]
        assert not errors, f"{errors}\n{log_path.read_text()[-6000:]}"
        steps = [e.data["step"] for e in events if e.event == "custom"]
        assert steps, [e.event for e in events]

        state = await client.threads.get_state(thread["thread_id"])
        values = state["values"]
        assert [s["text"] for s in values["steps"]] == [s["text"] for s in steps]
        assert values["stop_reason"] in ("boxed", "finished", "budget", "max_steps", "repetition")
        assert values["strategy"] == "specreason"
        assert values["totals"]["steps"] == len(steps)

        # the thread goes on: a follow-up is asked after the first question and its answer
        started = time.perf_counter()
        run = await client.runs.wait(
            thread["thread_id"], "reasoner", input={"question": "And doubled?"}, context=CONTEXT
        )
        follow_up = time.perf_counter() - started
        assert "__error__" not in run, f"{run}\n{log_path.read_text()[-6000:]}"
        users = [m["content"] for m in run["messages"] if m["role"] == "user"]
        assert "2 + 3" in users[0]
        assert "And doubled?" in users[-1]
        history = await client.threads.get_history(thread["thread_id"])
        assert len(history) >= 4  # two runs, each saved before and after the reasoning node

        (card,) = await client.assistants.search(graph_id="agent")
        assert card["graph_id"] == "agent"
    finally:
        await client.aclose()

    # the OpenAI-compatible app, mounted on the same port
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        models = (await http.get("/v1/models")).json()
        assert "spec-graph/specreason" in [m["id"] for m in models["data"]]
    print(f"first run {first:.1f} s, follow-up {follow_up:.1f} s")
    assert "BlockingError" not in log_path.read_text()


async def test_langgraph_dev_runs_the_chat_model_agent(server):
    """The agent graph end to end: each model call reasons speculatively, then replies or
    calls the calculator; the run finishes with a reply in the thread's state."""
    url, log_path = server
    client = get_client(url=url)
    try:
        thread = await client.threads.create()
        started = time.perf_counter()
        run = await client.runs.wait(
            thread["thread_id"],
            "agent",
            input={"messages": [{"role": "user", "content": "What is 12 times 7?"}]},
        )
        seconds = time.perf_counter() - started
        assert "__error__" not in run, f"{run}\n{log_path.read_text()[-6000:]}"
        messages = run["messages"]
        assert messages[0]["type"] == "human"
        replies = [m for m in messages if m["type"] == "ai"]
        assert replies, messages
        final = replies[-1]
        assert final["content"], final
        assert not final.get("tool_calls"), final
        # every tool call the model made was answered by the calculator in the same run
        called = [c["id"] for m in replies for c in m.get("tool_calls") or []]
        answered = [m["tool_call_id"] for m in messages if m["type"] == "tool"]
        assert answered == called
        state = await client.threads.get_state(thread["thread_id"])
        assert [m["id"] for m in state["values"]["messages"]] == [m["id"] for m in messages]
    finally:
        await client.aclose()
    print(f"agent run {seconds:.1f} s, {len(called)} tool call(s), reply {final['content'][:80]!r}")
    assert "BlockingError" not in log_path.read_text()
