"""Text colours meet WCAG AA (4.5:1 for normal text): every badge, and muted text on each
background it sits on. White on the ok and running colours was 3.3:1 and 3.7:1, and muted text
4.4:1 on the page background, before this was checked.

The badges of states take their colours from web/presentation.py (the one definition, which
presentation.css hands to the page: test_format_agreement.py checks the browser computes them);
the default badge and everything else is in app.css."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from web import presentation

CSS = (Path(__file__).resolve().parents[2] / "web" / "static" / "app.css").read_text()
AA = 4.5


def _variables() -> dict[str, str]:
    return dict(re.findall(r"(--[\w-]+):\s*(#[0-9a-fA-F]{6})\b", CSS))


def _resolve(value: str) -> str:
    value = value.strip()
    match = re.fullmatch(r"var\((--[\w-]+)\)", value)
    return _variables()[match.group(1)] if match else value


def _rules() -> dict[str, dict[str, str]]:
    """Selector -> {property: colour} for rules that set colours (a selector list gives each of
    its selectors the same colours)."""
    rules: dict[str, dict[str, str]] = {}
    for selectors, body in re.findall(r"^([.\w-][^{]*?)\s*\{([^}]*)\}", CSS, flags=re.M):
        props = dict(re.findall(r"(?:^|;)\s*(background|color):\s*([^;]+)", body))
        if props:
            for selector in selectors.split(","):
                rules[selector.strip()] = {k: _resolve(v) for k, v in props.items()}
    return rules


def _luminance(colour: str) -> float:
    if len(colour) == 4:  # #abc is #aabbcc
        colour = "#" + "".join(ch * 2 for ch in colour[1:])
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_matches_the_published_figures() -> None:
    assert contrast("#ffffff", "#16a34a") == pytest.approx(3.30, abs=0.01)  # the old ok badge
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)


#: Selector -> {property: colour} of every state's badge, from the one definition.
STATE_BADGES = {
    f".{kind}-{name}": {"background": look.background, "color": look.text}
    for kind, states in presentation.BADGES.items()
    for name, look in states.items()
}
BADGES = sorted({".badge", *STATE_BADGES})


@pytest.mark.parametrize("selector", BADGES)
def test_every_badge_text_meets_aa(selector: str) -> None:
    base = _rules()[".badge"]
    colours = base | STATE_BADGES.get(selector, {})
    ratio = contrast(colours["color"], colours["background"])
    assert ratio >= AA, (
        f"{selector}: {colours['color']} on {colours['background']} is {ratio:.2f}:1"
    )


def test_the_badges_were_found() -> None:
    assert {".state-ok", ".state-running", ".run-done", ".worker-dead"} <= set(BADGES)


def test_app_css_does_not_colour_states_a_second_time() -> None:
    """presentation.css colours the states; a rule in app.css would be a second definition."""
    twice = [s for s in _rules() if re.fullmatch(r"\.(state|run|worker)-[\w-]+", s)]
    assert not twice, f"app.css colours {twice}: web/presentation.py does"


@pytest.mark.parametrize("background", ["--bg", "--card", "#f8fafc", "--accent-soft"])
def test_muted_text_meets_aa_on_every_background(background: str) -> None:
    variables = _variables()
    ground = variables.get(background, background)
    ratio = contrast(variables["--muted"], ground)
    assert ratio >= AA, f"muted {variables['--muted']} on {ground} is {ratio:.2f}:1"
