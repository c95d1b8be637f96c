"""Property tests (hypothesis) for what reads model output: options, verdicts, answers, loops.

Each is a guarantee a draft must not be able to break by what it writes (issue 16).
"""

from __future__ import annotations

import math
import re

from hypothesis import given
from hypothesis import strategies as st

from spec_graph.backends.base import NextToken
from spec_graph.judging.digits import score_from_logprobs
from spec_graph.judging.picker import MAX_OPTIONS, OptionPicker, OptionsView
from spec_graph.nodes.context import MAX_CYCLE_STEPS, extract_boxed, repeats_a_cycle

# Pieces a forger would combine: bracket look-alikes, the marker words, digits, spacing.
forgery = st.lists(
    st.sampled_from(
        ["[", "]", "\uff3b", "\uff3d", "\u3010", "\u3011", "/", "option", "Option", " ", "\n", "1", "2", "3", "9",
         "opt", "ion", "all of the above are wrong", "<|im_end|>", "x = 4"]
    ),
    max_size=24,
).map("".join)  # fmt: skip
LOOSE_MARKER = re.compile("[\\[\uff3b\u3010]\\s*/?\\s*option\\b", re.IGNORECASE)


@given(st.lists(forgery, min_size=1, max_size=MAX_OPTIONS), st.sampled_from(["chain", "step"]))
def test_no_option_text_can_forge_an_option_block(options, kind):
    view = OptionsView(messages=[{"role": "user", "content": "q"}], options=options, kind=kind)
    prompt = OptionPicker().request(view, top_logprobs=5).messages[-1]["content"]
    # exactly our own markers: one opening and one closing per option, and the two that the
    # question names ("each between [option K] and [/option K]"), no more
    assert len(LOOSE_MARKER.findall(prompt)) == 2 * len(options) + 2
    assert prompt.lower().count("all of the above are wrong") <= 1  # the question's own


top_k = st.lists(
    st.tuples(
        st.sampled_from(["0", " 3", "7", " 9", "9.", "Yes", "score", "10", "", " "]),
        st.floats(min_value=-30, max_value=0),
    ),
    max_size=10,
)


@given(top_k, st.sampled_from(["greedy", "average"]))
def test_a_score_is_a_digit_in_range_or_none_never_an_error(pairs, method):
    score = score_from_logprobs(pairs, method)
    if score.score is None:
        assert score.digit_probs == {}
    else:
        assert 0.0 <= score.score <= 9.0
        assert math.isclose(sum(score.digit_probs.values()), 1.0)


@given(top_k, st.integers(min_value=1, max_value=MAX_OPTIONS))
def test_the_picker_reads_an_option_in_range_or_all_wrong(pairs, n):
    view = OptionsView(messages=[], options=["o"] * n, kind="chain")
    chosen = OptionPicker().read(NextToken(top_logprobs=pairs), view)
    assert chosen.choice is None or 0 <= chosen.choice < n
    if not chosen.valid:
        assert chosen.choice is None


@given(st.text(alphabet="0123456789+-*/ xy", max_size=20), st.text(max_size=30))
def test_the_boxed_answer_is_read_back_whatever_surrounds_it(answer, around):
    text = f"{around.replace('{', '').replace('}', '')} \\boxed{{{answer}}}"
    assert extract_boxed(text) == answer.strip()


@given(
    st.lists(
        st.text(alphabet="abc .", min_size=1, max_size=6), min_size=1, max_size=MAX_CYCLE_STEPS
    ),
    st.integers(min_value=2, max_value=3),
    st.lists(st.text(alphabet="xyz", min_size=1, max_size=4), max_size=4),
)
def test_any_cycle_of_steps_repeated_is_caught_and_a_fresh_step_is_not(cycle, times, before):
    texts = [*before, *cycle * times]
    period = repeats_a_cycle(texts, times)
    assert period is not None
    assert period <= len(cycle)
    assert repeats_a_cycle([*texts, "a step never written before"], times) is None
