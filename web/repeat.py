"""How many times a comparison runs each strategy: the form's `repeat` (the API's is a field of
web.bodies' Submission), judged by contract.verdicts like every other number.

One run per strategy is at the mercy of a noisy neighbour; a few, interleaved, give a median
and a range that show how much the figures move (the producer interleaves them)."""

from __future__ import annotations

from contract import verdicts
from producer.submit import MAX_REPEAT

__all__ = ["MAX_REPEAT", "parse_repeat"]


def parse_repeat(text: str | None) -> int:
    """The form's `repeat`: ASCII digits from 1 to MAX_REPEAT (an empty field is 1)."""
    return verdicts.whole_number((text or "").strip() or "1", "repeat", 1, MAX_REPEAT)
