"""`Registry[T]`, the one by-name lookup: taken names, unknown names, order, built-in users."""

from __future__ import annotations

import pytest

from spec_graph.bench.projection import GPU_PRESETS
from spec_graph.embedded import LOCAL_MODELS, LOCAL_PROFILES
from spec_graph.errors import UserError
from spec_graph.registry import Registry


def test_register_get_and_order():
    things: Registry[int] = Registry("thing", {"one": 1})
    assert things.register("two", 2) is None
    assert things.names() == ["one", "two"]
    assert things.get("two") == 2 == things["two"]
    assert dict(things) == {"one": 1, "two": 2}
    assert "one" in things
    assert "three" not in things
    assert things.find("three") is None


def test_a_taken_name_needs_replace_and_returns_what_it_replaced():
    things: Registry[int] = Registry("thing", {"one": 1})
    with pytest.raises(UserError, match="a thing named 'one' is already registered"):
        things.register("one", 11)
    assert things.register("one", 11, replace=True) == 1
    assert things.get("one") == 11


def test_an_unknown_name_lists_the_known_ones():
    things: Registry[int] = Registry("thing", {"one": 1, "two": 2})
    with pytest.raises(UserError, match=r"^unknown thing 'three'; known: one, two$"):
        things.get("three")
    with pytest.raises(UserError, match="non-empty string"):
        things.register("", 3)


@pytest.mark.parametrize(
    ("registry", "what"),
    [(LOCAL_MODELS, "local model"), (LOCAL_PROFILES, "profile"), (GPU_PRESETS, "GPU preset")],
)
def test_the_packages_lookups_share_one_message(registry, what):
    with pytest.raises(UserError, match=rf"^unknown {what} 'nope'; known: "):
        registry.get("nope")
