"""Every colour and number format has one definition: the charts' colours are CSS custom
properties (web/presentation.py's stylesheet) that the scripts read from the page, never literals
in the scripts; the web pages' formatter is the CLI's (producer/numbers.py), not a copy of it.

tests/web/test_format_agreement.py checks in a browser that a chart draws with the stylesheet's
colour."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from producer import numbers
from web import formats, presentation

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
#: A colour written in a script: #abc, #aabbcc (#aabbccdd too), rgb(...) or rgba(...).
COLOUR_LITERAL = re.compile(r"#[0-9a-fA-F]{3,8}\b|\brgba?\(")
SCRIPTS = sorted(path for path in STATIC.glob("*.js"))


def test_there_are_scripts_to_check() -> None:
    assert len(SCRIPTS) >= 5


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_no_script_writes_a_colour_of_its_own(script: Path) -> None:
    found = [
        f"{script.name}:{number}: {line.strip()}"
        for number, line in enumerate(script.read_text().splitlines(), start=1)
        if COLOUR_LITERAL.search(line)
    ]
    assert not found, "colours belong in web/presentation.py:\n" + "\n".join(found)


def test_the_stylesheet_defines_every_chart_colour() -> None:
    sheet = presentation.stylesheet()
    for name, colour in presentation.CHART_COLOURS.items():
        assert f"  --chart-{name}: {colour};" in sheet
    for name, look in presentation.TASK_STATES.items():
        assert f"  --state-{name}: {look.chart};" in sheet


def test_the_pages_round_numbers_with_the_clis_formatter() -> None:
    assert formats.fixed is numbers.fixed
