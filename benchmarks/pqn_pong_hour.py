"""PQN on ALE/Pong-v5 for one hour of wall time on this machine, then its evaluation and its
learning curve against wall time and against steps.

    nohup python benchmarks/pqn_pong_hour.py --run-dir runs/pqn_pong_hour > pong_hour.log 2>&1 &

runs

    python -m agents.pqn --env ALE/Pong-v5 --total-timesteps 2500000 --run-dir RUN

(the atari preset: the paper's values, epsilon 1 -> 0.001 over the first 250k steps; checkpoints
every 10 minutes), stops it with SIGINT when `--minutes` have passed since it was started (start-up
included), so that it checkpoints after the update under way, then evaluates the checkpoint
(`--evaluate RUN --episodes 10`, epsilon 0.05 as every evaluation of ours, and greedy), and writes
`--figure` (default docs/pqn_pong.png) from the run's progress.csv. A run that reaches
total-timesteps first evaluates itself and ends; `python -m agents.pqn --resume RUN` continues a
stopped one. On a machine shared with other jobs, `--threads 1` (torch's threads) is faster than
torch's default of one a core (benchmarks/pqn_speed.py measures either). The last lines printed
are the results, as a table row.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TARGET = 18.0
STOPPED = 128 + signal.SIGINT
"""The agents' exit status after a SIGINT stopped them at a checkpoint."""


def train(run_dir: Path, total_timesteps: int, minutes: float, env: dict[str, str]) -> float:
    """Trains until total-timesteps or `minutes` of wall time; returns the minutes it ran. Exits
    with the run's status if it failed (a run directory in use, a crash): its last checkpoint and
    progress.csv would be an older result than the one asked for."""
    command = [sys.executable, "-m", "agents.pqn", "--env", "ALE/Pong-v5",
               "--total-timesteps", str(total_timesteps), "--run-dir", str(run_dir)]  # fmt: skip
    print("$", " ".join(command[1:]).replace(sys.executable, "python"), flush=True)
    start = time.monotonic()
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env)
    try:
        process.wait(timeout=minutes * 60)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)  # it checkpoints once the update under way is done
        if process.wait() == STOPPED:
            return (time.monotonic() - start) / 60
    if process.returncode != 0:
        sys.exit(f"the run failed (exit status {process.returncode}; it said why above), so "
                 f"nothing of {run_dir} is evaluated or plotted")  # fmt: skip
    return (time.monotonic() - start) / 60


def evaluate(run_dir: Path, epsilon: float, env: dict[str, str]) -> tuple[float, float]:
    """Mean and standard deviation of 10 evaluation episodes of the run's checkpoint."""
    result = subprocess.run(
        [sys.executable, "-m", "agents.pqn", "--evaluate", str(run_dir), "--episodes", "10",
         "--eval-epsilon", str(epsilon)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    found = re.search(r"mean return (-?[\d.]+) \+- ([\d.]+)", result.stdout)
    return float(found[1]), float(found[2])


def progress(run_dir: Path) -> list[dict[str, float]]:
    with open(run_dir / "progress.csv", newline="") as file:
        return [{key: float(value) for key, value in row.items()} for row in csv.DictReader(file)]


def plot(rows: list[dict[str, float]], evaluation: float, figure: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [row for row in rows if not math.isnan(row["mean_return_last_100"])]
    minutes = [row["wall_seconds"] / 60 for row in rows]
    steps = [row["step"] / 1e6 for row in rows]
    returns = [row["mean_return_last_100"] for row in rows]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True, layout="constrained")
    for axis, x, label in ((axes[0], minutes, "training wall time (minutes)"),
                           (axes[1], steps, "environment steps (millions)")):  # fmt: skip
        axis.plot(x, returns, label="training episodes (epsilon-greedy), mean of the last 100")
        axis.plot([x[-1]], [evaluation], "o", label="evaluation, 10 episodes (epsilon 0.05)")
        axis.axhline(TARGET, color="grey", linestyle="--", linewidth=1, label="+18")
        axis.set_xlabel(label)
        axis.set_xlim(left=0)
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("episodic return")
    axes[0].legend(loc="upper left")
    fig.suptitle("agents.pqn on ALE/Pong-v5, atari preset, 2-core CPU")
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(figure, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", type=Path, default=Path("runs/pqn_pong_hour"))
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--total-timesteps", type=int, default=2_500_000)
    parser.add_argument("--figure", type=Path, default=REPO_ROOT / "docs" / "pqn_pong.png")
    parser.add_argument(
        "--threads", type=int, help="torch threads (OMP_NUM_THREADS; default: torch's, one a core)"
    )
    options = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    if options.threads:
        env["OMP_NUM_THREADS"] = str(options.threads)
    print(f"load before: {' '.join(f'{value:.2f}' for value in os.getloadavg())}", flush=True)
    ran = train(options.run_dir, options.total_timesteps, options.minutes, env)
    print(f"load after: {' '.join(f'{value:.2f}' for value in os.getloadavg())}", flush=True)
    rows = progress(options.run_dir)
    mean, std = evaluate(options.run_dir, 0.05, env)
    greedy, greedy_std = evaluate(options.run_dir, 0.0, env)
    plot(rows, mean, options.figure)
    # A row before any episode ended holds NaN, which is never >= TARGET.
    reached = next((row for row in rows if row["mean_return_last_100"] >= TARGET), None)
    when = (
        f"{reached['wall_seconds'] / 60:.1f} min, {reached['step']:,.0f} steps"
        if reached
        else "not reached"
    )
    last = rows[-1]
    print(json.dumps({"minutes_run": round(ran, 1), "last_row": last}, indent=2))
    print("| wall min (training) | steps | steps/s | train return (last 100) | first >= +18 "
          "(train) | eval (eps 0.05) | eval (greedy) |")  # fmt: skip
    print("|---:|---:|---:|---:|---|---:|---:|")
    print(
        f"| {ran:.1f} ({last['wall_seconds'] / 60:.1f}) | {last['step']:,.0f} | "
        f"{last['step'] / last['wall_seconds']:,.0f} | {last['mean_return_last_100']:.2f} | "
        f"{when} | {mean:.2f} +- {std:.2f} | {greedy:.2f} +- {greedy_std:.2f} |"
    )
    print(f"+18 within {options.minutes:g} minutes (evaluation, 10 episodes): "
          f"{'yes' if mean >= TARGET else 'no'}")  # fmt: skip


if __name__ == "__main__":
    main()
