"""`python -m envs`: a short demo of Catch-v0 that prints what happened.

It draws one episode of the scripted fruit-following policy as text, then plays 1,000 episodes
each with a random policy and the scripted one on the batched vector env and prints their catch
rates.
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np

import registry  # noqa: F401  (registers Catch-v0)
from envs.catch import follow_fruit

# Text for a cell value, on a falling row or on the basket row (where a 1 is basket, or the fruit
# that just landed).
_CELL_TEXT = {(0, False): ".", (1, False): "o", (0, True): ".", (1, True): "="}


def board_text(obs: np.ndarray) -> list[str]:
    last = obs.shape[0] - 1
    return ["".join(_CELL_TEXT[int(v), row == last] for v in line) for row, line in enumerate(obs)]


def show_episode(seed: int) -> None:
    env = gym.make("Catch-v0")
    obs, _ = env.reset(seed=seed)
    frames, terminated, reward = [board_text(obs)], False, 0.0
    while not terminated:
        obs, reward, terminated, _, _ = env.step(int(follow_fruit(obs)))
        frames.append(board_text(obs))
    env.close()
    print(f"One episode of Catch-v0 (seed {seed}), basket following the fruit, step 0 to 9:")
    for row in range(len(frames[0])):
        print("  " + " ".join(frame[row] for frame in frames))
    print(f"  reward at the last step: {reward:+.0f}\n")


def play_batch(num_episodes: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    policies = {
        "random policy": lambda obs: rng.integers(0, 3, size=len(obs)),
        "fruit-following policy": follow_fruit,
    }
    print(f'{num_episodes} episodes each, on gym.make_vec("Catch-v0", num_envs={num_episodes}):')
    for name, policy in policies.items():
        envs = gym.make_vec("Catch-v0", num_envs=num_episodes)
        obs, _ = envs.reset(seed=seed)
        returns = np.zeros(num_episodes)
        finished = np.zeros(num_episodes, dtype=bool)
        while not finished.all():
            obs, rewards, terminated, truncated, _ = envs.step(policy(obs))
            returns += np.where(finished, 0.0, rewards)
            finished |= terminated | truncated
        envs.close()
        rate = np.mean(returns > 0)
        print(f"  {name:<24} catch rate {rate:6.1%}   mean return {returns.mean():+.3f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m envs", description=__doc__)
    parser.add_argument("--episodes", type=int, default=1000, help="episodes per policy")
    parser.add_argument("--seed", type=int, default=0, help="seed of the envs and the policy")
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error(f"--episodes must be a positive int, got {args.episodes}")
    show_episode(args.seed)
    play_batch(args.episodes, args.seed)


if __name__ == "__main__":
    main()
