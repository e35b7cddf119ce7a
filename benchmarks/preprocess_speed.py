"""What the DQN preprocessing costs: steps/s of the preprocessed Pong against the raw env,
measured in the same run.

    python benchmarks/preprocess_speed.py [--seconds 2.0] [--repeats 3]

Raw: `gym.make("ALE/Pong-v5")` (RGB frames, 4 frames a step). Preprocessed:
`wrappers.make_dqn_env("ALE/Pong-v5")` (no-op and FIRE resets, grayscale 84x84, clipped rewards,
4 stacked frames) and `make_dqn_env("PongNoFrameskip-v4")` (the same through Gymnasium's
AtariPreprocessing, with a max over the last two frames). Random actions, a reset at every
episode end. Target: preprocessing costs at most 25% (ratio >= 0.75).
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np
from _timing import best_rate, stepping_runner, timing_arguments

import registry  # noqa: F401  (ALE ids)
from wrappers import make_dqn_env


def runner(env: gym.Env, actions: list[int]) -> Callable[[int], int]:
    env.reset(seed=0)
    return stepping_runner(env.step, env.reset, actions)


def main() -> None:
    args = timing_arguments(__doc__.split("\n\n")[0], seconds=2.0)
    actions = np.random.default_rng(0).integers(0, 6, size=10_007).tolist()

    raw = best_rate(runner(gym.make("ALE/Pong-v5"), actions), args.seconds, args.repeats)
    print("| env | steps/s | against raw ALE/Pong-v5 |")
    print("|---|---:|---:|")
    print(f'| gym.make("ALE/Pong-v5") (raw) | {raw:,.0f} | 1.00 |')
    for env_id in ("ALE/Pong-v5", "PongNoFrameskip-v4"):
        rate = best_rate(runner(make_dqn_env(env_id), actions), args.seconds, args.repeats)
        print(f'| make_dqn_env("{env_id}") | {rate:,.0f} | {rate / raw:.2f} |')


if __name__ == "__main__":
    main()
