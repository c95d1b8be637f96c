"""`CallPolicy`: the deadline around every HTTP call never swallows a cancellation."""

from __future__ import annotations

import asyncio

import pytest

from spec_graph import EndpointConfig
from spec_graph.backends.openai.calls import CallPolicy
from spec_graph.errors import ServerUnavailableError

POLICY = CallPolicy(EndpointConfig(base_url="http://127.0.0.1:9/v1", model="m", timeout_s=30), "m")


async def test_a_cancel_that_lands_as_the_call_finishes_still_cancels():
    # Defect (CI, issue 15): Ctrl-C between two short requests was lost, and the run went on.
    # Python 3.11's wait_for returned the finished call's result instead of the cancellation.
    answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def call() -> int:
        return await answer

    task = asyncio.create_task(POLICY.send("POST /tokenize", call))
    await asyncio.sleep(0)  # the call is in flight
    answer.set_result(1)
    task.cancel()  # in the same loop turn as the answer
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_call_past_its_deadline_says_it_timed_out_and_what_it_waited_for():
    policy = CallPolicy(
        EndpointConfig(base_url="http://127.0.0.1:9/v1", model="m", timeout_s=0.01), "m"
    )

    async def hang() -> int:
        await asyncio.sleep(10)
        return 1

    with pytest.raises(ServerUnavailableError, match=r"timed out.*0.01 s deadline.*POST /x"):
        await policy.send("POST /x", hang)
