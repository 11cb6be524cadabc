"""How the pages show states and numbers: labels, colours and number formats, defined once.

Three renderings follow this one definition:

* the server: the Jinja filters of web/formats.py read it; the pages' scripts place the server's
  rendering and write no word or number of their own (tests/web/test_one_rendering.py);
* the browser's charts: every page carries `page_data()` as JSON (base.html,
  `#fanout-presentation`, a data block the Content-Security-Policy lets through since it never
  runs): the timeline's legend and lanes, read by web/static/fanout.js;
* the stylesheet: `stylesheet()` sets the colours as CSS custom properties, with the badge rules
  that use them, served as /static/presentation.css after app.css. The charts read their
  colours, the states' and CHART_COLOURS, from these properties (fanout.js `colour`).

tests/web/test_format_agreement.py holds a live page to its reload, and the browser's computed
badge colours to this module;
tests/web/test_contrast.py holds the badges to WCAG AA.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from contract.states import RunState, TaskState

#: Shown for a value that does not exist (yet): an en dash.
DASH = "\u2013"


@dataclass(frozen=True)
class Look:
    """A state's label and badge colours (text on background at least 4.5:1, WCAG AA); `chart`
    is its colour in charts and legends, where no text sits on it."""

    label: str
    background: str
    text: str
    chart: str | None = None


WHITE = "#ffffff"

#: Task states, in the order the pages list them. White needs a darker badge than the chart's
#: ok and running (white on #16a34a is 3.3:1, on #3b82f6 3.7:1).
TASK_STATES: dict[str, Look] = {
    TaskState.PENDING.value: Look("pending", "#cbd5e1", "#334155", chart="#cbd5e1"),
    TaskState.RUNNING.value: Look("running", "#2563eb", WHITE, chart="#3b82f6"),
    TaskState.OK.value: Look("ok", "#15803d", WHITE, chart="#16a34a"),
    TaskState.HTTP_ERROR.value: Look("HTTP error", "#f59e0b", "#1f1300", chart="#f59e0b"),
    TaskState.ERROR.value: Look("error", "#dc2626", WHITE, chart="#dc2626"),
    TaskState.TIMEOUT.value: Look("timeout", "#9333ea", WHITE, chart="#9333ea"),
    TaskState.REFUSED.value: Look("refused", "#a16207", WHITE, chart="#a16207"),
    TaskState.LOST.value: Look("lost", "#334155", WHITE, chart="#334155"),
}

RUN_STATES: dict[str, Look] = {
    RunState.QUEUED.value: Look("queued", "#e2e8f0", "#334155"),
    RunState.RUNNING.value: Look("running", "#dbeafe", "#1d4ed8"),
    RunState.DONE.value: Look("done", "#dcfce7", "#166534"),
}

#: Workers as the workers page names them: RQ's busy and idle, and fanout's dead and gone.
WORKER_STATES: dict[str, Look] = {
    "busy": Look("busy", "#dbeafe", "#1d4ed8"),
    "idle": Look("idle", "#f1f5f9", "#475569"),
    "dead": Look("dead", "#fee2e2", "#991b1b"),
    "gone": Look("gone", "#fee2e2", "#991b1b"),
}

#: The charts' colours beside the states' (`--chart-<name>` on the page, read by the scripts'
#: charts): their frame and text, their series, and the timeline's busy scale. Eight digits carry
#: an alpha (#ffffff00 is transparent).
CHART_COLOURS: dict[str, str] = {
    "text": "#334155",
    "muted": "#64748b",
    "ink": "#0f172a",
    "paper": "#ffffff00",
    "plot": "#ffffff",
    "grid": "#e2e8f0",
    "hover": "#0f172a",
    "hover-text": "#f8fafc",
    "bar-edge": "#ffffffe6",
    "primary": "#4f46e5",  # the measured series: wall time, throughput, tasks ended
    "secondary": "#f59e0b",  # the series beside it: the USL fit, live workers
    "spread": "#1e1b4b",  # min-max whiskers on the primary
    "ideal": "#a5b4fc",  # the ideal lower bound, as a bar
    "ideal-line": "#0f172a",  # the ideal, as a line across the timeline
    "guide": "#94a3b8",  # linear scaling
    "left-out": "#dc2626",  # sweep points left out of the fit
    "busy-none": "#f8fafc",
    "busy-low": "#dbeafe",
    "busy-full": "#1d4ed8",
}

#: Badge class prefix (`state-ok`, `run-done`, `worker-busy`) -> the states it colours.
BADGES: dict[str, dict[str, Look]] = {
    "state": TASK_STATES,
    "run": RUN_STATES,
    "worker": WORKER_STATES,
}


@dataclass(frozen=True)
class NumberFormat:
    """`value * scale` to `decimals` places (ties away from zero, see formats.fixed), thousands
    grouped with `,` when `grouped`, then `unit`."""

    decimals: int
    unit: str = ""
    scale: int = 1
    grouped: bool = False


NUMBERS: dict[str, NumberFormat] = {
    "count": NumberFormat(0, grouped=True),
    "millis": NumberFormat(0, " ms", scale=1000, grouped=True),
    "percent": NumberFormat(0, " %", scale=100),
    "times": NumberFormat(2, "\u00d7"),
    "rate": NumberFormat(1, " /s", grouped=True),
    "offset_s": NumberFormat(1, " s"),  # "4 workers from +3.1 s"
    "cores": NumberFormat(2),  # "host-a 0.60 cores"
}


#: An executor, as the timeline names its lane: host / worker / pid / thread.
LANE_SEPARATOR = " / "


def page_data() -> dict[str, Any]:
    """What the charts name, as the JSON every page carries for fanout.js: the task states'
    labels as a list, in their order (Jinja's `tojson` sorts the keys of objects), and the
    lanes' separator."""
    return {
        "states": [{"name": name, "label": look.label} for name, look in TASK_STATES.items()],
        "lane_separator": LANE_SEPARATOR,
    }


_NAME = re.compile(r"[a-z][a-z0-9_]*")
_COLOUR = re.compile(r"#[0-9a-f]{6}(?:[0-9a-f]{2})?")


@cache
def stylesheet() -> str:
    """The badge colours as custom properties (`--state-ok-bg`, `--state-ok-text`, and
    `--state-ok` for the chart colour), and the badge rules that use them; chips' dots take
    the chart colour, as the timeline does. Then the charts' own colours (`--chart-grid`)."""
    variables, rules = [], []
    for kind, states in BADGES.items():
        for name, look in states.items():
            colours = [look.background, look.text] + ([look.chart] if look.chart else [])
            if not _NAME.fullmatch(name) or not all(map(_COLOUR.fullmatch, colours)):
                raise ValueError(f"not a CSS name or colour: {kind} {name} {look}")
            var = f"--{kind}-{name}"
            variables += [f"  {var}-bg: {look.background};", f"  {var}-text: {look.text};"]
            rules.append(f".{kind}-{name} {{ background: var({var}-bg); color: var({var}-text); }}")
            if look.chart:
                variables.append(f"  {var}: {look.chart};")
                rules.append(f".dot.{kind}-{name} {{ background: var({var}); }}")
    for name, colour in CHART_COLOURS.items():
        if not re.fullmatch(r"[a-z][a-z-]*", name) or not _COLOUR.fullmatch(colour):
            raise ValueError(f"not a CSS name or colour: chart {name} {colour}")
        variables.append(f"  --chart-{name}: {colour};")
    head = "/* Generated from web/presentation.py, where these colours are defined. */"
    return "\n".join([head, ":root {", *variables, "}", *rules, ""])


@cache
def stylesheet_version() -> str:
    """A digest of the stylesheet: its URL changes with it, so it can be cached for a year."""
    return hashlib.sha256(stylesheet().encode()).hexdigest()[:16]
