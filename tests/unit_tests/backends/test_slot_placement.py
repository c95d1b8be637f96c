"""llama.cpp slot placement: chains keep their slots and their caches, judges keep the last."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from spec_graph.backends.base import GenerateRequest, PrefixStep
from spec_graph.backends.openai.placement import SlotPlacement, judge_slot, placement_for
from spec_graph.backends.openai.tokens import TokenPrompts

PARAMS = {"max_tokens": 8, "stop": ["\n\n"], "temperature": 0.0, "top_p": 1.0}


def test_the_last_slot_is_the_judges_and_never_a_chains():
    assert judge_slot(1) is None
    assert judge_slot(2) == 1
    assert SlotPlacement(1).chain_slots == ()
    assert SlotPlacement(4).chain_slots == (0, 1, 2)


def test_a_chain_goes_back_to_the_slot_holding_its_prefix():
    placement = SlotPlacement(3)
    a = placement.take([1, 2, 3])
    b = placement.take([7, 8])  # a is busy: another slot
    assert {a, b} == {0, 1}
    placement.give_back(a, [1, 2, 3, 4, 5])
    placement.give_back(b, [7, 8, 9])
    assert placement.take([7, 8, 9, 10]) == b
    assert placement.take([1, 2, 3, 4, 5, 6]) == a


def test_a_busy_server_leaves_the_choice_to_llamacpp():
    placement = SlotPlacement(2)
    assert placement.take([1]) == 0
    assert placement.take([1]) is None  # the only chain slot is busy; never the judges'
    placement.give_back(0, None)  # a failed request: its cache is unknown
    assert placement.take([1]) == 0


def test_a_new_prompt_takes_the_least_recently_used_slot():
    placement = SlotPlacement(3)
    for slot, tokens in ((placement.take([1]), [1]), (placement.take([2]), [2])):
        placement.give_back(slot, tokens)
    first = placement.take([1])
    placement.give_back(first, [1])
    assert placement.take([5]) != first


@given(st.lists(st.tuples(st.integers(2, 5), st.lists(st.integers(0, 3), max_size=6))))
def test_slots_taken_are_chain_slots_and_never_twice(requests):
    placements: dict[int, SlotPlacement] = {}
    held: dict[int, set[int]] = {}
    for total, prompt in requests:
        placement = placements.setdefault(total, SlotPlacement(total))
        slot = placement.take(prompt)
        busy = held.setdefault(total, set())
        if slot is None:
            assert busy == set(placement.chain_slots)
            continue
        assert slot in placement.chain_slots
        assert slot != judge_slot(total)
        assert slot not in busy
        busy.add(slot)
        if len(busy) > 1:  # give one back now and then
            freed = min(busy)
            busy.discard(freed)
            placement.give_back(freed, prompt)


def test_one_placement_per_server():
    assert placement_for("http://127.0.0.1:1", 1) is None
    one = placement_for("http://127.0.0.1:1", 2)
    assert placement_for("http://127.0.0.1:1", 2) is one
    assert placement_for("http://127.0.0.1:2", 2) is not one


async def test_step_requests_carry_their_slot_and_leave_their_tokens():
    sent: list[dict[str, Any]] = []
    placement = SlotPlacement(3)

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        sent.append(body)
        if path == "/apply-template":
            return {"prompt": "<user>q<assistant>"}
        if path == "/tokenize":
            return {"tokens": [100, 101]}
        return {"content": "y", "tokens": [5, 6], "stop_type": "word", "stopping_word": "\n\n"}

    async def placed() -> SlotPlacement:
        return placement

    prompts = TokenPrompts("llamacpp", "m", post, placed)
    messages = [{"role": "user", "content": "q"}]
    await prompts.generate(GenerateRequest(messages=messages, max_tokens=8), PARAMS)
    first = sent[-1]["id_slot"]
    step = PrefixStep(text="y\n\n", token_ids=[5, 6], token_model="m")
    request = GenerateRequest(messages=messages, prefix_steps=[step], max_tokens=8)
    await prompts.generate(request, PARAMS)
    assert sent[-1]["prompt"] == [100, 101, 5, 6]
    assert sent[-1]["id_slot"] == first  # the slot holding the chain so far
    assert placement.take([9]) != first  # and it was given back with the chain's tokens
