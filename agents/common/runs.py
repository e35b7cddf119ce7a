"""What a training run leaves in its run directory, the same for every agent, and the logging
that writes it.

runs/<env>__<agent>__<seed>__<time>/
    config.json            the resolved config
    events.out.tfevents.*  TensorBoard (CleanRL's tags: charts/episodic_return, ...)
    progress.csv           one row per logging interval (`PROGRESS_COLUMNS`)
    checkpoint.*           the latest good checkpoint (written atomically)
    summary.json           the outcome (`SUMMARY_KEYS` at least)
    learning_curve.png     mean return of recent episodes against steps, and the final evaluation
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.common.files import atomic_write

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
RUN_FILES = ("config.json", "progress.csv", "summary.json", "learning_curve.png")
"""Files every run writes, besides its checkpoint and TensorBoard events."""


def default_run_dir(env_id: str, agent: str, seed: int) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{env_id.replace('/', '_')}__{agent}__{seed}__{stamp}"


class EpisodeTracker:
    """Returns and lengths of the episodes running in N vector-env slots, and the returns of the
    last 100 that ended."""

    def __init__(self, num_envs: int) -> None:
        self.returns = np.zeros(num_envs, dtype=np.float64)
        self.lengths = np.zeros(num_envs, dtype=np.int64)
        self.recent: deque[float] = deque(maxlen=100)
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

    def state_dict(self, *, under_way: bool = False) -> dict[str, Any]:
        """What a checkpoint keeps: the episodes that ended, and with `under_way` the returns and
        lengths so far of those running (for a run whose envs resume their games too; otherwise
        those start again)."""
        state: dict[str, Any] = {"recent_returns": list(self.recent), "episode_count": self.count}
        if under_way:
            state["returns"], state["lengths"] = self.returns.tolist(), self.lengths.tolist()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.recent = deque(state["recent_returns"], maxlen=100)
        self.count = state["episode_count"]
        if "returns" in state:
            self.returns[:], self.lengths[:] = state["returns"], state["lengths"]


def pick_up_run(run_dir: Path, step: int, total_timesteps: int) -> None:
    """A resumed run's log picks up at its checkpoint's `step` (`trim_progress`), and stderr says
    where, or that it has no step left to train."""
    trim_progress(run_dir, step)
    if step >= total_timesteps:
        print(
            f"{run_dir} has trained its {total_timesteps:,} steps already, so it is only evaluated "
            "again; pass a larger --total-timesteps to train it longer",
            file=sys.stderr,
        )
    else:
        print(f"resuming {run_dir} at step {step:,}", file=sys.stderr)


def refill_note(step: int, learning_starts: int) -> int:
    """Says on stderr that a run resumed at `step` without its replay buffer learns again once
    `learning_starts` new steps have refilled it, and returns that step."""
    print(
        f"the replay buffer was not saved with the checkpoint (--save-buffer keeps it): it fills "
        f"again, and learning goes on at step {step + learning_starts:,}",
        file=sys.stderr,
    )
    return step + learning_starts


def trim_progress(run_dir: Path, step: int) -> None:
    """Drops the rows of `progress.csv` past `step`: a run resumed from a checkpoint at `step`
    logs those steps again (TensorBoard hides its own events past it: `Progress`'s purge_step)."""
    path = run_dir / "progress.csv"
    if not path.exists():
        return
    with open(path, newline="") as file:
        # A row cut short by a kill has fields missing: it goes too.
        rows = [
            row
            for row in csv.DictReader(file)
            if None not in row.values() and int(row["step"]) <= step
        ]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=PROGRESS_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(path, lambda file: file.write(text.getvalue().encode()))


def training_summary(
    step: int, start_step: int, wall_before: float, wall: float, episodes: EpisodeTracker
) -> dict[str, Any]:
    """The training part of summary.json: a run at `step` that started this process at
    `start_step`, trained `wall` seconds here and `wall_before` in the processes before."""
    return {
        "total_steps": step,
        "wall_seconds": round(wall_before + wall, 2),
        "sps": round((step - start_step) / max(wall, 1e-9), 1),
        "train_episodes": episodes.count,
        "train_mean_return_last_100": episodes.summary_mean(),
    }


class Progress:
    """What a run logs as it trains, for every agent: each episode as it ends (TensorBoard), and
    every `log_frequency` steps a row of progress.csv with its TensorBoard scalars, the progress
    bar (or, where none shows, a line on stderr every 10 s). The mean TD loss of a row that is not
    finite stops training (FloatingPointError). Appends when a run is resumed: TensorBoard hides
    the events a resumed run logs again (its purge_step)."""

    def __init__(
        self,
        run_dir: Path,
        episodes: EpisodeTracker,
        *,
        step: int,
        total_steps: int,
        log_frequency: int,
        wall_before: float = 0.0,
    ) -> None:
        from tensorboard.compat.proto.summary_pb2 import Summary
        from torch.utils.tensorboard import SummaryWriter
        from tqdm import tqdm

        self._summary = Summary
        self.episodes = episodes
        self.total_steps = total_steps
        self.log_frequency = log_frequency
        self.wall_before = wall_before
        # A long queue: with the default 10, logging waits on the writer thread every few events.
        # Resumed at `step`: TensorBoard hides the events of the steps after it, logged before.
        self.writer = SummaryWriter(
            str(run_dir), max_queue=1000, purge_step=step + 1 if step else None
        )
        path = run_dir / "progress.csv"
        new = not path.exists()
        self._file = open(path, "a", newline="")  # noqa: SIM115  (open for the run's lifetime)
        self._csv = csv.DictWriter(self._file, fieldnames=PROGRESS_COLUMNS)
        if new:
            self._csv.writeheader()
        self.bar = tqdm(
            total=total_steps, initial=step, unit="step", disable=None, dynamic_ncols=True
        )
        self.start_time = time.perf_counter()
        self._window_time, self._window_step, self._step = self.start_time, step, step
        self._next_row = step + log_frequency
        self._last_line = 0.0
        self._loss_sum: torch.Tensor | float = 0.0
        self._q_sum: torch.Tensor | float = 0.0
        self._updates = 0

    def window_state(self) -> dict[str, Any]:
        """What a checkpoint keeps to write the next row as the run would have without a stop:
        the step it is due at, and the losses and Q-values summed since the last row."""
        return {
            "next_row": self._next_row,
            "loss_sum": float(self._loss_sum),
            "q_sum": float(self._q_sum),
            "updates": self._updates,
        }

    def load_window_state(self, state: dict[str, Any]) -> None:
        self._next_row = state["next_row"]
        self._loss_sum, self._q_sum = state["loss_sum"], state["q_sum"]
        self._updates = state["updates"]

    def wall_seconds(self) -> float:
        """Seconds the run has trained, in this process and those before it."""
        return self.wall_before + time.perf_counter() - self.start_time

    def episode(self, step: int, episode_return: float, length: int) -> None:
        """An episode that ended at `step` (the tracker has counted it already)."""
        # Both scalars in one event: half the cost of two add_scalar calls, which on Catch's
        # 9-step episodes is a few percent of the whole training loop.
        values = [
            self._summary.Value(tag="charts/episodic_return", simple_value=episode_return),
            self._summary.Value(tag="charts/episodic_length", simple_value=length),
        ]
        self.writer.file_writer.add_summary(self._summary(value=values), step)

    def losses(
        self, td_loss: torch.Tensor | float, q_values: torch.Tensor | float, updates: int
    ) -> None:
        """The mean TD loss and Q-value of `updates` gradient steps. Device tensors are summed on
        the device: nothing waits for them until a row is written."""
        self._loss_sum = self._loss_sum + td_loss * updates
        self._q_sum = self._q_sum + q_values * updates
        self._updates += updates

    def step(self, step: int, epsilon: float) -> None:
        """The run is at `step`: moves the bar, and writes a row when one is due (or at the end)."""
        self.bar.update(step - self._step)
        self._step = step
        if step < self._next_row and step < self.total_steps:
            return
        while self._next_row <= step:
            self._next_row += self.log_frequency
        now = time.perf_counter()
        td_loss = q_values = math.nan
        if self._updates:
            td_loss = float(self._loss_sum) / self._updates
            q_values = float(self._q_sum) / self._updates
            if not math.isfinite(td_loss):
                raise FloatingPointError(f"the TD loss became {td_loss} by step {step:,}")
        row = {
            "step": step,
            "wall_seconds": self.wall_before + now - self.start_time,
            "sps": (step - self._window_step) / max(now - self._window_time, 1e-9),
            "episodes": self.episodes.count,
            "mean_return_last_100": self.episodes.mean_recent(),
            "epsilon": epsilon,
            "td_loss": td_loss,
            "q_values": q_values,
        }
        self._write(row)
        self._window_time, self._window_step = now, step
        self._loss_sum = self._q_sum = 0.0
        self._updates = 0

    def _write(self, row: dict[str, float]) -> None:
        self._csv.writerow(row)
        self._file.flush()
        step = int(row["step"])
        for tag, column in (
            ("losses/td_loss", "td_loss"),
            ("losses/q_values", "q_values"),
            ("charts/epsilon", "epsilon"),
            ("charts/SPS", "sps"),
        ):
            if not math.isnan(row[column]):
                self.writer.add_scalar(tag, row[column], step)
        recent = row["mean_return_last_100"]
        self.bar.set_postfix(sps=f"{row['sps']:,.0f}", ret=f"{recent:.2f}")
        if self.bar.disable and time.monotonic() - self._last_line >= 10:
            self._last_line = time.monotonic()
            print(
                f"step {step:,}  sps {row['sps']:,.0f}  episodes {int(row['episodes'])}  "
                f"return(last 100) {'-' if math.isnan(recent) else f'{recent:.2f}'}",
                file=sys.stderr,
                flush=True,
            )

    def flush(self) -> None:
        """Everything logged so far onto the disk (before a checkpoint is taken)."""
        self.writer.flush()
        self._file.flush()

    def close(self) -> None:
        self.bar.close()
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
        axes.plot([steps[-1]], [eval_mean], "o", label="final evaluation")
    axes.set_xlabel("environment steps")
    axes.set_ylabel("episodic return")
    axes.set_title(f"{config.get('env')}, seed {config.get('seed')}")
    axes.legend(loc="lower right")
    axes.grid(alpha=0.3)
    path = run_dir / "learning_curve.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
