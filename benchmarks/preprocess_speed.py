"""What the DQN preprocessing costs: steps/s of Pong as the agents see it against the raw env,
measured in the same run.

    python benchmarks/preprocess_speed.py [--seconds 2.0] [--repeats 3]

Raw: `gym.make("ALE/Pong-v5")` (RGB frames, 4 frames a step in the emulator, sticky actions
0.25). Against it, the preprocessed Pong of each path the agents take (grayscale 84x84, 4 stacked
frames, no-op and FIRE resets; a step is 4 frames with a max over the last two):

- training (`agents.dqn`, `agents.pqn`): `agents.common.environments.make_train_envs`, ale-py's
  C++ `AtariVectorEnv` with its preprocessing built in, here with one env as agents.dqn runs it;
- evaluation, and `agents.sb3_dqn`'s training: `make_eval_env`, which is `make_dqn_env` with
  `pipeline_frameskip` (the game made with `frameskip=1`, then Gymnasium's `AtariPreprocessing`);
- for comparison, `make_dqn_env("ALE/Pong-v5")` as it comes: the game's own 4-frame skip, no max,
  so less work than the agents' frames (no agent uses it).

Random actions, a reset at every episode end (the vector env resets by itself); the rows take
turns, each the best of `--repeats` runs of about `--seconds`. Target:
preprocessing costs at most 25% (ratio >= 0.75) on the training path.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np
from _timing import interleaved_best_rates, stepping_runner, timing_arguments

from agents.common.environments import make_eval_env, make_train_envs
from wrappers import make_dqn_env


def runner(env: gym.Env, actions: list[int]) -> Callable[[int], int]:
    env.reset(seed=0)
    return stepping_runner(env.step, env.reset, actions)


def vector_runner(envs: gym.vector.VectorEnv, actions: list[int]) -> Callable[[int], int]:
    """Steps a vector env (which resets its envs itself): steps/s over all its envs."""
    envs.reset(seed=0)
    batches = [np.full(envs.num_envs, action) for action in actions]

    def run(n: int) -> int:
        for i in range(n):
            envs.step(batches[i % len(batches)])
        return n * envs.num_envs

    return run


def main() -> None:
    args = timing_arguments(__doc__.split("\n\n")[0], seconds=2.0)
    actions = np.random.default_rng(0).integers(0, 6, size=10_007).tolist()
    env_id = "ALE/Pong-v5"
    rows = {
        f'gym.make("{env_id}") (raw)': runner(gym.make(env_id), actions),
        f'training: make_train_envs("{env_id}", 1)': vector_runner(
            make_train_envs(env_id, 1), actions
        ),
        f'evaluation, sb3_dqn: make_eval_env("{env_id}")': runner(make_eval_env(env_id), actions),
        f'make_dqn_env("{env_id}"), the game\'s own skip': runner(make_dqn_env(env_id), actions),
    }
    rates = interleaved_best_rates(rows, args.seconds, args.repeats)
    raw = next(iter(rates.values()))
    print(f"| env | steps/s | against raw {env_id} |")
    print("|---|---:|---:|")
    for name, rate in rates.items():
        print(f"| {name} | {rate:,.0f} | {rate / raw:.2f} |")


if __name__ == "__main__":
    main()
