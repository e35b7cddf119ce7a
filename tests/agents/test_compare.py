"""`python -m agents.compare` and plugin agents: a third-party agent declared through the
`dqn_arcade.agents` entry-point group is listed, run by name and compared."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import matplotlib.colors
import matplotlib.image
import numpy as np
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


def main(argv=None):
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
        "env_id": args.env, "agent": "tiny", "seed": args.seed, "total_steps": steps,
        "wall_seconds": steps / 1e4, "sps": 1e4, "train_episodes": len(returns),
        "train_mean_return_last_100": mean, "eval_mean_return": mean, "eval_std_return": 0.0,
        "eval_episodes": 0})
    return 0
'''


def _with_plugin(tmp_path: Path) -> dict[str, str]:
    """An environment in which an installed distribution declares the `tiny` agent."""
    tmp_path.mkdir()
    (tmp_path / "tiny_agent.py").write_text(TINY_AGENT)
    info = tmp_path / "tiny_agent-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tiny-agent\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[dqn_arcade.agents]\ntiny = tiny_agent:main\n")
    path = os.pathsep.join([str(tmp_path), str(REPO_ROOT)])
    return {**os.environ, "PYTHONPATH": path}


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def test_a_plugin_agent_is_listed_and_compared_with_ours(tmp_path):
    env = _with_plugin(tmp_path / "site")
    listing = _run("-m", "registry", env=env)
    assert listing.returncode == 0, listing.stderr
    assert "tiny                 tiny_agent:main" in listing.stdout
    assert "plugin from tiny-agent" in listing.stdout

    out_dir = tmp_path / "compare"
    result = _run("-m", "agents.compare", "--env", "Catch-v0", "--agents", "dqn", "tiny",
                  "--seeds", "2", "--total-timesteps", "3000", "--threshold", "0.5",
                  "--out-dir", str(out_dir), env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    table = (out_dir / "comparison.md").read_text()
    rows = {line.split("|")[1].strip(): line for line in table.splitlines() if line.count("|") > 7}
    assert set(rows) >= {"dqn", "tiny"}
    assert "| 2 |" in rows["dqn"] and "| 2 |" in rows["tiny"]
    assert "not reached (0/2)" in rows["tiny"]  # a random player never catches half the fruit
    assert rows["dqn"] in result.stdout
    for agent in ("dqn", "tiny"):
        assert (out_dir / f"{agent}__seed1" / "summary.json").is_file()

    image = matplotlib.image.imread(out_dir / "comparison.png")[..., :3]
    assert image.shape[0] > 300 and image.shape[1] > 800
    # Both curves are drawn, in matplotlib's first two colours (an empty plot has neither).
    for colour in ("#1f77b4", "#ff7f0e"):
        rgb = np.array(matplotlib.colors.to_rgb(colour))
        assert (np.abs(image - rgb).max(axis=-1) < 0.05).sum() > 500, colour


def test_compare_refuses_unknown_agents_and_a_used_out_dir(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = _run("-m", "agents.compare", "--agents", "nope", env=env)
    assert result.returncode == 2 and "no agent named ['nope']" in result.stderr
    (tmp_path / "x").write_text("")
    result = _run("-m", "agents.compare", "--out-dir", str(tmp_path), env=env)
    assert result.returncode == 2 and "is not an empty directory" in result.stderr
    assert "Traceback" not in result.stderr
