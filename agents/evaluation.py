"""Running a policy for whole episodes: the final evaluation of training, `--evaluate`, watching
an agent in a window (`--render human`) and recording it (`--video DIR`) are this one loop."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import numpy as np

from agents.environments import make_eval_env

Policy = Callable[[np.ndarray], int]


def run_episodes(env: gym.Env, policy: Policy, episodes: int, seed: int) -> list[float]:
    """Returns of `episodes` episodes of `policy` on `env`, seeded `seed`, `seed + 1`, ..."""
    returns = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(policy(obs))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return returns


def evaluate_policy(
    env_id: str,
    policy: Policy,
    episodes: int,
    seed: int,
    *,
    render: str | None = None,
    video_dir: str | None = None,
) -> list[float]:
    """`run_episodes` on a fresh evaluation env of `env_id` (whole games, unclipped scores), shown
    in a window with `render="human"`, or recorded to `video_dir` with Gymnasium's RecordVideo."""
    render_mode = render or ("rgb_array" if video_dir else None)
    env = make_eval_env(env_id, render_mode=render_mode)
    if video_dir:
        Path(video_dir).mkdir(parents=True, exist_ok=True)
        env = gym.wrappers.RecordVideo(
            env, video_dir, episode_trigger=lambda _: True, disable_logger=True
        )
    try:
        return run_episodes(env, policy, episodes, seed)
    finally:
        env.close()
