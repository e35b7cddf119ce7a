"""Plugin agents the compare tests install through the `dqn_arcade.agents` entry-point group:
`tiny` plays at random and writes what the agent interface asks for; `crashy` (Ray tests) kills
the Ray worker running it on its first attempt; `sleepy` waits to be interrupted."""

from __future__ import annotations

import os
from pathlib import Path

from helpers import REPO_ROOT

TINY_AGENT = '''
"""A tiny plugin agent: it plays at random, and writes what the agent interface asks for."""

import argparse
import json
from pathlib import Path

import gymnasium as gym
import numpy as np

import registry  # noqa: F401
from agents.common.files import write_json
from agents.common.runs import PROGRESS_COLUMNS


def main(argv=None, name="tiny"):
    parser = argparse.ArgumentParser()
    for flag in ("--env", "--run-dir"):
        parser.add_argument(flag)
    for flag in ("--seed", "--total-timesteps"):
        parser.add_argument(flag, type=int)
    args, _ = parser.parse_known_args(argv)
    run_dir = Path(args.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    env = gym.make(args.env)
    rng = np.random.default_rng(args.seed)
    returns, steps, total, rows = [], 0, 0.0, []
    env.reset(seed=args.seed)
    while steps < args.total_timesteps:
        _, reward, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
        steps, total = steps + 1, total + reward
        if terminated or truncated:
            returns.append(total)
            total = 0.0
            env.reset()
        if steps % 500 == 0:
            rows.append({"step": steps, "wall_seconds": steps / 1e4, "sps": 1e4,
                         "episodes": len(returns), "mean_return_last_100": np.mean(returns[-100:])})
    with open(run_dir / "progress.csv", "w") as file:
        file.write(",".join(PROGRESS_COLUMNS) + "\\n")
        for row in rows:
            file.write(",".join(str(row.get(c, "")) for c in PROGRESS_COLUMNS) + "\\n")
    mean = float(np.mean(returns[-100:]))
    write_json(run_dir / "summary.json", {
        "env_id": args.env, "agent": name, "seed": args.seed, "total_steps": steps,
        "wall_seconds": steps / 1e4, "sps": 1e4, "train_episodes": len(returns),
        "train_mean_return_last_100": mean, "eval_mean_return": mean, "eval_std_return": 0.0,
        "eval_episodes": 0})
    return 0
'''

CRASHY_AGENT = '''
"""On its first attempt at a seed it writes its pid and run directory, kills its parent, the Ray
worker running the task, and waits: Ray must end it with its worker. On the next it is `tiny`,
with a checkpoint and a replay buffer beside its files."""

import os
import signal
import sys
import time
from pathlib import Path

from tiny_agent import main as tiny


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    seed = argv[argv.index("--seed") + 1]
    run_dir = Path(argv[argv.index("--run-dir") + 1])
    marker = Path(os.environ["CRASHY_MARKER_DIR"]) / f"crashy-seed{seed}.pid"
    if not marker.exists():
        marker.write_text(f"{os.getpid()}\\n{run_dir}")
        os.kill(os.getppid(), signal.SIGKILL)
        time.sleep(120)
        return 1
    status = tiny(argv, name="crashy")
    (run_dir / "checkpoint.pt").write_bytes(b"weights")
    (run_dir / "replay-000000000500.npz").write_bytes(b"transitions")
    return status
'''

SLEEPY_AGENT = '''
"""Says it has started (its pid in $SLEEPY_MARKER_DIR), then waits to be interrupted."""

import os
import sys
import time
from pathlib import Path


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    seed = argv[argv.index("--seed") + 1]
    marker = Path(os.environ["SLEEPY_MARKER_DIR"]) / f"sleepy-seed{seed}.pid"
    marker.write_text(str(os.getpid()))
    time.sleep(120)
    return 1
'''

AGENTS = {"tiny": TINY_AGENT, "crashy": CRASHY_AGENT, "sleepy": SLEEPY_AGENT}


def install_plugins(site: Path) -> str:
    """Writes the plugin agents and a distribution declaring them into `site`, and returns the
    PYTHONPATH that finds them and this checkout."""
    site.mkdir(parents=True, exist_ok=True)
    for name, source in AGENTS.items():
        (site / f"{name}_agent.py").write_text(source)
    info = site / "tiny_agent-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tiny-agent\nVersion: 0.1\n")
    points = "".join(f"{name} = {name}_agent:main\n" for name in AGENTS)
    (info / "entry_points.txt").write_text(f"[dqn_arcade.agents]\n{points}")
    return os.pathsep.join([str(site), str(REPO_ROOT)])
