"""Keep the reply request's scaffolding out of the reply the user sees.

With tools bound, the reply request hands the model its reasoning as private notes inside
``<reasoning>...</reasoning>`` (`spec_graph.reply.prompts.reply_messages`). Small models
sometimes echo that wrapper: the default pair once began its reply with ``<reasoning>`` and
the tool listing, and a 135M model's reply contained a stray ``</reasoning>``. A reply that
opens with the wrapper has the echoed block dropped; a tag anywhere else is removed.

The reply streams, and a tag can be split over pieces, so `ScaffoldFilter` holds back only
what could still become a tag (at most a tag's length) or, at the start, an echoed block;
the text it lets through is the same however the reply was cut into pieces.
"""

from __future__ import annotations

__all__ = ["ScaffoldFilter", "without_scaffolding"]

OPEN, CLOSE = "<reasoning>", "</reasoning>"
TAGS = (OPEN, CLOSE)


def without_scaffolding(text: str) -> str:
    """``text`` with an echoed leading notes block dropped and any stray tag removed."""
    kept = ScaffoldFilter()
    return kept.feed(text) + kept.flush()


class ScaffoldFilter:
    """A streaming filter: `feed` each reply piece, then `flush` once at the end."""

    def __init__(self) -> None:
        self._held = ""
        self._started = False  # past the opening: an echoed block is ruled out or dropped
        self._echo = False  # inside an echoed notes block at the start

    def feed(self, piece: str) -> str:
        """The part of the reply so far that can be shown; the rest is held back."""
        self._held += piece
        if not self._started:
            head = self._held.lstrip()
            if not head or (OPEN.startswith(head) and len(head) < len(OPEN)):
                return ""  # whitespace or the start of "<reasoning>": wait
            self._started = True
            if head.startswith(OPEN):
                self._echo = True
        if self._echo:
            end = self._held.find(CLOSE)
            if end < 0:
                return ""
            self._echo = False
            self._held = self._held[end + len(CLOSE) :].lstrip()
        return self._release(final=False)

    def flush(self) -> str:
        """The rest, once the reply has ended (an unclosed echo is shown, less its tag)."""
        self._echo = False
        return self._release(final=True)

    def _release(self, *, final: bool) -> str:
        text = self._held
        while any(tag in text for tag in TAGS):  # until no tag is left, nor formed by a removal
            for tag in TAGS:
                text = text.replace(tag, "")
        if final:
            self._held = ""
            return text
        keep = _partial_tag_suffix(text)
        self._held = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep]


def _partial_tag_suffix(text: str) -> int:
    """Length of the longest end of ``text`` that a tag starts with (0 if none)."""
    for size in range(min(len(text), len(CLOSE) - 1), 0, -1):
        end = text[-size:]
        if any(tag.startswith(end) for tag in TAGS):
            return size
    return 0
