"""How numbers and counted things read, in the CLI and (through the same module) the web."""

from __future__ import annotations

import math

import pytest

from producer.numbers import count, counted, fixed


@pytest.mark.parametrize(
    ("value", "decimals", "grouped", "text"),
    [
        (0.125, 2, False, "0.13"),  # a tie away from zero, as JavaScript's toFixed
        (2.5, 0, False, "3"),
        (-0.0001, 3, False, "0.000"),  # no sign on a zero
        (1234567.891, 1, True, "1,234,567.9"),
        (math.inf, 2, True, "Infinity"),
    ],
)
def test_fixed_writes_a_number_as_the_browser_does(value, decimals, grouped, text):
    assert fixed(value, decimals, grouped=grouped) == text


def test_counts_are_grouped_and_one_is_singular():
    assert count(100000) == "100,000"
    assert counted(100000, "URL") == "100,000 URLs"
    assert counted(1, "URL") == "1 URL"
    assert counted(0, "worker") == "0 workers"
    assert counted(1, "process", "processes") == "1 process"
    assert counted(2, "process", "processes") == "2 processes"
