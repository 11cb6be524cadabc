"""How numbers and counted things read, for the web pages and the CLI alike: thousands grouped
with `,` (100,000 URLs) and the singular for one (1 URL). One module both can import, so the two
never write the same figure two ways."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Context, Decimal

#: Room for every digit of any float (1.8e308 has 309) and then some decimals.
_EXACT = Context(prec=400)
#: As JavaScript writes them.
_NOT_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


def fixed(value: float, decimals: int, *, grouped: bool = False) -> str:
    """`value` to `decimals` places, a tie rounded away from zero, judged on the float's exact
    value: what JavaScript's Number.prototype.toFixed does (Python's own format rounds a tie to
    even, so 0.125 would be "12 %" here and "13 %" in the browser). No sign on a zero."""
    if not math.isfinite(value):
        return _NOT_FINITE.get(value, "NaN")
    exact = Decimal(value).quantize(
        Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP, context=_EXACT
    )
    if exact.is_zero():
        exact = exact.copy_abs()
    return format(exact, ",f" if grouped else "f")


def count(value: float) -> str:
    """A whole number, thousands grouped: 1,234,567 (a fraction is rounded to a whole)."""
    return fixed(value, 0, grouped=True)


def mebibytes(value_bytes: float) -> str:
    """Bytes in MiB to one decimal, grouped: "1,234.5 MiB" (the pages' memory and the CLI's)."""
    return f"{fixed(value_bytes / 2**20, 1, grouped=True)} MiB"


def counted(value: float, singular: str, plural: str | None = None) -> str:
    """`value` things, grouped, with the singular for exactly one: "1 URL", "100,000 URLs".
    `plural` defaults to the singular and an `s`."""
    noun = singular if value == 1 else plural or f"{singular}s"
    return f"{count(value)} {noun}"
