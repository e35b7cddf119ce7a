"""Compare agents: every env, every agent, every seed; a table and a picture per env.

    python -m agents.compare --env Catch-v0 --agents dqn sb3_dqn --seeds 3 --total-timesteps 30000
    python -m agents.compare --env Catch-v0 DQN/Catch-v0 Kaboom-v0 --agents dqn sb3_dqn --seeds 5
    python -m agents.compare --env Catch-v0 Kaboom-v0 --seeds 5 --ray HEAD:6379 --gpus-per-run 1

Each (env, agent, seed) is a run of `python -m agents NAME` in its own process: here, as many at
once as --jobs (default one per core, each given an equal share of the cores' threads), or with
--ray as a Ray task on a cluster (`agents.compare.ray_runner`). Then it prints, and writes to
<env>.md under --out-dir (default runs/compare__<env, or "grid">__<time>), a table per env and
agent over the seeds: the final evaluation's mean return (mean +- std over seeds), the steps to
reach the threshold (the mean return of the last 100 training episodes, first at or above it),
steps/s, wall time and peak memory (resident set size of the run's process); <env>.png has the
learning curves (mean over seeds, band from the lowest to the highest seed) against env steps and
against wall time, and results.csv a row per run. Runs finished in --out-dir already are not run
again, so the same command resumes a grid that was interrupted (`agents.compare.grid`).
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import time
from pathlib import Path

import gymnasium as gym

import registry
from agents.common.checkpoints import exit_status, signals_stop_training, stop_signal
from agents.common.cli import Parser, UsageError, run_main
from agents.common.environments import check_env, checked_env_id
from agents.compare.grid import (
    Run,
    Runner,
    env_dir_name,
    grid_lock,
    plan,
    prepare_out_dir,
    sort_out,
    write_results,
)
from agents.compare.local import LocalRunner

RAY_ONLY = ("cpus_per_run", "gpus_per_run", "max_retries", "ray_working_dir")


def _parser() -> Parser:
    parser = Parser(
        prog="python -m agents.compare",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--env", nargs="+", default=["Catch-v0"], help="env ids (default Catch-v0)")
    parser.add_argument(
        "--agents", nargs="+", default=["dqn", "sb3_dqn"], help="agent names (default dqn sb3_dqn)"
    )
    parser.add_argument(
        "--seeds", type=int, default=3, help="seeds per agent and env: 1, 2, ... (default 3)"
    )
    parser.add_argument("--total-timesteps", type=int, help="per run (default: each preset's)")
    parser.add_argument(
        "--threshold",
        type=float,
        help="return to reach, on every env (default: each env's reward_threshold)",
    )
    parser.add_argument(
        "--out-dir",
        help="default runs/compare__<env>__<time>, or compare__grid__<time> for several",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        help="runs at once (default: one per core here; with --ray, as many as the cluster has "
        "room for)",
    )
    parser.add_argument(
        "--no-checkpoints",
        action="store_true",
        help="keep no checkpoint.* or replay-* file (with --ray: do not bring them back)",
    )
    ray = parser.add_argument_group('on a Ray cluster (pip install "dqn-arcade[ray]")')
    ray.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="run each run as a Ray task; ADDRESS (HOST:PORT) of the cluster ('auto': the one "
        "`ray start` started on this machine), else RAY_ADDRESS's, else a Ray instance of its "
        "own here, on 127.0.0.1",
    )
    ray.add_argument("--cpus-per-run", type=float, help="a task's CPUs (default 1)")
    ray.add_argument(
        "--gpus-per-run",
        type=float,
        help="a task's GPUs (default 0); above 0 the run gets --device cuda",
    )
    ray.add_argument(
        "--max-retries", type=int, help="times a run whose worker dies is tried again (default 2)"
    )
    ray.add_argument(
        "--ray-working-dir",
        metavar="DIR",
        help="ship DIR (a dqn-arcade checkout) to the workers as the job's working_dir, for "
        "nodes that have its dependencies but not dqn-arcade",
    )
    return parser


def _unique(names: list[str], flag: str) -> None:
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise UsageError(f"{flag} names {', '.join(repeated)} more than once; name each once")


def _checked(options: argparse.Namespace) -> None:
    """A UsageError for the first option that cannot work; the envs as Gymnasium has them."""
    options.env = [checked_env_id(env_id) for env_id in options.env]
    _unique(options.env, "--env")
    known = registry.agents()
    unknown = [name for name in options.agents if name not in known]
    if unknown:
        raise UsageError(f"no agent named {unknown}; the agents are {sorted(known)}")
    _unique(options.agents, "--agents")
    if options.seeds < 1 or (options.jobs is not None and options.jobs < 1):
        raise UsageError("--seeds and --jobs must be at least 1")
    if options.total_timesteps is not None and options.total_timesteps < 1:
        raise UsageError("--total-timesteps must be at least 1")
    given = [name for name in RAY_ONLY if getattr(options, name) is not None]
    if options.ray is None and given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise UsageError(f"{flags} go with --ray; runs here take --jobs")
    if options.ray is not None:
        options.cpus_per_run = 1.0 if options.cpus_per_run is None else options.cpus_per_run
        options.gpus_per_run = options.gpus_per_run or 0.0
        options.max_retries = 2 if options.max_retries is None else options.max_retries
        cpus, gpus = options.cpus_per_run, options.gpus_per_run
        finite = math.isfinite(cpus) and math.isfinite(gpus)
        if not finite or cpus <= 0 or gpus < 0 or options.max_retries < 0:
            raise UsageError(
                "--cpus-per-run must be above 0, --gpus-per-run and --max-retries at least 0"
            )
        working_dir = options.ray_working_dir
        if working_dir is not None and not Path(working_dir).is_dir():
            raise UsageError(f"--ray-working-dir {working_dir} is not a directory")


def _check_takes(envs: list[str], agents: list[str]) -> None:
    """A UsageError naming the env and the agents of ours that cannot train on it (actions not
    Discrete, a missing dependency or ROM). A plugin agent says so in its own run."""
    ours = [name for name in agents if name in {entry.name for entry in registry.AGENTS}]
    for env_id in envs if ours else []:
        try:
            check_env(env_id)
        except UsageError as error:
            raise UsageError(f"{' and '.join(ours)} cannot take {env_id}: {error}") from None


def _make_runner(options: argparse.Namespace, runs: int) -> Runner:
    keep = not options.no_checkpoints
    if options.ray is None:
        return LocalRunner(options.jobs or os.cpu_count() or 1, runs, keep)
    from agents.compare.ray_runner import RayRunner

    working_dir = options.ray_working_dir
    return RayRunner(
        options.ray or None,
        options.cpus_per_run,
        options.gpus_per_run,
        options.max_retries,
        jobs=options.jobs,
        working_dir=Path(working_dir).resolve() if working_dir else None,
        keep_checkpoints=keep,
    )


def _report(run: Run) -> None:
    """A line on stderr for a run that ended; its compare.json."""
    if run.run_dir.is_dir():
        run.record()
    state = "done" if run.ok else run.status.upper()
    if run.attempts > 1:
        state += f" on attempt {run.attempts}"
    if not run.ok and run.reasons:
        state += f": {run.reasons[-1]}"
    print(f"  {run.name}: {state}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    _checked(options)
    _check_takes(options.env, options.agents)
    thresholds = {env_id: gym.spec(env_id).reward_threshold for env_id in options.env}
    if options.threshold is not None:
        thresholds = dict.fromkeys(options.env, options.threshold)
    agent_flags = []
    if options.total_timesteps is not None:
        agent_flags += ["--total-timesteps", str(options.total_timesteps)]
    if options.gpus_per_run:
        agent_flags += ["--device", "cuda"]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = env_dir_name(options.env[0]) if len(options.env) == 1 else "grid"
    out_dir = Path(options.out_dir or f"runs/compare__{name}__{stamp}").absolute()
    runs = plan(out_dir, options.env, options.agents, options.seeds, agent_flags)
    runner = _make_runner(options, len(runs))  # a missing Ray is said before anything is written
    prepare_out_dir(out_dir, agent_flags)
    with grid_lock(out_dir):
        left, restarted = sort_out(runs)
        again = f", {restarted} of them afresh (left half-done before)" if restarted else ""
        print(
            f"{len(runs)} runs under {out_dir}: {len(runs) - len(left)} finished already (not "
            f"run again), {len(left)} to run{again}",
            file=sys.stderr,
        )
        stopped_by = None  # the signal that stopped the grid
        try:
            with signals_stop_training():  # SIGTERM too: the runs under way are stopped
                runner.run(left, _report)
        except KeyboardInterrupt as stop:
            stopped_by = stop_signal(stop)
        command = "python -m agents.compare " + " ".join(argv if argv is not None else sys.argv[1:])
        header = f"`{command}`, {runner.describe()}"
        print(write_results(out_dir, runs, options.env, options.agents, thresholds, header))
    print(f"results.csv and a table and a picture per env in {out_dir}", file=sys.stderr)
    if stopped_by is not None:
        print(
            f"stopped by {signal.Signals(stopped_by).name}: the tables hold the runs that "
            "finished; the same command runs the rest",
            file=sys.stderr,
        )
        return exit_status(stopped_by)
    return 0 if all(run.ok for run in runs) else 1


if __name__ == "__main__":
    run_main(main, "python -m agents.compare")
