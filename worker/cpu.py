"""The CPU-bound workload: a fixed amount of pure-Python work per task, holding the GIL throughout.

hashlib would release the GIL on large inputs and hide the lesson, so the mixing loop is plain
Python integer arithmetic, seeded by the body's digest so the work depends on what was fetched.
"""

from __future__ import annotations


def burn(seed: bytes, rounds: int) -> int:
    """Mix `seed` for `rounds` iterations (~50 ms for the default rounds on a 2020s core)."""
    value = int.from_bytes(seed[:8].ljust(8, b"\0"), "big") or 1
    for _ in range(rounds):
        value = (value * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        value ^= value >> 29
    return value
