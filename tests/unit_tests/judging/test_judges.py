"""Judge formulations: request layouts and reading the verdict token."""

from __future__ import annotations

import math

import pytest

from spec_graph.backends.base import NextToken
from spec_graph.backends.openai.wire import prompt_logprobs
from spec_graph.judging.formulations import INLINE_CHECK, JUDGES, likelihood_score, yes_no_score
from spec_graph.prompts import problem_messages


def _lp(probs: dict[str, float]) -> list[tuple[str, float]]:
    return [(token, math.log(p)) for token, p in probs.items()]


def test_yes_no_average_is_nine_times_p_yes_over_yes_and_no():
    verdict = yes_no_score(_lp({" Yes": 0.6, "yes": 0.1, "No": 0.2, "The": 0.1}), "average")
    assert verdict.score == pytest.approx(9 * 0.7 / 0.9)
    assert verdict.digit_probs == pytest.approx({"yes": 0.7 / 0.9, "no": 0.2 / 0.9})
    assert verdict.digit_mass == pytest.approx(0.9)


def test_yes_no_greedy_is_nine_or_zero():
    assert yes_no_score(_lp({"Yes": 0.4, "No": 0.35}), "greedy").score == 9.0
    assert yes_no_score(_lp({"Yes": 0.3, "No": 0.35}), "greedy").score == 0.0


def test_yes_no_without_either_word_is_no_verdict():
    verdict = yes_no_score(_lp({"The": 0.9, "I": 0.1}), "average")
    assert verdict.score is None
    assert verdict.top_token == "The"


def test_layouts_share_the_generation_prefix_where_they_promise_to():
    messages = problem_messages("What is 2 + 2?")
    steps, candidate = ["2 + 2 = 4."], "So \\boxed{4}."
    own, prefix = JUDGES["yesno"].prompt(messages, steps, candidate, "\n\n")
    assert own[:-2] == messages
    assert own[-2] == {"role": "assistant", "content": "2 + 2 = 4.\n\nSo \\boxed{4}."}
    assert prefix == "Answer:"
    inline, prefix = JUDGES["inline"].prompt(messages, steps, candidate, "\n\n")
    assert inline == messages  # no new turn: the chain stays the target's unfinished reply
    assert prefix == f"2 + 2 = 4.\n\nSo \\boxed{{4}}.\n\n{INLINE_CHECK}"
    shown, prefix = JUDGES["reviewer"].prompt(messages, steps, candidate, "\n\n")
    assert len(shown) == 1
    assert shown[0]["role"] == "user"
    assert "What is 2 + 2?" in shown[0]["content"]
    assert shown[0]["content"].endswith(JUDGES["reviewer"].instruction)


def test_every_judge_reads_a_score_on_the_zero_to_nine_scale():
    for judge in JUDGES.values():
        tokens = _lp({"7": 0.5, "Yes": 0.5}) if judge.answer == "digit" else _lp({"Yes": 1.0})
        prompt = [("2", -0.1), (" +", -0.2), (" 2", -0.05)]
        token = NextToken(top_logprobs=tokens, prompt_logprobs=prompt)
        score = judge.score(token, "average", "2 + 2").score
        assert score is not None
        assert 0.0 <= score <= 9.0


def test_likelihood_reads_only_the_steps_tokens_from_the_end_of_the_prompt():
    # chain "Half of 8 is 4.\n\n" then the step "So 4 + 1 = 5." as the prompt's last tokens
    prompt = [("Half", -3.0), (" of", -3.0), (" 8 is 4.", -3.0), ("\n\n", -3.0),
              ("So", -0.5), (" 4 +", -0.1), (" 1 =", -0.2), (" 5.", -1.2)]  # fmt: skip
    average = likelihood_score(prompt, "So 4 + 1 = 5.", "average")
    assert average.score == pytest.approx(9 * math.exp((-0.5 - 0.1 - 0.2 - 1.2) / 4))
    greedy = likelihood_score(prompt, "So 4 + 1 = 5.", "greedy")
    assert greedy.score == pytest.approx(9 * math.exp(-1.2))  # the least likely token decides
    assert likelihood_score([], "So 5.", "average").score is None  # nothing scored: reject


def test_likelihood_asks_for_the_chain_with_the_step_and_no_question():
    judge = JUDGES["likelihood"]
    assert judge.needs_prompt_logprobs
    messages = problem_messages("What is 2 + 2?")
    sent, prefix = judge.prompt(messages, ["2 + 2 = 4."], "So \\boxed{4}.", "\n\n")
    assert sent == messages  # the prefix the target continues when it writes the next step
    assert prefix == "2 + 2 = 4.\n\nSo \\boxed{4}."
    assert not any(j.needs_prompt_logprobs for n, j in JUDGES.items() if n != "likelihood")


def test_vllm_prompt_logprobs_are_read_as_token_and_logprob():
    # the shape vLLM returns with prompt_logprobs=0: None for the first token, then one entry
    entries = [
        None,
        {"151644": {"logprob": -1.5, "rank": 3, "decoded_token": "system"}},
        {"198": {"logprob": -0.01, "rank": 1, "decoded_token": "\n"}},
    ]
    assert prompt_logprobs(entries) == [("system", -1.5), ("\n", -0.01)]
    assert prompt_logprobs(None) == []
