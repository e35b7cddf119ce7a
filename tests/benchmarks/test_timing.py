"""benchmarks/_timing.py: the runs of a comparison take turns, so a slow spell falls on all."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _timing():
    spec = importlib.util.spec_from_file_location("_timing", BENCHMARKS / "_timing.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_interleaved_runs_take_turns_and_each_gets_its_own_rate():
    calls = []

    def run(name, seconds_a_step):
        def steps(n):
            calls.append(name)
            time.sleep(n * seconds_a_step)
            return n

        return steps

    rates = _timing().interleaved_best_rates(
        {"fast": run("fast", 0.001), "slow": run("slow", 0.004)}, seconds=0.06, repeats=3
    )
    timed = calls[-6:]  # after each run's calibration
    assert timed == ["fast", "slow"] * 3
    assert set(rates) == {"fast", "slow"} and min(rates.values()) > 0
