"""The reply request's ``<reasoning>`` wrapper never reaches the user, however the reply streams."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spec_graph.reply.scaffold import ScaffoldFilter, without_scaffolding


@pytest.mark.parametrize(
    ("reply", "shown"),
    [
        ("The answer is 4.", "The answer is 4."),
        # the default pair echoed its notes (and the tool listing) before replying
        (
            "<reasoning>\nTools: multiply(a, b)\n12 * 3 = 36\n</reasoning>\n\nIt is 36.",
            "It is 36.",
        ),
        ("  \n<reasoning>notes</reasoning>It is 36.", "It is 36."),
        # a tiny model's stray closing tag in the middle of its reply
        ("It is 36.</reasoning> Done.", "It is 36. Done."),
        ("a <reasoning> b", "a  b"),
        ("<reas<reasoning>oning>x", "x"),  # a tag formed by removing one is removed too
        ("1 < 2 and <b>bold</b>", "1 < 2 and <b>bold</b>"),  # other angle brackets stay
        ("<reasoning>never closed", "never closed"),  # shown, less its tag
        ("<re", "<re"),
        ("", ""),
    ],
)
def test_scaffolding_is_removed(reply, shown):
    assert without_scaffolding(reply) == shown


def stream(pieces: list[str]) -> str:
    kept = ScaffoldFilter()
    return "".join(kept.feed(p) for p in pieces) + kept.flush()


text = st.lists(
    st.sampled_from(["<reasoning>", "</reasoning>", "<", "</", "reas", "oning>", " ", "x", "\n"]),
    max_size=12,
).map("".join)


@given(text, st.lists(st.integers(min_value=0, max_value=40), max_size=6))
def test_the_same_text_is_shown_however_the_reply_is_cut(reply, cuts):
    bounds = sorted({min(c, len(reply)) for c in cuts})
    pieces = [reply[a:b] for a, b in zip([0, *bounds], [*bounds, len(reply)], strict=True)]
    shown = stream(pieces)
    assert shown == without_scaffolding(reply)
    assert "<reasoning>" not in shown
    assert "</reasoning>" not in shown


def test_nothing_is_held_back_that_cannot_become_a_tag():
    kept = ScaffoldFilter()
    assert kept.feed("The answer") == "The answer"
    assert kept.feed(" is 4 </re") == " is 4 "  # "</re" may still become "</reasoning>"
    assert kept.feed("ad") == "</read"
