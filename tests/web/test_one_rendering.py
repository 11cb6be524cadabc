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
from web import compareview, formats, presentation, runnotes

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


#: A script writing a number as text itself: toFixed, toPrecision, toLocaleString, Intl, padStart,
#: or thousands grouped by a pattern of its own. The words and numbers of a page are the server's
#: (web/formats.py, the CLI's producer/numbers.py too); a chart's own formats are plotly's
#: (hovertemplate "%{y:.3f}", tickformat), read from the layout, not written by the script.
FORMATS_A_NUMBER = re.compile(
    r"\.toFixed\(|\.toPrecision\(|\.toLocaleString\(|\bIntl\.|\.padStart\(|\\d\{3\}"
)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


#: The server's formatters and notes, by the name a twin in a script would have.
SERVER_FORMATTERS = sorted(
    {
        _camel(name)
        for module in (formats, runnotes, compareview)
        for name, value in vars(module).items()
        if callable(value)
        and not name.startswith("_")
        and getattr(value, "__module__", "") == module.__name__
    }
)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_no_script_formats_a_number_itself(script: Path) -> None:
    found = [
        f"{script.name}:{number}: {line.strip()}"
        for number, line in enumerate(script.read_text().splitlines(), start=1)
        if FORMATS_A_NUMBER.search(line)
    ]
    assert not found, "the server writes the numbers (web/formats.py):\n" + "\n".join(found)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_no_script_keeps_a_twin_of_a_server_formatter(script: Path) -> None:
    text = script.read_text()
    twins = [
        name
        for name in SERVER_FORMATTERS
        if re.search(rf"\bfunction {name}\(|\b(?:const|let) {name} = ", text)
    ]
    assert not twins, f"{script.name} keeps a copy of the server's {twins}"


def test_the_forms_url_count_is_the_servers(client) -> None:
    """The new-run form counts the URLs as it is typed; the words are the server's."""
    assert client.get("/url-count?n=20000").text == "20,000 URLs"
    answer = client.get("/url-count?n=1234&in_file=1&file=<a>.txt")
    assert answer.mimetype == "text/plain"
    assert answer.text == "1,234 URLs (1 URL in <a>.txt)"


def test_the_pages_and_the_cli_write_memory_alike() -> None:
    assert formats.mib(1.5 * 2**30) == numbers.mebibytes(1.5 * 2**30) == "1,536.0 MiB"
