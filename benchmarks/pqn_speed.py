"""Training speed of agents.pqn against agents.dqn on ALE/Pong-v5, measured in the same run, and
whether the catch preset solves Catch-v0 within its time target.

    python benchmarks/pqn_speed.py [--pong-updates 2] [--dqn-steps 3000] [--repeats 2]
                                   [--threads 1] [--precision fp32] [--catch-seeds 3]

Pong: each agent trains with its atari preset in a fresh process with the same torch threads
(`--threads`, set before anything is built) and precision; steps/s = environment steps / seconds
of the training loop, start-up (building the envs, their seeded reset) and the final evaluation
excluded. pqn runs `--pong-updates` whole updates (128 envs x 32 steps each, the paper's shape;
ale-py's vector env steps them on as many threads as there are cores, up to 128); dqn runs 1 env
(its atari preset) for `--dqn-steps` steps with learning from step 500, as
benchmarks/dqn_speed.py does. The runs alternate between the agents, and each row gives the load
average after it; target: pqn's best run at least 5x dqn's.

Catch: `python -m agents.pqn --seed S` (the catch preset), as a user runs it, for seeds 1 to
`--catch-seeds`; the training seconds are summary.json's wall_seconds. Target: evaluation return
1.0 in under 3 s of training.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
PONG = "ALE/Pong-v5"


def pong_steps_per_second(agent: str, steps: int, threads: int, precision: str) -> float:
    """Steps/s of `agent`'s training loop on Pong with its atari preset (in a fresh process)."""
    import contextlib
    import io

    import torch

    torch.set_num_threads(threads)
    from agents.common.device import setup_backends

    if agent == "pqn":
        from agents.pqn.config import PRESETS, Args
        from agents.pqn.loop import Trainer

        overrides: dict[str, Any] = {}
    else:
        from agents.dqn.config import PRESETS, Args
        from agents.dqn.loop import Trainer

        overrides = {"learning_starts": 500, "buffer_size": 10_000}
    args = dataclasses.replace(
        Args(**PRESETS["atari"]), env=PONG, total_timesteps=steps, seed=0, precision=precision,
        **overrides,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as run_dir, contextlib.redirect_stderr(io.StringIO()):
        trainer = Trainer(args, Path(run_dir), torch.device("cpu"))
        setup_backends(deterministic=False)
        return trainer.train()["sps"]


def _in_fresh_process(function, *args: Any) -> Any:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *args).result()


def catch_run(seed: int, threads: int) -> dict[str, Any]:
    """The summary of `python -m agents.pqn --seed SEED` (Catch-v0, the catch preset)."""
    with tempfile.TemporaryDirectory() as root:
        run_dir = Path(root) / "run"
        environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": str(threads)}
        subprocess.run(
            [sys.executable, "-m", "agents.pqn", "--seed", str(seed), "--run-dir", str(run_dir)],
            cwd=REPO_ROOT, env=environment, check=True, capture_output=True,
        )  # fmt: skip
        return json.loads((run_dir / "summary.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pong-updates", type=int, default=2, help="pqn updates of 4,096 steps")
    parser.add_argument("--dqn-steps", type=int, default=3_000)
    parser.add_argument("--threads", type=int, default=1, help="torch threads of every run")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    parser.add_argument("--repeats", type=int, default=2, help="Pong runs of each agent")
    parser.add_argument("--catch-seeds", type=int, default=3)
    options = parser.parse_args()
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"torch threads {options.threads}, precision {options.precision}, CPU; load {load}")
    print()
    print("| env | agent | settings | steps | steps/s | load after (1 min) |")
    print("|---|---|---|---:|---:|---:|")
    pqn_steps = options.pong_updates * 128 * 32
    cases = {
        "dqn": (options.dqn_steps, "atari preset, 1 env, learning from step 500"),
        "pqn": (pqn_steps, "atari preset: 128 envs x 32 steps, 2 epochs x 32 minibatches"),
    }
    rates: dict[str, list[float]] = {"dqn": [], "pqn": []}
    # Alternated (dqn, pqn, then pqn, dqn, ...), so that a change in the machine's load between
    # runs favours neither; the ratio is of each agent's best run.
    for repeat in range(options.repeats):
        for agent in ("dqn", "pqn") if repeat % 2 == 0 else ("pqn", "dqn"):
            steps, settings = cases[agent]
            rate = _in_fresh_process(
                pong_steps_per_second, agent, steps, options.threads, options.precision
            )
            rates[agent].append(rate)
            load = os.getloadavg()[0]
            print(f"| {PONG} | {agent} | {settings} | {steps:,} | {rate:,.0f} | {load:.2f} |")
    ratio = max(rates["pqn"]) / max(rates["dqn"])
    verdict = "met" if ratio >= 5 else "NOT met"
    print(f"pqn / dqn on Pong, best runs: {ratio:.2f}x (target >= 5x: {verdict})")
    print()
    print("| Catch-v0, catch preset | seed | training s | eval return |")
    print("|---|---:|---:|---:|")
    solved = []
    for seed in range(1, options.catch_seeds + 1):
        summary = catch_run(seed, options.threads)
        seconds, score = summary["wall_seconds"], summary["eval_mean_return"]
        solved.append(score == 1.0 and seconds < 3.0)
        print(f"| python -m agents.pqn --seed {seed} | {seed} | {seconds:.2f} | {score:.2f} |")
    verdict = "met" if all(solved) else "NOT met"
    print(f"Catch-v0 solved (eval 1.0) in under 3 s: {sum(solved)}/{len(solved)} seeds ({verdict})")
    print(f"load at the end: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")


if __name__ == "__main__":
    main()
