"""Compare agents side by side: every agent, every seed, one table and one picture.

    python -m agents.compare --env Catch-v0 --agents dqn sb3_dqn --seeds 3 --total-timesteps 30000

Each (agent, seed) is a run of `python -m agents NAME` in its own process under --out-dir
(default runs/compare__<env>__<time>), as many at once as --jobs (default: one per core, each
given an equal share of the cores' threads). Then it prints, and writes to comparison.md, a table
per agent over the seeds: the final evaluation's mean return (mean +- std over seeds), the steps
to reach the threshold (the mean return of the last 100 training episodes, first at or above it),
steps/s, wall time and peak memory (resident set size of the run's process); and it draws
comparison.png: learning curves (mean over seeds, band from the lowest to the highest seed)
against env steps and against wall time.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np

import registry
from agents.common.cli import Parser, UsageError, run_main
from agents.common.environments import checked_env_id
from agents.common.files import make_writable_dir


@dataclass
class Run:
    agent: str
    seed: int
    run_dir: Path
    status: int = -1
    peak_mib: float = float("nan")

    @property
    def ok(self) -> bool:
        return self.status == 0 and (self.run_dir / "summary.json").is_file()

    def summary(self) -> dict:
        return json.loads((self.run_dir / "summary.json").read_text())

    def curve(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(steps, wall seconds, mean return of the last 100 episodes) from progress.csv."""
        with open(self.run_dir / "progress.csv", newline="") as file:
            rows = [r for r in csv.DictReader(file) if r["mean_return_last_100"] not in ("", "nan")]
        columns = ("step", "wall_seconds", "mean_return_last_100")
        return tuple(np.array([float(r[c]) for r in rows]) for c in columns)


def _peak_kib(pid: int) -> float:
    """The process's resident-set high-water mark (VmHWM, Linux), or NaN where there is none.
    (A child's ru_maxrss is no use: it starts from the parent's size at the fork.)"""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1])
    except OSError:
        pass
    return float("nan")


def _launch(run: Run, extra: list[str], threads: int) -> Run:
    """Runs one agent in a child process, logging to run_dir/log.txt, and samples its peak RSS
    while it runs."""
    run.run_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "agents", run.agent, "--seed", str(run.seed),
               "--run-dir", str(run.run_dir), *extra]  # fmt: skip
    environment = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    peak = float("nan")
    with open(run.run_dir / "log.txt", "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment)
        while process.poll() is None:
            peak = np.fmax(peak, _peak_kib(process.pid))
            time.sleep(0.1)
    run.status = process.returncode
    run.peak_mib = peak / 1024
    return run


def _last_line(log: Path) -> str:
    """The last line a run wrote (its error, when it failed), and where the rest is."""
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return f"{lines[-1].strip() if lines else 'no output'} (all of it in {log})"


def _steps_to(run: Run, threshold: float | None) -> float | None:
    if threshold is None:
        return None
    steps, _, returns = run.curve()
    reached = np.flatnonzero(returns >= threshold)
    return float(steps[reached[0]]) if len(reached) else None


def table(runs: list[Run], agents: list[str], threshold: float | None) -> str:
    """The comparison table, in Markdown."""
    target = "threshold" if threshold is None else f"{threshold:g}"
    header = (
        f"| agent | seeds | final eval return | steps to {target} | steps/s | training s "
        "| peak MiB |"
    )
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|"]
    for agent in agents:
        done = [run for run in runs if run.agent == agent and run.ok]
        failed = sum(run.agent == agent and not run.ok for run in runs)
        if not done:
            lines.append(f"| {agent} | 0 ({failed} failed: see log.txt) | | | | | |")
            continue
        summaries = [run.summary() for run in done]
        evals = np.array([s["eval_mean_return"] for s in summaries])
        reached = [_steps_to(run, threshold) for run in done]
        hits = [r for r in reached if r is not None]
        if threshold is None:
            to_threshold = "n/a"
        elif hits:
            to_threshold = f"{np.mean(hits):,.0f} ({len(hits)}/{len(done)} seeds)"
        else:
            to_threshold = f"not reached (0/{len(done)})"
        seeds = f"{len(done)}" + (f" ({failed} failed)" if failed else "")
        lines.append(
            f"| {agent} | {seeds} | {evals.mean():.3f} ± {evals.std():.3f} | {to_threshold} | "
            f"{np.mean([s['sps'] for s in summaries]):,.0f} | "
            f"{np.mean([s['wall_seconds'] for s in summaries]):,.1f} | "
            f"{np.nanmax([run.peak_mib for run in done] + [np.nan]):,.0f} |"
        )
    return "\n".join(lines)


def plot(runs: list[Run], agents: list[str], env_id: str, path: Path) -> None:
    """Learning curves per agent: mean over seeds, band from min to max, against env steps and
    against wall time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
    for agent in agents:
        curves = [run.curve() for run in runs if run.agent == agent and run.ok]
        curves = [c for c in curves if len(c[0]) > 1]
        if not curves:
            continue
        for axis, (column, label) in zip(
            axes, ((0, "environment steps"), (1, "wall time (s)")), strict=True
        ):
            end = min(curve[column][-1] for curve in curves)
            grid = np.linspace(max(curve[column][0] for curve in curves), end, 100)
            values = np.array([np.interp(grid, curve[column], curve[2]) for curve in curves])
            (line,) = axis.plot(grid, values.mean(axis=0), label=f"{agent} ({len(curves)} seeds)")
            axis.fill_between(grid, values.min(axis=0), values.max(axis=0), alpha=0.2,
                              color=line.get_color())  # fmt: skip
            axis.set_xlabel(label)
    axes[0].set_ylabel("mean return, last 100 episodes")
    for axis in axes:
        axis.grid(alpha=0.3)
        axis.legend(loc="lower right")
    figure.suptitle(f"{env_id}: learning curves")
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = Parser(
        prog="python -m agents.compare",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--env", default="Catch-v0", help="the env id (default Catch-v0)")
    parser.add_argument("--agents", nargs="+", default=["dqn", "sb3_dqn"],
                        help="agent names (default dqn sb3_dqn)")  # fmt: skip
    parser.add_argument("--seeds", type=int, default=3,
                        help="seeds per agent: 1, 2, ... (default 3)")  # fmt: skip
    parser.add_argument("--total-timesteps", type=int, help="per run (default: each preset's)")
    parser.add_argument("--threshold", type=float,
                        help="return to reach (default: the env's reward_threshold)")  # fmt: skip
    parser.add_argument("--out-dir", help="default runs/compare__<env>__<time>")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="runs at once (default: one per core)")  # fmt: skip
    options = parser.parse_args(argv)
    options.env = checked_env_id(options.env)
    known = registry.agents()
    unknown = [name for name in options.agents if name not in known]
    if unknown:
        raise UsageError(f"no agent named {unknown}; the agents are {sorted(known)}")
    repeated = sorted({name for name in options.agents if options.agents.count(name) > 1})
    if repeated:
        raise UsageError(f"--agents names {', '.join(repeated)} more than once; name each once")
    if options.seeds < 1 or options.jobs < 1:
        raise UsageError("--seeds and --jobs must be at least 1")
    if options.total_timesteps is not None and options.total_timesteps < 1:
        raise UsageError("--total-timesteps must be at least 1")
    threshold = options.threshold
    if threshold is None:
        threshold = gym.spec(options.env).reward_threshold
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out_dir = Path(options.out_dir or f"runs/compare__{options.env.replace('/', '_')}__{stamp}")
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise UsageError(f"{out_dir} is not an empty directory; pick another --out-dir")
    try:
        make_writable_dir(out_dir)
    except OSError as error:
        raise UsageError(
            f"cannot write in {out_dir} ({error.strerror}); pick another --out-dir"
        ) from None
    extra = ["--env", options.env]
    if options.total_timesteps is not None:
        extra += ["--total-timesteps", str(options.total_timesteps)]
    runs = [
        Run(agent, seed, out_dir / f"{agent}__seed{seed}")
        for seed in range(1, options.seeds + 1)
        for agent in options.agents
    ]
    jobs = min(options.jobs, len(runs))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    print(f"{len(runs)} runs, {jobs} at a time, under {out_dir}", file=sys.stderr)
    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            for run in pool.map(lambda r: _launch(r, extra, threads), runs):
                log = run.run_dir / "log.txt"
                state = "done" if run.ok else f"FAILED (exit {run.status}): {_last_line(log)}"
                print(f"  {run.agent} seed {run.seed}: {state}", file=sys.stderr)
    except KeyboardInterrupt:  # the runs got the Ctrl-C too, and checkpointed
        print(f"\ninterrupted; the runs so far are in {out_dir}", file=sys.stderr)
        return 130

    text = table(runs, options.agents, threshold)
    command = "python -m agents.compare " + " ".join(argv if argv is not None else sys.argv[1:])
    (out_dir / "comparison.md").write_text(
        f"# {options.env}: {', '.join(options.agents)}, {options.seeds} seed(s)\n\n"
        f"`{command}`, {jobs} run(s) at a time on {os.cpu_count()} cores\n\n{text}\n"
    )
    plot(runs, options.agents, options.env, out_dir / "comparison.png")
    print(text)
    print(f"comparison.md and comparison.png in {out_dir}", file=sys.stderr)
    return 0 if all(run.ok for run in runs) else 1


if __name__ == "__main__":
    run_main(main, "python -m agents.compare")
