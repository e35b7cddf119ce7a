"""Compare agents: every env, every agent, every seed; a table and a picture per env.

    python -m agents.compare --env Catch-v0 --agents dqn sb3_dqn --seeds 3 --total-timesteps 30000
    python -m agents.compare --env Catch-v0 DQN/Catch-v0 Kaboom-v0 --agents dqn sb3_dqn --seeds 5

Each (env, agent, seed) is a run of `python -m agents NAME` in its own process: here, as many at
once as --jobs (default one per core, each given an equal share of the cores' threads). Then it
prints, and writes to <env>.md under --out-dir (default runs/compare__<env>__<time>), a table per
env and agent over the seeds: the final evaluation's mean return (mean +- std over seeds), the
steps to reach the threshold (the mean return of the last 100 training episodes, first at or
above it), steps/s, wall time and peak memory (resident set size of the run's process);
<env>.png has the learning curves (mean over seeds, band from the lowest to the highest seed)
against env steps and against wall time, and results.csv a row per run. Runs finished in
--out-dir already are not run again, so the same command resumes a grid that was interrupted
(`agents.compare.grid`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import gymnasium as gym

import registry
from agents.common.cli import Parser, UsageError, run_main
from agents.common.environments import check_env, checked_env_id
from agents.compare.grid import Run, env_dir_name, plan, prepare_out_dir, sort_out, write_results
from agents.compare.local import LocalRunner


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
    parser.add_argument("--out-dir", help="default runs/compare__<env>__<time>")
    parser.add_argument("--jobs", type=int, help="runs at once (default: one per core)")
    parser.add_argument(
        "--no-checkpoints", action="store_true", help="keep no checkpoint.* or replay-* file"
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


def _check_takes(envs: list[str], agents: list[str]) -> None:
    """A UsageError naming the env and the agents of ours that cannot train on it (actions not
    Discrete, a missing dependency or ROM). A plugin agent says so in its own run."""
    ours = [name for name in agents if name in {entry.name for entry in registry.AGENTS}]
    for env_id in envs if ours else []:
        try:
            check_env(env_id)
        except UsageError as error:
            raise UsageError(f"{' and '.join(ours)} cannot take {env_id}: {error}") from None


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
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = env_dir_name(options.env[0]) if len(options.env) == 1 else "grid"
    out_dir = Path(options.out_dir or f"runs/compare__{name}__{stamp}").absolute()
    runs = plan(out_dir, options.env, options.agents, options.seeds, agent_flags)
    runner = LocalRunner(options.jobs or os.cpu_count() or 1, len(runs), not options.no_checkpoints)
    prepare_out_dir(out_dir, agent_flags)
    left, restarted = sort_out(runs)
    again = f", {restarted} of them afresh (left half-done before)" if restarted else ""
    print(
        f"{len(runs)} runs under {out_dir}: {len(runs) - len(left)} finished already (not run "
        f"again), {len(left)} to run{again}",
        file=sys.stderr,
    )
    interrupted = False
    try:
        runner.run(left, _report)
    except KeyboardInterrupt:
        interrupted = True

    command = "python -m agents.compare " + " ".join(argv if argv is not None else sys.argv[1:])
    header = f"`{command}`, {runner.describe()}"
    print(write_results(out_dir, runs, options.env, options.agents, thresholds, header))
    print(f"results.csv and a table and a picture per env in {out_dir}", file=sys.stderr)
    if interrupted:
        print(
            "interrupted: the tables hold the runs that finished; the same command runs the rest",
            file=sys.stderr,
        )
        return 130
    return 0 if all(run.ok for run in runs) else 1


if __name__ == "__main__":
    run_main(main, "python -m agents.compare")
