"""How many times a comparison runs each strategy: the form's and the API's `repeat`.

One run per strategy is at the mercy of a noisy neighbour; a few, interleaved, give a median
and a range that show how much the figures move (the producer interleaves them)."""

from __future__ import annotations

import math
from typing import Any

from producer.submit import MAX_REPEAT
from producer.validation import InvalidInput

_MESSAGE = f"repeat must be a whole number from 1 to {MAX_REPEAT}"


def check_repeat(value: Any) -> int:
    """The API's `repeat`, a JSON number (2.0 counts as 2, as JSON Schema's integer does);
    anything else, out of range or not finite (JSON's 1e400 parses as infinity), is
    InvalidInput on `repeat`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput("repeat", _MESSAGE)
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise InvalidInput("repeat", _MESSAGE)
    if not 1 <= value <= MAX_REPEAT:
        raise InvalidInput("repeat", _MESSAGE)
    return int(value)


def parse_repeat(text: str | None) -> int:
    """The form's `repeat`: digits only (an empty field is 1)."""
    text = (text or "").strip() or "1"
    if not (text.isascii() and text.isdigit() and len(text) <= 2):
        raise InvalidInput("repeat", f"{_MESSAGE} (got {text[:20]!r})")
    return check_repeat(int(text))
