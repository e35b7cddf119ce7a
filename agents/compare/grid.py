"""The plan of `agents.compare`: every (env, agent, seed), what ran already, and what it came to.

Under --out-dir:

    grid.json                  the agent flags every run of the grid shares (a resumed grid
                               must be given the same)
    results.csv                one row per run (`RESULT_COLUMNS`)
    <env>.md, <env>.png        per env: the table over seeds, and the learning curves
    <env>/<agent>__seed<N>/    the run's directory (`agents.common.runs`), with its log.txt
                               and compare.json (peak memory, attempts, node)

where <env> is the env id with "/" as "_" (DQN/Catch-v0: DQN_Catch-v0). A run whose directory
holds a summary.json of its env, agent and seed is finished, and not run again. One left
half-done (interrupted, failed, its worker lost) is deleted and run afresh, not resumed from its
checkpoint: a resumed run's steps/s, peak memory and, without its saved replay buffer, its
learning differ from one run straight through, and the table compares runs like for like.

A `Runner` runs the runs that are left: `local.LocalRunner` (processes here) or
`ray_runner.RayRunner` (Ray tasks). Both leave the same files in the same place.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import json
import math
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from agents.common.cli import UsageError
from agents.common.files import make_writable_dir, write_json

RESULT_COLUMNS = (
    "env",
    "agent",
    "seed",
    "status",
    "attempts",
    "eval_mean_return",
    "steps_to_threshold",
    "threshold",
    "sps",
    "wall_seconds",
    "peak_mib",
    "node",
    "run_dir",
)
"""The columns of results.csv."""
STATUSES = {
    "done": "finished, with its summary.json",
    "failed": "its process exited with an error, or without a summary.json (see its log.txt)",
    "crashed": "its Ray worker died on every attempt",
    "cancelled": "stopped by Ctrl-C",
    "not run": "not started before Ctrl-C",
}
"""What a run's status in results.csv says."""
GRID_FILE = "grid.json"
RECORD_FILE = "compare.json"


def env_dir_name(env_id: str) -> str:
    return env_id.replace("/", "_")


@dataclass
class Run:
    """One (env, agent, seed) of the grid, and how it went."""

    env: str
    agent: str
    seed: int
    run_dir: Path
    flags: list[str]
    """the agent's flags, all but --run-dir"""
    status: str = "not run"
    """a key of `STATUSES`"""
    exit_code: int | None = None
    peak_mib: float = math.nan
    attempts: int = 0
    node: str = ""
    reasons: list[str] = field(default_factory=list)
    """why an attempt ended without a result (a worker that died), and why the run failed"""

    @property
    def ok(self) -> bool:
        return self.status == "done"

    @property
    def name(self) -> str:
        return f"{self.env} {self.agent} seed {self.seed}"

    def summary(self) -> dict:
        return json.loads((self.run_dir / "summary.json").read_text())

    def curve(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(steps, wall seconds, mean return of the last 100 episodes) from progress.csv."""
        with open(self.run_dir / "progress.csv", newline="") as file:
            rows = [r for r in csv.DictReader(file) if r["mean_return_last_100"] not in ("", "nan")]
        columns = ("step", "wall_seconds", "mean_return_last_100")
        return tuple(np.array([float(r[c]) for r in rows]) for c in columns)

    def conclude(self, exit_code: int, peak_mib: float) -> None:
        """The run's process ended with `exit_code`: done if it left its summary, else failed."""
        self.exit_code, self.peak_mib = exit_code, peak_mib
        self.status = "done" if exit_code == 0 and self.summary_matches() else "failed"
        if self.status == "failed":
            self.reasons.append(f"exit {exit_code}: {last_line(self.run_dir / 'log.txt')}")

    def record(self) -> None:
        """Writes compare.json: what the runner measured, read back when the grid resumes."""
        write_json(
            self.run_dir / RECORD_FILE,
            {
                "status": self.status,
                "exit_code": self.exit_code,
                "peak_mib": None if math.isnan(self.peak_mib) else round(self.peak_mib, 1),
                "attempts": self.attempts,
                "node": self.node,
                "reasons": self.reasons,
            },
        )

    def summary_matches(self) -> bool | None:
        """Whether summary.json is this run's (None: there is none)."""
        path = self.run_dir / "summary.json"
        if not path.is_file():
            return None
        summary = self.summary()
        return (summary.get("env_id"), summary.get("agent"), summary.get("seed")) == (
            self.env,
            self.agent,
            self.seed,
        )

    def restore(self) -> bool:
        """Takes the outcome of an earlier invocation if the run finished then; False if not."""
        if not self.summary_matches():
            return False
        record_path = self.run_dir / RECORD_FILE
        record = json.loads(record_path.read_text()) if record_path.is_file() else {}
        self.status, self.exit_code = "done", 0
        self.peak_mib = record.get("peak_mib") or math.nan
        self.attempts = record.get("attempts", 1)
        self.node = record.get("node", "")
        self.reasons = record.get("reasons", [])
        return True


class Runner(Protocol):
    """What runs the runs of a grid that are left: `local.LocalRunner`, `ray_runner.RayRunner`."""

    def describe(self) -> str:
        """Where and how many at once, for the tables' header ("2 at a time on 2 cores")."""
        ...

    def run(self, runs: list[Run], finished: Callable[[Run], None]) -> None:
        """Runs each of `runs` into its run_dir (absent beforehand), fills in its outcome
        (`Run.conclude`, attempts, node) and calls `finished(run)` as each ends. On Ctrl-C it
        stops the runs under way (status "cancelled") and raises KeyboardInterrupt."""
        ...


def last_line(log: Path) -> str:
    """The last line a run wrote (its error, when it failed), and where the rest is."""
    if not log.is_file():
        return "no log"
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return f"{lines[-1].strip() if lines else 'no output'} (all of it in {log})"


def plan(
    out_dir: Path, envs: list[str], agents: list[str], seeds: int, agent_flags: list[str]
) -> list[Run]:
    """Every (env, seed, agent), agents inner-most, so the first runs to end cover every agent."""
    return [
        Run(
            env,
            agent,
            seed,
            out_dir / env_dir_name(env) / f"{agent}__seed{seed}",
            ["--env", env, "--seed", str(seed), *agent_flags],
        )
        for env in envs
        for seed in range(1, seeds + 1)
        for agent in agents
    ]


def prepare_out_dir(out_dir: Path, agent_flags: list[str]) -> None:
    """Makes `out_dir` and records `agent_flags` in its grid.json; a UsageError unless it is
    absent, empty, or a grid's whose runs took the same flags, and writable."""
    grid_file = out_dir / GRID_FILE
    if grid_file.is_file():
        taken = json.loads(grid_file.read_text()).get("agent_flags")
        if taken != agent_flags:
            raise UsageError(
                f"{out_dir} holds a grid whose runs took {' '.join(taken) or 'no flags'}, not "
                f"{' '.join(agent_flags) or 'no flags'}; resume it with the same, or pick "
                "another --out-dir"
            )
    elif out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise UsageError(
            f"{out_dir} is not an empty directory, nor the --out-dir of a grid; pick another "
            "--out-dir"
        )
    try:
        make_writable_dir(out_dir)
        write_json(grid_file, {"agent_flags": agent_flags})
    except OSError as error:
        raise UsageError(
            f"cannot write in {out_dir} ({error.strerror or error}); pick another --out-dir"
        ) from None


@contextlib.contextmanager
def grid_lock(out_dir: Path) -> Iterator[None]:
    """Holds `out_dir` for this command: a UsageError if another command holds it, which would
    take its runs under way for half-done ones and delete them (`sort_out`). The lock (flock on
    the directory itself) goes with the process, however it ends."""
    descriptor = os.open(out_dir, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(
                f"another agents.compare is running the grid in {out_dir}; let it finish (the "
                "same command then runs what it left), or pick another --out-dir"
            ) from None
        yield
    finally:
        os.close(descriptor)


def sort_out(runs: list[Run]) -> tuple[list[Run], int]:
    """(the runs left to run, how many were left half-done and are deleted to run afresh); the
    finished ones take their outcome (`Run.restore`). A UsageError for a run directory that holds
    another run's summary, before anything is deleted."""
    for run in runs:
        if run.summary_matches() is False:
            summary = run.summary()
            raise UsageError(
                f"{run.run_dir} holds a run of {summary.get('agent')} on {summary.get('env_id')} "
                f"with seed {summary.get('seed')}, not {run.name}; move it away, or pick another "
                "--out-dir"
            )
    left = [run for run in runs if not run.restore()]
    half_done = [run for run in left if run.run_dir.exists()]
    for run in half_done:
        shutil.rmtree(run.run_dir)
    return left, len(half_done)


def steps_to(run: Run, threshold: float | None) -> float | None:
    """The env steps at which the run's mean return of its last 100 episodes first reached
    `threshold` (None: not reached, or no threshold)."""
    if threshold is None:
        return None
    steps, _, returns = run.curve()
    reached = np.flatnonzero(returns >= threshold)
    return float(steps[reached[0]]) if len(reached) else None


def _seeds_cell(agent_runs: list[Run]) -> str:
    done = sum(run.ok for run in agent_runs)
    counts = {
        "failed": sum(run.status in ("failed", "crashed") for run in agent_runs),
        "retried": sum(run.ok and run.attempts > 1 for run in agent_runs),
        "not run": sum(run.status in ("cancelled", "not run") for run in agent_runs),
    }
    notes = ", ".join(f"{count} {what}" for what, count in counts.items() if count)
    return f"{done} ({notes})" if notes else f"{done}"


def table(runs: list[Run], agents: list[str], threshold: float | None) -> str:
    """One env's table, in Markdown: a row per agent over its seeds."""
    target = "threshold" if threshold is None else f"{threshold:g}"
    header = (
        f"| agent | seeds | final eval return | steps to {target} | steps/s | training s "
        "| peak MiB |"
    )
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|"]
    for agent in agents:
        agent_runs = [run for run in runs if run.agent == agent]
        done = [run for run in agent_runs if run.ok]
        if not done:
            lines.append(f"| {agent} | {_seeds_cell(agent_runs)}: see log.txt | | | | | |")
            continue
        summaries = [run.summary() for run in done]
        evals = np.array([s["eval_mean_return"] for s in summaries], dtype=float)
        hits = [r for r in (steps_to(run, threshold) for run in done) if r is not None]
        if threshold is None:
            to_threshold = "n/a"
        elif hits:
            to_threshold = f"{np.mean(hits):,.0f} ({len(hits)}/{len(done)} seeds)"
        else:
            to_threshold = f"not reached (0/{len(done)})"
        lines.append(
            f"| {agent} | {_seeds_cell(agent_runs)} | {evals.mean():.3f} ± {evals.std():.3f} | "
            f"{to_threshold} | {np.mean([s['sps'] for s in summaries]):,.0f} | "
            f"{np.mean([s['wall_seconds'] for s in summaries]):,.1f} | "
            f"{np.nanmax([run.peak_mib for run in done] + [np.nan]):,.0f} |"
        )
    return "\n".join(lines)


def notes(runs: list[Run]) -> list[str]:
    """A line for each run that was retried, failed or did not finish."""
    lines = []
    for run in runs:
        if run.ok and run.attempts > 1:
            lines.append(
                f"{run.agent} seed {run.seed}: done on attempt {run.attempts}, after "
                + "; ".join(run.reasons)
            )
        elif not run.ok:
            why = "; ".join(run.reasons) or STATUSES[run.status]
            lines.append(f"{run.agent} seed {run.seed}: {run.status}: {why}")
    return lines


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
        if axis.get_legend_handles_labels()[0]:
            axis.legend(loc="lower right")
    figure.suptitle(f"{env_id}: learning curves")
    figure.savefig(path, dpi=100)
    plt.close(figure)


def result_row(run: Run, threshold: float | None) -> dict[str, object]:
    """The run's row of results.csv."""
    row: dict[str, object] = {
        "env": run.env,
        "agent": run.agent,
        "seed": run.seed,
        "status": run.status,
        "attempts": run.attempts,
        "threshold": "" if threshold is None else threshold,
        "peak_mib": "" if math.isnan(run.peak_mib) else round(run.peak_mib, 1),
        "node": run.node,
        "run_dir": str(run.run_dir),
    }
    if run.ok:
        summary = run.summary()
        reached = steps_to(run, threshold)
        row.update(
            eval_mean_return=summary["eval_mean_return"],
            steps_to_threshold="" if reached is None else int(reached),
            sps=summary["sps"],
            wall_seconds=summary["wall_seconds"],
        )
    return row


def write_results(
    out_dir: Path,
    runs: list[Run],
    envs: list[str],
    agents: list[str],
    thresholds: dict[str, float | None],
    header: str,
) -> str:
    """results.csv, and per env <env>.md (its table under `header`) and <env>.png; returns the
    tables as text."""
    with open(out_dir / "results.csv", "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=RESULT_COLUMNS)
        writer.writeheader()
        writer.writerows(result_row(run, thresholds[run.env]) for run in runs)
    texts = []
    for env in envs:
        env_runs = [run for run in runs if run.env == env]
        seeds = max(run.seed for run in env_runs)
        body = table(env_runs, agents, thresholds[env])
        if notes(env_runs):
            body += "\n\n" + "\n".join(f"- {line}" for line in notes(env_runs))
        (out_dir / f"{env_dir_name(env)}.md").write_text(
            f"# {env}: {', '.join(agents)}, {seeds} seed(s)\n\n{header}\n\n{body}\n"
        )
        plot(env_runs, agents, env, out_dir / f"{env_dir_name(env)}.png")
        texts.append(f"{env}\n{body}")
    return "\n\n".join(texts)
