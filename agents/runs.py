"""What a training run leaves in its run directory, for every agent.

runs/<env>__<agent>__<seed>__<time>/
    config.json         the resolved config
    events.out.tfevents.*  TensorBoard (CleanRL's tags: charts/episodic_return, ...)
    progress.csv        one row per logging interval
    checkpoint.pt       the latest good checkpoint (written atomically)
    summary.json        the outcome (`SUMMARY_KEYS` at least)
    learning_curve.png  mean return of recent episodes against steps, and the final evaluation
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

SUMMARY_KEYS = (
    "env_id",
    "agent",
    "seed",
    "total_steps",
    "wall_seconds",
    "sps",
    "train_episodes",
    "train_mean_return_last_100",
    "eval_mean_return",
    "eval_std_return",
    "eval_episodes",
)
PROGRESS_COLUMNS = (
    "step",
    "wall_seconds",
    "sps",
    "episodes",
    "mean_return_last_100",
    "epsilon",
    "td_loss",
    "q_values",
)
TIMING_KEYS = ("wall_seconds", "sps")
"""Summary keys that vary between runs of the same seed."""


def default_run_dir(env_id: str, agent: str, seed: int) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{env_id.replace('/', '_')}__{agent}__{seed}__{stamp}"


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Writes `data` as JSON atomically: a temp file, then a rename."""
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(temp, path)


class EpisodeTracker:
    """Returns and lengths of the episodes running in N vector-env slots."""

    def __init__(self, num_envs: int, history: list[float] | None = None) -> None:
        self.returns = np.zeros(num_envs, dtype=np.float64)
        self.lengths = np.zeros(num_envs, dtype=np.int64)
        self.recent: deque[float] = deque(history or [], maxlen=100)
        self.count = 0

    def step(
        self, envs: np.ndarray, rewards: np.ndarray, ended: np.ndarray
    ) -> list[tuple[float, int]]:
        """Adds a step to slots `envs`; returns (return, length) of the episodes that `ended`."""
        self.returns[envs] += rewards
        self.lengths[envs] += 1
        finished = []
        for env in envs[ended]:
            finished.append((float(self.returns[env]), int(self.lengths[env])))
            self.record(float(self.returns[env]))
            self.returns[env] = 0.0
            self.lengths[env] = 0
        return finished

    def record(self, episode_return: float) -> None:
        """An episode that ended, with this return."""
        self.recent.append(episode_return)
        self.count += 1

    def mean_recent(self) -> float:
        return float(np.mean(self.recent)) if self.recent else math.nan

    def summary_mean(self) -> float | None:
        """`mean_recent` for JSON, which has no NaN: None before any episode has ended."""
        return self.mean_recent() if self.recent else None


def announce_resume(run_dir: Path, step: int, total_timesteps: int) -> None:
    """Says on stderr where a resumed run picks up, or that it has no step left to train."""
    if step >= total_timesteps:
        print(
            f"{run_dir} has trained its {total_timesteps:,} steps already, so it is only evaluated "
            "again; pass a larger --total-timesteps to train it longer",
            file=sys.stderr,
        )
    else:
        print(f"resuming {run_dir} at step {step:,}", file=sys.stderr)


def trim_progress(run_dir: Path, step: int) -> None:
    """Drops the rows of `progress.csv` past `step`: a run resumed from a checkpoint at `step`
    logs those steps again."""
    path = run_dir / "progress.csv"
    if not path.exists():
        return
    with open(path, newline="") as file:
        rows = [row for row in csv.DictReader(file) if int(row["step"]) <= step]
    temp = path.with_name(path.name + ".tmp")
    with open(temp, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=PROGRESS_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(temp, path)


class RunLogger:
    """TensorBoard events and `progress.csv` of one run; appends when a run is resumed."""

    def __init__(self, run_dir: Path) -> None:
        from tensorboard.compat.proto.summary_pb2 import Summary
        from torch.utils.tensorboard import SummaryWriter

        self._summary = Summary
        self.run_dir = run_dir
        # A long queue: with the default 10, logging waits on the writer thread every few events.
        self.writer = SummaryWriter(str(run_dir), max_queue=1000)
        path = run_dir / "progress.csv"
        new = not path.exists()
        self._file = open(path, "a", newline="")  # noqa: SIM115  (open for the run's lifetime)
        self._csv = csv.DictWriter(self._file, fieldnames=PROGRESS_COLUMNS)
        if new:
            self._csv.writeheader()
        self._last_line = 0.0

    def episode(self, step: int, episode_return: float, length: int) -> None:
        # Both scalars in one event: half the cost of two add_scalar calls, which on Catch's
        # 9-step episodes is a few percent of the whole training loop.
        values = [
            self._summary.Value(tag="charts/episodic_return", simple_value=episode_return),
            self._summary.Value(tag="charts/episodic_length", simple_value=length),
        ]
        self.writer.file_writer.add_summary(self._summary(value=values), step)

    def progress(self, row: dict[str, float], *, echo: bool) -> None:
        """A row of `progress.csv` and its TensorBoard scalars; with `echo`, also a line on stderr
        at most every 10 s (for logs, where no progress bar shows)."""
        self._csv.writerow({column: row.get(column, "") for column in PROGRESS_COLUMNS})
        self._file.flush()
        step = int(row["step"])
        for tag, column in (
            ("losses/td_loss", "td_loss"),
            ("losses/q_values", "q_values"),
            ("charts/epsilon", "epsilon"),
            ("charts/SPS", "sps"),
        ):
            if column in row and not math.isnan(row[column]):
                self.writer.add_scalar(tag, row[column], step)
        if echo and time.monotonic() - self._last_line >= 10:
            self._last_line = time.monotonic()
            recent = row["mean_return_last_100"]
            print(
                f"step {step:,}  sps {row['sps']:,.0f}  episodes {int(row['episodes'])}  "
                f"return(last 100) {'-' if math.isnan(recent) else f'{recent:.2f}'}",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        self.writer.close()
        self._file.close()


def plot_learning_curve(run_dir: Path, eval_mean: float | None = None) -> Path:
    """`learning_curve.png` from the run's `progress.csv`: mean return of the last 100 training
    episodes against steps, with the final greedy evaluation as a point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps, returns = [], []
    with open(run_dir / "progress.csv", newline="") as file:
        for row in csv.DictReader(file):
            if row["mean_return_last_100"] not in ("", "nan"):
                steps.append(int(row["step"]))
                returns.append(float(row["mean_return_last_100"]))
    config = json.loads((run_dir / "config.json").read_text())
    figure, axes = plt.subplots(figsize=(7, 4), layout="constrained")
    axes.plot(steps, returns, label="training: mean return of the last 100 episodes")
    if eval_mean is not None and steps:
        axes.plot([steps[-1]], [eval_mean], "o", label="final greedy evaluation")
    axes.set_xlabel("environment steps")
    axes.set_ylabel("episodic return")
    axes.set_title(f"{config.get('env')}, seed {config.get('seed')}")
    axes.legend(loc="lower right")
    axes.grid(alpha=0.3)
    path = run_dir / "learning_curve.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
