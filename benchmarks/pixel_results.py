"""Learning from pixels, measured: the runs behind docs/results.md, each experiment one command.

    python benchmarks/pixel_results.py catch      # DQN/Catch-v0: dqn and sb3_dqn, 3 seeds
    python benchmarks/pixel_results.py kaboom     # Kaboom-v0 against ALE/Kaboom-v5, dqn, 2 seeds
    python benchmarks/pixel_results.py breakout   # ALE/Breakout-v5: dqn and sb3_dqn, 1 seed
    python benchmarks/pixel_results.py pong       # ALE/Pong-v5: dqn, 1 seed, up to 1M steps
    python benchmarks/pixel_results.py kaboom --report   # only the table and picture of done runs

Each (env, agent, seed) is `python -m agents AGENT --env ENV --seed SEED --run-dir DIR FLAGS` in
a process of its own, `--jobs` at a time (each with an equal share of the cores' threads), under
`--out-dir` (default runs/pixels/<experiment>/); a run with a summary.json is not run again and
one cut short goes on from its last checkpoint (every 10 minutes), so an experiment can be
stopped and resumed. SIGINT or SIGTERM (Ctrl-C, kill) stops it so: each run under way is told
once, saves its checkpoint and ends, no other starts, and the report says where each got; the
runs are in sessions of their own, so a terminal's Ctrl-C reaches them only through this script.
Then it writes docs/results/<experiment>.md (the table, the machine, the
command, the commit each run was trained at) and docs/results/<experiment>.png (the learning
curves). Peak memory is the run's maximum resident set size (Linux's VmHWM of the child, written
as it grows, so a run cut short keeps it; getrusage at its end).

The Atari-scale runs use the atari preset with a budget that fits a 2-core CPU: 300,000 agent
steps, learning from step 20,000, epsilon 1 to 0.01 over the first 10% (30,000 steps), a
100,000-transition replay buffer (SB3 keeps obs and next_obs whole: 5.6 GB at that size).
Pong's run is the same schedule at 1M steps (epsilon over the first 100,000, a 200,000-transition
buffer): longer than a 2-core CPU trains in a few hours, so it saves its replay buffer with each
checkpoint (`--save-buffer`, 1.3 GiB full) and goes on where it was stopped, buffer and all; a
report before its end gives the step it reached, as unfinished.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ATARI_300K = ["--total-timesteps", "300000", "--learning-starts", "20000",
              "--exploration-fraction", "0.1", "--buffer-size", "100000"]  # fmt: skip
ATARI_1M = ["--total-timesteps", "1000000", "--learning-starts", "20000",
            "--exploration-fraction", "0.1", "--buffer-size", "200000",
            "--save-buffer"]  # fmt: skip


@dataclass(frozen=True)
class Experiment:
    envs: tuple[str, ...]
    agents: tuple[str, ...]
    seeds: tuple[int, ...]
    flags: tuple[str, ...] = ()
    threshold: float | None = None
    """the training return whose first crossing is reported as 'steps to'"""
    players: bool = False
    """draw the scores of a random and a scripted player on each env (Kaboom's) across the
    picture, measured as benchmarks/kaboom_speed.py measures them"""

    def runs(self) -> list[tuple[str, str, int]]:
        """Every (env, agent, seed) of the experiment, env by env."""
        return [(env, agent, seed) for env in self.envs for agent in self.agents
                for seed in self.seeds]  # fmt: skip


EXPERIMENTS = {
    # The catch preset (the agents' own for Catch ids), through the Nature CNN.
    "catch": Experiment(("DQN/Catch-v0",), ("dqn", "sb3_dqn"), (1, 2, 3), threshold=0.9),
    # ALE's Kaboom reports 1 life until its game is over, so a lost bucket is never terminal
    # there; ours reports its buckets. Without life loss as terminal, both are one problem.
    "kaboom": Experiment(
        ("Kaboom-v0", "ALE/Kaboom-v5"),
        ("dqn",),
        (1, 2),
        (*ATARI_300K, "--no-terminal-on-life-loss"),
        players=True,
    ),
    "breakout": Experiment(("ALE/Breakout-v5",), ("dqn", "sb3_dqn"), (1,), tuple(ATARI_300K)),
    "pong": Experiment(("ALE/Pong-v5",), ("dqn",), (1,), tuple(ATARI_1M)),
}


def _run_dir(out_dir: Path, env_id: str, agent: str, seed: int) -> Path:
    return out_dir / env_id.replace("/", "_") / f"{agent}__seed{seed}"


PEAK_POLL_SECONDS = 5.0


def _peak_so_far(pid: int) -> float | None:
    """The peak resident memory so far of running process `pid`, in MiB (Linux's VmHWM), or
    None where /proc does not say."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def _train(run_dir: Path, env_id: str, agent: str, seed: int, flags: tuple[str, ...],
           threads: int) -> None:  # fmt: skip
    """One run in a child process; its peak memory goes to <run>.peak_mib beside it, as it grows.

    A run cut short (stopped, killed, the machine gone) goes on from its last checkpoint with
    `--resume`, its log appended to; one with no checkpoint yet starts again from nothing."""
    if _stopping:  # a stop came before this run's turn
        return
    resume = (run_dir / "checkpoint.pt").is_file() or (run_dir / "checkpoint.zip").is_file()
    if resume:
        command = [sys.executable, "-m", "agents", agent, "--resume", str(run_dir)]
    else:
        if run_dir.exists():
            for path in sorted(run_dir.rglob("*"), reverse=True):
                path.unlink() if path.is_file() else path.rmdir()
        run_dir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "agents", agent, "--env", env_id, "--seed", str(seed),
                   "--run-dir", str(run_dir), *flags]  # fmt: skip
    # The commit(s) it trains at, said before it starts so that a run cut short has them too.
    commit_file = run_dir.parent / f"{run_dir.name}.commit"
    earlier = commit_file.read_text().split() if resume and commit_file.is_file() else []
    commit_file.write_text(" ".join(dict.fromkeys([*earlier, _commit()])) + "\n")
    environment = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    # The peak is written as it grows, so that a run cut short with this script keeps it; a
    # resumed run keeps its larger earlier one.
    peak_file = run_dir.parent / f"{run_dir.name}.peak_mib"
    peak = float(peak_file.read_text()) if resume and peak_file.is_file() else 0.0
    with open(run_dir.parent / f"{run_dir.name}.log", "a" if resume else "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment,
                                   start_new_session=True)  # fmt: skip
        _under_way[process.pid] = process
        if _stopping:  # the stop came while it started
            process.send_signal(signal.SIGINT)
        try:
            while True:
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                seen = usage.ru_maxrss / 1024 if pid else _peak_so_far(process.pid)
                if seen is not None and round(seen) > round(peak):
                    peak = seen
                    peak_file.write_text(f"{peak:.0f}\n")
                if pid:
                    break
                time.sleep(PEAK_POLL_SECONDS)
        finally:
            _under_way.pop(process.pid, None)
    code = os.waitstatus_to_exitcode(status)
    if code == 128 + signal.SIGINT:
        print(f"  {env_id} {agent} seed {seed}: stopped at its checkpoint; the same command goes "
              "on from it", file=sys.stderr)  # fmt: skip
    elif code != 0:
        print(f"  {env_id} {agent} seed {seed}: FAILED, see {log.name}", file=sys.stderr)


_under_way: dict[int, subprocess.Popen] = {}
"""The runs' processes under way, by pid."""
_stopping: list[int] = []
"""The stop signal that came, if one did."""


def _stop(signum: int, _frame: object) -> None:
    """SIGINT or SIGTERM: each run under way is told once (SIGINT: it saves its checkpoint and
    ends), and `_train` starts no other."""
    if _stopping:
        return
    _stopping.append(signum)
    print(f"\n{signal.Signals(signum).name}: the runs under way save their checkpoints and stop; "
          "no other starts", file=sys.stderr, flush=True)  # fmt: skip
    for process in list(_under_way.values()):
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)


def train(experiment: Experiment, out_dir: Path, jobs: int) -> int | None:
    """Trains every run of `experiment` not done yet, `jobs` at a time. Returns the stop signal
    if SIGINT or SIGTERM stopped it (the runs under way then saved their checkpoints), else
    None."""
    runs = [(env_id, agent, seed) for seed in experiment.seeds for env_id in experiment.envs
            for agent in experiment.agents]  # fmt: skip
    todo = [run for run in runs if not (_run_dir(out_dir, *run) / "summary.json").is_file()]
    threads = max(1, (os.cpu_count() or 1) // max(1, jobs))
    print(f"{len(todo)} run(s) to train, {jobs} at a time", file=sys.stderr)
    _stopping.clear()
    previous = {signum: signal.signal(signum, _stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_train, _run_dir(out_dir, *run), *run, experiment.flags,
                                   threads) for run in todo]  # fmt: skip
            for future in futures:
                future.result()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return _stopping[0] if _stopping else None


def _curve(run_dir: Path) -> tuple[list[float], list[float], list[float]]:
    steps, walls, returns = [], [], []
    with open(run_dir / "progress.csv", newline="") as file:
        for row in csv.DictReader(file):
            if row["mean_return_last_100"] not in ("", "nan"):
                steps.append(float(row["step"]))
                walls.append(float(row["wall_seconds"]))
                returns.append(float(row["mean_return_last_100"]))
    return steps, walls, returns


def _resumed(out_dir: Path, experiment: Experiment) -> tuple[list[str], list[str]]:
    """Each run that went on from a checkpoint and the steps it went on at, from its log: those
    whose replay buffer came back with it, and those that refilled it before learning again (the
    agents say which, `agents.common.runs.refill_note`, before they say "resuming")."""
    kept, refilled = [], []
    for env_id, agent, seed in experiment.runs():
        run = _run_dir(out_dir, env_id, agent, seed)
        log = run.parent / f"{run.name}.log"
        text = log.read_text() if log.is_file() else ""
        steps: dict[bool, list[str]] = {False: [], True: []}  # refilled or not: its steps
        refilling = False
        for line in text.splitlines():
            # A resumed agent says whether its buffer must fill again before "resuming".
            refilling = refilling or line.startswith("the replay buffer was not saved")
            if resuming := re.fullmatch(r"resuming .* at step ([\d,]+)", line):
                steps[refilling].append(resuming[1])
                refilling = False
        name = f"{env_id} {agent} seed {seed}"
        if steps[False]:
            kept.append(f"{name} at step {', '.join(steps[False])}")
        if steps[True]:
            refilled.append(f"{name} at step {', '.join(steps[True])}")
    return kept, refilled


def _precision(run_dir: Path, config: dict) -> str:
    """The precision a run computed in: its config's, or for `auto` what its log says it chose."""
    precision = config.get("precision", "fp32")
    log = run_dir.parent / f"{run_dir.name}.log"
    if precision == "auto" and log.is_file():
        chosen = re.search(r"precision (\w+) \(auto", log.read_text())
        return f"{chosen[1]} (auto)" if chosen else precision
    return precision


def _commit() -> str:
    result = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True)  # fmt: skip
    return result.stdout.strip() or "unknown"


def _machine() -> str:
    from agents.common.precision import cpu_has_fast_bf16

    name = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):  # Linux: the CPU's model name, not only its architecture
        models = [line for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")]  # fmt: skip
        name = models[0].split(":", 1)[1].strip() if models else name
    return f"{os.cpu_count()} cores, {name}, bf16 hardware: {cpu_has_fast_bf16()}"


def _player_scores(env_ids: tuple[str, ...]) -> dict[str, float]:
    """Mean scores of 10 games of a random and of the scripted player on each env."""
    import numpy as np
    from kaboom_speed import play  # this folder's

    from envs.kaboom import chase_lowest_bomb

    rng = np.random.default_rng(0)
    scores = {}
    for env_id in env_ids:
        scores[f"random, {env_id}"] = play(env_id, lambda _: int(rng.integers(4)), 10)[0]
        scores[f"scripted chaser, {env_id}"] = play(env_id, chase_lowest_bomb, 10)[0]
    return scores


def report(name: str, experiment: Experiment, out_dir: Path, command: str) -> str:
    """docs/results/<name>.md and .png from the runs that finished; returns the table."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = ["| env | agent | seeds | final eval return | steps to "
            f"{experiment.threshold if experiment.threshold is not None else '-'} | "
            "train return, last 100 | wall s | steps/s | peak MiB | precision |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]  # fmt: skip
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
    commits: set[str] = set()
    for env_id in experiment.envs:
        for agent in experiment.agents:
            done = [_run_dir(out_dir, env_id, agent, seed) for seed in experiment.seeds]
            done = [run for run in done if (run / "summary.json").is_file()]
            if not done:
                continue
            summaries = [json.loads((run / "summary.json").read_text()) for run in done]
            configs = [json.loads((run / "config.json").read_text()) for run in done]
            curves = [_curve(run) for run in done]
            evals = np.array([s["eval_mean_return"] for s in summaries], dtype=float)
            reached = []
            for steps, _, returns in curves:
                threshold = experiment.threshold
                hits = [s for s, r in zip(steps, returns, strict=True)
                        if threshold is not None and r >= threshold]  # fmt: skip
                reached.append(hits[0] if hits else None)
            hit = [r for r in reached if r is not None]
            to = (
                "-"
                if experiment.threshold is None
                else (f"{np.mean(hit):,.0f} ({len(hit)}/{len(done)})" if hit else "not reached")
            )
            peaks = [
                float((run.parent / f"{run.name}.peak_mib").read_text())
                for run in done
                if (run.parent / f"{run.name}.peak_mib").is_file()
            ]
            for run in done:
                if (run.parent / f"{run.name}.commit").is_file():
                    commits.update((run.parent / f"{run.name}.commit").read_text().split())
            rows.append(
                f"| {env_id} | {agent} | {len(done)} | {evals.mean():.2f} ± {evals.std():.2f} | "
                f"{to} | {np.mean([s['train_mean_return_last_100'] for s in summaries]):.2f} | "
                f"{np.mean([s['wall_seconds'] for s in summaries]):,.0f} | "
                f"{np.mean([s['total_steps'] / s['wall_seconds'] for s in summaries]):,.0f} | "
                f"{f'{max(peaks):,.0f}' if peaks else '-'} | "
                f"{_precision(done[0], configs[0])} |"
            )
            for axis, column in ((axes[0], 0), (axes[1], 1)):
                start = max(curve[column][0] for curve in curves)
                end = min(curve[column][-1] for curve in curves)
                grid = np.linspace(start, end, 200)
                values = np.array([np.interp(grid, c[column], c[2]) for c in curves])
                (line,) = axis.plot(grid, values.mean(axis=0),
                                    label=f"{env_id} {agent} ({len(done)} seeds)")  # fmt: skip
                axis.fill_between(grid, values.min(axis=0), values.max(axis=0), alpha=0.2,
                                  color=line.get_color())  # fmt: skip
    # Runs still training (or stopped before their end): where they got, said as such.
    unfinished = ["", "| run not finished | reached step | train return, last 100 | wall s |",
                  "|---|---:|---:|---:|"]  # fmt: skip
    for env_id, agent, seed in experiment.runs():
        run = _run_dir(out_dir, env_id, agent, seed)
        if (run / "summary.json").is_file() or not (run / "progress.csv").is_file():
            continue
        steps, walls, returns = _curve(run)
        if not steps:
            continue
        if (run.parent / f"{run.name}.commit").is_file():
            commits.update((run.parent / f"{run.name}.commit").read_text().split())
        unfinished.append(f"| {env_id} {agent} seed {seed} | {steps[-1]:,.0f} | "
                          f"{returns[-1]:.2f} | {walls[-1]:,.0f} |")  # fmt: skip
        for axis, column in ((axes[0], steps), (axes[1], walls)):
            axis.plot(column, returns, linestyle=":",
                      label=f"{env_id} {agent} seed {seed} (unfinished)")  # fmt: skip
    if len(rows) == 2:  # no run has finished
        rows = ["No run has finished yet."]
    else:
        rows += ["", "Steps/s is the run's steps over its wall time, resumed or not."]
    kept, refilled = _resumed(out_dir, experiment)
    if kept:
        rows += ["", "Resumed from a checkpoint with its replay buffer, so learning went straight "
                 "on: " + "; ".join(kept) + "."]  # fmt: skip
    if refilled:
        rows += ["", "Resumed from a checkpoint without the replay buffer, so not learning again "
                 "until it had refilled (learning starts after resuming): "
                 + "; ".join(refilled) + "."]  # fmt: skip
    if len(unfinished) > 3:
        rows += unfinished
    if experiment.players:
        for axis in axes:  # the scripted player scores hundreds of times what the others do
            axis.set_yscale("symlog", linthresh=10)
        for label, value in _player_scores(experiment.envs).items():
            for axis in axes:
                axis.axhline(value, linestyle="--", linewidth=1, color="gray")
                axis.annotate(label, (0.01, value), xycoords=("axes fraction", "data"),
                              fontsize=8, va="bottom", color="gray")  # fmt: skip
    axes[0].set_ylabel("training return, mean of the last 100 episodes")
    axes[0].set_xlabel("environment steps")
    axes[1].set_xlabel("wall time (s)")
    for axis in axes:
        axis.grid(alpha=0.3)
        axis.legend(loc="lower right", fontsize=8)
    figure.suptitle(f"{name}: learning curves (band: lowest to highest seed)")
    results = REPO / "docs" / "results"
    results.mkdir(parents=True, exist_ok=True)
    figure.savefig(results / f"{name}.png", dpi=100)
    plt.close(figure)
    table = "\n".join(rows)
    (results / f"{name}.md").write_text(
        f"# {name}\n\n`{command}`\n\nMachine: {_machine()}; trained at commit(s) "
        f"{', '.join(sorted(commits))}; "
        f"{time.strftime('%Y-%m-%d')}.\n\n{table}\n\n![{name}]({name}.png)\n"
    )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("experiment", choices=sorted(EXPERIMENTS))
    parser.add_argument("--out-dir", help="default runs/pixels/<experiment>")
    parser.add_argument("--jobs", type=int, default=2, help="runs at once (default 2)")
    parser.add_argument("--report", action="store_true", help="no training: report what is done")
    options = parser.parse_args()
    experiment = EXPERIMENTS[options.experiment]
    out_dir = Path(options.out_dir or f"runs/pixels/{options.experiment}")
    stopped = None if options.report else train(experiment, out_dir, options.jobs)
    command = "python benchmarks/pixel_results.py " + options.experiment
    print(report(options.experiment, experiment, out_dir, command))
    if stopped is not None:
        sys.exit(128 + stopped)


if __name__ == "__main__":
    main()
