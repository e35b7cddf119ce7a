"""Kaboom-v0 against ALE/Kaboom-v5, in the same run: steps per second, and how a random and a
scripted policy score on each.

    python benchmarks/kaboom_speed.py [--seconds 2.0] [--repeats 3] [--episodes 10]

Speed: `gym.make("Kaboom-v0")` and `gym.make("ALE/Kaboom-v5")` as registered (RGB frames, 4
frames a step, sticky actions 0.25), random actions, a reset at every game over; Kaboom-v0 with
`obs_type="state"` for information. Target: Kaboom-v0 at least 10x ALE/Kaboom-v5. Then both under
Gymnasium's `AtariPreprocessing` (made with `frameskip=1`; its defaults: 30 no-op starts, 4 frames
a step with a max over the last two, ALE's grayscale read through `env.unwrapped.ale`, 84x84),
with the cost of its resize alone, the same on either game, and the wrapper around a game
that costs nothing: the most any game can get under it. Target: Kaboom-v0 at least 8x. Each
figure is the best of `--repeats` timed runs of about `--seconds` each.

Scores: mean and standard deviation over `--episodes` games (seeds 0, 1, ...) of a uniformly random
policy and of `envs.kaboom.chase_lowest_bomb`, which reads the frame, moves the buckets under the
lowest bomb and presses FIRE when none falls. The same code plays both games, as their frames
share layout and colours: scripted far above random on both (which alone does not make the
two alike for a learner: docs/results.md).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import gymnasium as gym
import numpy as np
from _timing import best_rate, stepping_runner, timing_parser
from gymnasium.wrappers import AtariPreprocessing

import registry  # noqa: F401  (Kaboom-v0, and ale-py's ids)
from agents.common.evaluation import run_episodes
from envs.kaboom import chase_lowest_bomb

TARGET_RATIO = 10
PREPROCESSED_TARGET_RATIO = 8
GAMES = ("Kaboom-v0", "ALE/Kaboom-v5")


def steps_per_second(env: gym.Env, actions: list[int], seconds: float, repeats: int) -> float:
    env.reset(seed=0)
    rate = best_rate(stepping_runner(env.step, env.reset, actions), seconds, repeats)
    env.close()
    return rate


def resizes_per_second(seconds: float, repeats: int) -> float:
    """AtariPreprocessing's resize of a 210x160 grayscale frame to 84x84, as it calls it."""
    frame = np.zeros((210, 160), dtype=np.uint8)

    def run(n: int) -> int:
        for _ in range(n):
            cv2.resize(frame, (84, 84), interpolation=cv2.INTER_AREA)
        return n

    return best_rate(run, seconds, repeats)


def play(env_id: str, policy: Callable[[np.ndarray], int], episodes: int) -> tuple[float, float]:
    """Mean and standard deviation of the score over `episodes` seeded games."""
    env = gym.make(env_id)
    scores = run_episodes(env, policy, episodes, seed=0)
    env.close()
    return float(np.mean(scores)), float(np.std(scores))


class _StillAtari(gym.Env):
    """An Atari game that costs nothing: ALE's interface as AtariPreprocessing reads it, and one
    still frame. Under the wrapper it measures the wrapper alone (its loop, the max, the resize),
    which bounds the ratio any game can reach against ALE's under it."""

    observation_space = gym.spaces.Box(0, 255, (210, 160, 3), np.uint8)
    action_space = gym.spaces.Discrete(4)
    _frameskip = 1

    def __init__(self) -> None:
        self._frame = np.zeros((210, 160, 3), dtype=np.uint8)
        self.ale = self

    def get_action_meanings(self) -> list[str]:
        return ["NOOP", "FIRE", "RIGHT", "LEFT"]

    def lives(self) -> int:
        return 3

    def getScreenGrayscale(self, out: np.ndarray) -> np.ndarray:
        return out

    def getScreenRGB(self, out: np.ndarray) -> np.ndarray:
        return out

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        return self._frame, {"lives": 3}

    def step(self, action: int):
        return self._frame, 0.0, False, False, {"lives": 3}


def main() -> None:
    parser = timing_parser(__doc__.split("\n\n")[0], seconds=2.0)
    parser.add_argument("--episodes", type=int, default=10, help="games per policy and game")
    args = parser.parse_args()
    if args.episodes < 1:
        parser.error(f"--episodes must be a positive int, got {args.episodes}")
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 4, size=10_007).tolist()

    rates = {
        name: steps_per_second(gym.make(env_id, **kwargs), actions, args.seconds, args.repeats)
        for name, env_id, kwargs in (
            ('gym.make("ALE/Kaboom-v5")', "ALE/Kaboom-v5", {}),
            ('gym.make("Kaboom-v0")', "Kaboom-v0", {}),
            ('gym.make("Kaboom-v0", obs_type="state")', "Kaboom-v0", {"obs_type": "state"}),
        )
    }
    ale = rates['gym.make("ALE/Kaboom-v5")']
    print("| env | steps/s | against ALE/Kaboom-v5 |")
    print("|---|---:|---:|")
    for name, rate in rates.items():
        print(f"| {name} | {rate:,.0f} | {rate / ale:.1f}x |")
    ratio = rates['gym.make("Kaboom-v0")'] / ale
    verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
    print(f"\nKaboom-v0 RGB: {ratio:.1f}x ALE/Kaboom-v5 (target >= {TARGET_RATIO}x: {verdict})\n")

    preprocessed = {
        env_id: steps_per_second(
            AtariPreprocessing(gym.make(env_id, frameskip=1)), actions, args.seconds, args.repeats
        )
        for env_id in ("ALE/Kaboom-v5", "Kaboom-v0")
    }
    resize_us = 1e6 / resizes_per_second(args.seconds, args.repeats)
    print("| under Gymnasium's AtariPreprocessing | steps/s | against ALE/Kaboom-v5 under it |")
    print("|---|---:|---:|")
    for env_id, rate in preprocessed.items():
        name = f'AtariPreprocessing(gym.make("{env_id}", frameskip=1))'
        print(f"| {name} | {rate:,.0f} | {rate / preprocessed['ALE/Kaboom-v5']:.1f}x |")
    still = steps_per_second(AtariPreprocessing(_StillAtari()), actions, args.seconds, args.repeats)
    still_ratio = still / preprocessed["ALE/Kaboom-v5"]
    print(f"| AtariPreprocessing(a game that costs nothing) | {still:,.0f} | {still_ratio:.1f}x |")
    ratio = preprocessed["Kaboom-v0"] / preprocessed["ALE/Kaboom-v5"]
    verdict = "met" if ratio >= PREPROCESSED_TARGET_RATIO else "NOT met"
    ceiling = 1e6 / preprocessed["ALE/Kaboom-v5"] / resize_us
    print(
        f"\nKaboom-v0 under AtariPreprocessing: {ratio:.1f}x ALE/Kaboom-v5 under it (target >= "
        f"{PREPROCESSED_TARGET_RATIO}x: {verdict}). Its resize alone takes {resize_us:.0f} us a "
        f"step on either game, which caps the ratio at {ceiling:.1f}x; the whole wrapper around "
        f"a game that costs nothing caps it at {still_ratio:.1f}x.\n"
    )

    policies = {
        "random": lambda frame: int(rng.integers(0, 4)),
        "scripted (chase the lowest bomb)": chase_lowest_bomb,
    }
    print(f"| policy, {args.episodes} episodes | " + " | ".join(GAMES) + " |")
    print("|---|" + "---:|" * len(GAMES))
    for name, policy in policies.items():
        cells = []
        for env_id in GAMES:
            mean, std = play(env_id, policy, args.episodes)
            cells.append(f"{mean:,.1f} ± {std:,.1f}")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
