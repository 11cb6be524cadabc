"""The Lessons page: the tutorial's experiments as five steps, each a small comparison on the
demo origin, and the words that answer a step's question with its own comparison's numbers.

The words are made here only: the page renders them on the server, and static/lessons.js asks
for the page again when the comparison it watches moves on. Every figure in them comes from the
comparison record (`producer.reader.load_comparison`, the same record as `GET /api/compare/<id>`),
written by `web.formats` as the compare page writes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contract.records import RunSpec
from contract.settings import Settings
from contract.states import Strategy, Workload
from figures.runfacts import SAMPLES_LATE_S
from producer import presets
from producer.numbers import fixed
from producer.validation import build_spec
from web.formats import count, seconds, times
from web.presentation import DASH

#: URLs in a step's batch, and the demo origin's delay for each (fetch steps).
LESSON_URLS = 20
LESSON_DELAY_MS = 200

#: A speed-up at least this share of the overlap on offer reads "near" it.
NEAR = 0.75
#: A speed-up below this reads as no gain at all (the GIL step).
NO_GAIN = 1.3


@dataclass(frozen=True)
class Lesson:
    key: str
    title: str
    question: str
    strategies: tuple[Strategy, ...]
    workload: Workload
    concurrency: int
    button: str

    @property
    def strategy_names(self) -> list[str]:
        return [strategy.value for strategy in self.strategies]


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        "baseline",
        "Sequential: the baseline",
        "How long does a batch take when each URL waits for the one before it?",
        (Strategy.SEQUENTIAL,),
        Workload.FETCH,
        1,
        "Run sequential",
    ),
    Lesson(
        "threads",
        "Threads: waiting overlaps",
        "Do threads make the same batch faster, and by how much?",
        (Strategy.SEQUENTIAL, Strategy.THREADS),
        Workload.FETCH,
        8,
        "Compare sequential and threads",
    ),
    Lesson(
        "processes",
        "Processes: the same overlap, at a higher cost",
        "Do processes overlap the waiting as threads do, and what do they cost?",
        (Strategy.SEQUENTIAL, Strategy.THREADS, Strategy.PROCESSES),
        Workload.FETCH,
        8,
        "Compare sequential, threads and processes",
    ),
    Lesson(
        "gil",
        "The GIL: CPU-bound work",
        "When each task runs Python code instead of waiting, do threads still help?",
        (Strategy.SEQUENTIAL, Strategy.THREADS, Strategy.PROCESSES),
        Workload.CPU,
        2,
        "Compare them on the cpu workload",
    ),
    Lesson(
        "queue",
        "The queue and more workers",
        "What does spreading the batch over the workers as separate jobs buy?",
        (Strategy.SEQUENTIAL, Strategy.QUEUE),
        Workload.FETCH,
        1,
        "Compare sequential and queue",
    ),
)

BY_KEY: dict[str, Lesson] = {lesson.key: lesson for lesson in LESSONS}


def batch(lesson: Lesson, origin_url: str) -> tuple[str, ...]:
    """The step's URLs on the demo origin: `LESSON_DELAY_MS` each, or instant for `cpu`."""
    if lesson.workload is Workload.CPU:
        return presets.cpu_batch(origin_url, LESSON_URLS)
    return presets.local_demo(origin_url, LESSON_URLS, LESSON_DELAY_MS)


def lesson_spec(lesson: Lesson, settings: Settings) -> RunSpec:
    """The step's batch, checked as every submission is (allowed hosts, limits)."""
    submission = {
        "urls": list(batch(lesson, settings.origin_url)),
        "strategy": lesson.strategies[0].value,
        "concurrency": lesson.concurrency,
        "workload": lesson.workload.value,
    }
    return build_spec(submission, settings, strategy_required=False)


def batch_text(lesson: Lesson) -> str:
    """What the step runs, for the page: its strategies, batch, workload and concurrency."""
    if lesson.workload is Workload.CPU:
        each = "an instant fetch, then pure Python"
    else:
        each = f"{LESSON_DELAY_MS} ms"
    names = ", ".join(lesson.strategy_names)
    text = f"{names} · {LESSON_URLS} URLs, each {each} · {lesson.workload.value} workload"
    return f"{text} · concurrency {lesson.concurrency}"


@dataclass(frozen=True)
class Answer:
    """A step's answer: `final` once the comparison's figures can no longer change; `lines` say
    what was measured, `cautions` why it may not hold (empty when nothing says so)."""

    comparison_id: str
    final: bool
    progress: str
    lines: tuple[str, ...] = ()
    cautions: tuple[str, ...] = ()


def run_again(comparison_id: str, why: str) -> Answer:
    """No answer: the comparison cannot give this step's (`why`: "has expired")."""
    caution = f"Comparison {comparison_id} {why}: run the step."
    return Answer(comparison_id, final=True, progress="", cautions=(caution,))


@dataclass(frozen=True)
class Measured:
    """One strategy's figures in a comparison (the median over its runs: a lesson runs one)."""

    strategy: str
    wall_s: float | None
    vs_sequential: float | None
    peak: int | None
    ok: int
    tasks: int
    run: Mapping[str, Any]

    @property
    def summary(self) -> Mapping[str, Any]:
        return self.run.get("summary") or {}


def _median(row: Mapping[str, Any], name: str) -> float | None:
    stats = row.get(name)
    return None if stats is None else stats["median"]


def _measured(comparison: Mapping[str, Any]) -> dict[str, Measured]:
    runs = {run["id"]: run for run in comparison.get("runs", ())}
    found = {}
    for row in comparison.get("rows") or ():
        mine = [runs[run_id] for run_id in row["run_ids"] if run_id in runs]
        found[row["strategy"]] = Measured(
            strategy=row["strategy"],
            wall_s=_median(row, "wall_s"),
            vs_sequential=_median(row, "vs_sequential"),
            peak=row.get("peak_concurrency"),
            ok=int(row.get("ok") or 0),
            tasks=int(row.get("tasks") or 0),
            run=mine[0] if mine else {},
        )
    return found


def progress(comparison: Mapping[str, Any]) -> str:
    """Each run's strategy, state and tasks ended: "sequential done 20/20 · threads running 3/20"
    (the repeat index is not named: a lesson runs each strategy once)."""
    return " · ".join(
        f"{run['spec']['strategy']} {run['state']} {run['done']}/{run['total']}"
        for run in comparison.get("runs", ())
    )


def _plain(value: float | None) -> str:
    """A figure without a unit, to two places: "1.00 tasks in flight"."""
    return DASH if value is None else fixed(value, 2)


def _near(speedup: float | None, on_offer: int) -> str:
    if speedup is not None and speedup >= NEAR * on_offer:
        return "near"
    return "short of"


def _baseline(lesson: Lesson, m: dict[str, Measured], total: int) -> list[str]:
    s = m["sequential"]
    each = s.wall_s / total if s.wall_s is not None and total else None
    return [
        f"Sequential fetched the {total} URLs in {seconds(s.wall_s)}: {seconds(each)} a URL on "
        f"average, one at a time (at most {count(s.peak)} in flight).",
        f"On average {_plain(s.summary.get('speedup'))} tasks were in flight: each URL's wait "
        "is added to the next one's. This is the time the next steps divide by.",
    ]


def _threads(lesson: Lesson, m: dict[str, Measured], total: int) -> list[str]:
    s, t = m["sequential"], m["threads"]
    on_offer = min(lesson.concurrency, total)
    near = _near(t.vs_sequential, on_offer)
    lines = [
        f"Threads finished in {seconds(t.wall_s)} against sequential's {seconds(s.wall_s)}: "
        f"{times(t.vs_sequential)}, {near} the {on_offer} in flight "
        f"(at most {count(t.peak)} fetches overlapped).",
    ]
    if near == "near":
        lines.append(
            "While one thread waits for its answer the others send theirs: waiting overlaps, so "
            "I/O-bound work runs about as many times faster as there are threads."
        )
    else:
        lines.append(
            f"Less than the {on_offer} on offer: each fetch's own work, the threads' start, or "
            "other load on the host took the rest."
        )
    return lines


def _processes(lesson: Lesson, m: dict[str, Measured], total: int) -> list[str]:
    s, t, p = m["sequential"], m["threads"], m["processes"]
    lines = [
        f"Processes finished in {seconds(p.wall_s)}, threads in {seconds(t.wall_s)}, sequential "
        f"in {seconds(s.wall_s)}: processes {times(p.vs_sequential)} faster than sequential, "
        f"threads {times(t.vs_sequential)}.",
    ]
    if p.wall_s is None or t.wall_s is None:
        return lines
    if p.wall_s > t.wall_s:
        lines.append(
            f"Processes overlap the waiting as threads do, but cost more: starting "
            f"{lesson.concurrency} processes and sending each result back between them took "
            f"{seconds(p.wall_s - t.wall_s)} more than threads."
        )
    else:
        lines.append(
            f"This time processes were no slower than threads ({seconds(p.wall_s)} against "
            f"{seconds(t.wall_s)}): their start-up cost was lost next to the waiting."
        )
    return lines


def _took(name: str, m: Measured) -> str:
    """ "Threads took 1.2 s: 0.9x against sequential" (the GIL step's measure of each)."""
    return f"{name} took {seconds(m.wall_s)}: {times(m.vs_sequential)} against sequential"


def _gil(lesson: Lesson, m: dict[str, Measured], total: int) -> list[str]:
    s, t, p = m["sequential"], m["threads"], m["processes"]
    cores = p.summary.get("cores") or s.summary.get("cores")
    lines = [
        f"Each task now runs pure Python after an instant fetch: sequential took "
        f"{seconds(s.wall_s)}, of which {seconds(s.summary.get('work_s'))} was CPU time.",
    ]
    if t.vs_sequential is not None and t.vs_sequential < NO_GAIN:
        lines.append(
            f"{_took('Threads', t)}, no real gain. Only the thread holding the GIL runs Python, "
            f"so the {lesson.concurrency} threads take turns."
        )
    else:
        lines.append(
            f"{_took('Threads', t)}, more than the GIL allows pure Python: the fetches, which "
            "release the GIL, overlapped the others' Python."
        )
    on = f"on {cores} cores" if cores else "on the host's cores"
    if p.vs_sequential is not None and p.vs_sequential >= NO_GAIN:
        lines.append(
            f"{_took('Processes', p)}, {on}. Each process has its own interpreter and its own "
            "GIL, so their Python runs on separate cores at once."
        )
    else:
        lines.append(
            f"{_took('Processes', p)}, {on}: no spare core was free for a second process (one "
            "core, or a busy host)."
        )
    return lines


def _queue(lesson: Lesson, m: dict[str, Measured], total: int) -> list[str]:
    s, q = m["sequential"], m["queue"]
    workers = int(q.run.get("workers_at_start") or 0)
    alive = f"the {workers} workers alive" if workers else "the live workers"
    gain = times(q.vs_sequential)
    if workers:
        gain += f", {_near(q.vs_sequential, min(workers, total))} the {workers} workers"
    return [
        f"Queue made each of the {total} URLs a job of its own, and {alive} took them one at a "
        f"time each: {seconds(q.wall_s)} against sequential's {seconds(s.wall_s)}, {gain} (at "
        f"most {count(q.peak)} at once).",
        f"More workers take more jobs at once: run `fanout workers scale {max(2, workers * 2)}` "
        "(or set the target on the Workers page), then run this step again.",
    ]


EXPLAIN = {
    "baseline": _baseline,
    "threads": _threads,
    "processes": _processes,
    "gil": _gil,
    "queue": _queue,
}


def _cautions(measured: dict[str, Measured], lesson: Lesson) -> list[str]:
    said = []
    for name in lesson.strategy_names:
        m = measured[name]
        note = (m.run.get("host_load") or {}).get("note")
        if (m.run.get("host_load") or {}).get("busy"):
            said.append(f"{name}: {note or 'the worker hosts were busy during this run.'}")
        if m.ok < m.tasks:
            said.append(
                f"{name}: only {m.ok} of {m.tasks} URLs were fetched OK; failed fetches end "
                "early, so its time is not the batch's."
            )
    if not said:
        return []
    return ["This answer is not trustworthy; run the step again when the host is quiet.", *said]


def explain(lesson: Lesson, comparison: Mapping[str, Any]) -> Answer:
    """The step's answer from its comparison record: progress while it runs, then what it
    measured, with a caution for each run whose host was busy or whose fetches failed."""
    comparison_id = str(comparison["id"])
    ran = list(comparison.get("strategies") or ())
    workload = (comparison.get("spec") or {}).get("workload")
    if not set(lesson.strategy_names) <= set(ran) or workload != lesson.workload.value:
        return run_again(
            comparison_id,
            f"ran {', '.join(ran)} on the {workload} workload, not this step's "
            f"{', '.join(lesson.strategy_names)} on {lesson.workload.value}",
        )
    text = progress(comparison)
    if comparison.get("provisional", comparison.get("state") != "done"):
        if comparison.get("state") == "done":
            text += (
                ": every run has ended; the answer comes once the host load during each is in "
                f"(at most {SAMPLES_LATE_S:.0f} s), which says whether it can be trusted"
            )
        else:
            text += ": the answer appears here when every run has ended"
        return Answer(comparison_id, final=False, progress=text)
    measured = _measured(comparison)
    total = int(comparison.get("total") or 0)
    lines = EXPLAIN[lesson.key](lesson, measured, total)
    return Answer(comparison_id, True, text, tuple(lines), tuple(_cautions(measured, lesson)))
