"""Timing shared by the benchmark scripts."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from typing import Any


def best_rate(run: Callable[[int], int], seconds: float, repeats: int) -> float:
    """Steps/s of `run(n)`, which takes n iterations and returns the steps they made; the best of
    `repeats` runs, each sized from a short calibration run to last about `seconds`."""
    return interleaved_best_rates({"run": run}, seconds, repeats)["run"]


def interleaved_best_rates(
    runs: dict[str, Callable[[int], int]], seconds: float, repeats: int
) -> dict[str, float]:
    """`best_rate` of each run, the runs taking turns (each repeat times every run once), so that
    a slow spell of a shared machine falls on all of them rather than on one."""
    sizes = {name: _calibrated_iterations(run, seconds) for name, run in runs.items()}
    best = dict.fromkeys(runs, 0.0)
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            steps = run(sizes[name])
            best[name] = max(best[name], steps / (time.perf_counter() - start))
    return best


def _calibrated_iterations(run: Callable[[int], int], seconds: float) -> int:
    """The iterations of `run` that last about `seconds`, from runs growing 4x until one lasts
    over 50 ms."""
    iterations = 1
    while True:
        start = time.perf_counter()
        run(iterations)
        elapsed = time.perf_counter() - start
        if elapsed > 0.05:
            return max(1, int(iterations * seconds / elapsed))
        iterations *= 4


def stepping_runner(
    step: Callable[[Any], Sequence],
    reset: Callable[[], Any],
    actions: list[int],
    done: Callable[[Sequence], bool] = lambda result: result[2] or result[3],
) -> Callable[[int], int]:
    """A `best_rate` run that steps with `actions` in turn and resets (unseeded: the generator
    carries on) when `done(step result)`; by default at Gymnasium's terminated or truncated."""

    def run(n: int) -> int:
        for i in range(n):
            if done(step(actions[i % len(actions)])):
                reset()
        return n

    return run


def timing_parser(description: str, seconds: float) -> argparse.ArgumentParser:
    """A parser of the options every benchmark takes, --seconds and --repeats, for a benchmark
    that adds its own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seconds", type=float, default=seconds, help="length of each timed run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per figure (best kept)")
    return parser


def timing_arguments(description: str, seconds: float) -> argparse.Namespace:
    """Parses the options every benchmark takes: --seconds and --repeats."""
    return timing_parser(description, seconds).parse_args()
