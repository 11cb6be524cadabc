"""How the CLI shows a batch while it runs: the progress bars' own clocks, on a clock the test
moves by hand (rich's `get_time`), so no assertion depends on how fast this machine is."""

from __future__ import annotations

import io

from rich.console import Console

from fanout.watch import StrategyBars, strategy_progress


def test_each_strategy_bar_counts_its_own_time_not_the_comparison_s():
    """sequential runs 10 s, then threads 1.3 s: threads' bar shows 0:00:01, not 0:00:11;
    with --repeat a bar adds up its own runs only."""
    clock = [100.0]
    progress = strategy_progress(Console(file=io.StringIO()), get_time=lambda: clock[0])
    bars = StrategyBars(progress, {"sequential": 4, "threads": 4})

    def elapsed(strategy: str) -> str:
        task = next(t for t in progress.tasks if t.description == strategy)
        return str(progress.columns[-1].render(task))

    bars.begin("sequential")
    clock[0] += 10.0
    assert elapsed("sequential") == "0:00:10" and elapsed("threads") == "0:00:00"
    bars.end("sequential", completed=2)
    bars.begin("threads")
    clock[0] += 1.3
    bars.end("threads", completed=2)
    assert elapsed("threads") == "0:00:01"
    clock[0] += 30.0  # time passes with no run of either
    assert elapsed("sequential") == "0:00:10" and elapsed("threads") == "0:00:01"
    bars.begin("sequential")
    clock[0] += 5.0
    bars.end("sequential", completed=4)
    assert elapsed("sequential") == "0:00:15" and elapsed("threads") == "0:00:01"
