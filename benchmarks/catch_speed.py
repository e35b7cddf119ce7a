"""Steps per second of Catch-v0, each beside a reference measured in the same run.

    python benchmarks/catch_speed.py [--seconds 1.0] [--repeats 3]

Rows:
- raw `CatchEnv.step`   against the original Keras-example class (reproduced below), both with
                        random actions and a reset at the end of each episode;
- `gym.make` env        against the raw `step` (what Gymnasium's default wrappers cost);
- `make_vec`, N envs    against `SyncVectorEnv` over N scalar envs (what Gymnasium gives without
                        our batched vector env).

Targets on a 2-core machine: raw `step` >= 300k steps/s; `make_vec` at 4096 envs >= 10M steps/s
(gymnax's JAX Catch, jitted and scanned over 1,000 steps, does 5.37M there, measured apart). Each
figure is the best of `--repeats` timed runs of about `--seconds` each; the machines are noisy, the
ratios hold.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np
from _timing import best_rate, stepping_runner, timing_arguments

import registry  # noqa: F401  (registers Catch-v0)
from envs.catch import CatchEnv

RAW_TARGET = 300_000
VECTOR_TARGET = 10_000_000
GYMNAX_4096 = 5_370_000


class OriginalCatch:
    """The original class of the Keras DQN example, as the reference for the scalar env.

    Kept as written but for one line: its reset built `np.asarray([0, n, m])` from size-1 arrays,
    which NumPy >= 1.24 refuses, so the two draws are taken as scalars here.
    """

    def __init__(self, grid_size=10):
        self.grid_size = grid_size
        self.reset()

    def _update_state(self, action):
        state = self.state
        if action == 0:
            action = -1
        elif action == 1:
            action = 0
        else:
            action = 1
        f0, f1, basket = state[0]
        new_basket = min(max(1, basket + action), self.grid_size - 1)
        f0 += 1
        out = np.asarray([f0, f1, new_basket])
        out = out[np.newaxis]
        assert len(out.shape) == 2
        self.state = out

    def _draw_state(self):
        im_size = (self.grid_size,) * 2
        state = self.state[0]
        canvas = np.zeros(im_size)
        canvas[state[0], state[1]] = 1
        canvas[-1, state[2] - 1 : state[2] + 2] = 1
        return canvas

    def _get_reward(self):
        fruit_row, fruit_col, basket = self.state[0]
        if fruit_row == self.grid_size - 1:
            if abs(fruit_col - basket) <= 1:
                return 1
            return -1
        return 0

    def _is_over(self):
        return self.state[0, 0] == self.grid_size - 1

    def observe(self):
        canvas = self._draw_state()
        return canvas.reshape((1, -1))

    def act(self, action):
        self._update_state(action)
        reward = self._get_reward()
        game_over = self._is_over()
        return self.observe(), reward, game_over

    def reset(self):
        n = np.random.randint(0, self.grid_size - 1)  # noqa: NPY002  (the original's global RNG)
        m = np.random.randint(1, self.grid_size - 2)  # noqa: NPY002
        self.state = np.asarray([0, n, m])[np.newaxis]


def vector_runner(envs: gym.vector.VectorEnv, actions: np.ndarray) -> Callable[[int], int]:
    envs.reset(seed=0)

    def run(n: int) -> int:
        for i in range(n):
            envs.step(actions[i % len(actions)])
        return n * envs.num_envs

    return run


def main() -> None:
    args = timing_arguments(__doc__.split("\n\n")[0], seconds=1.0)
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 3, size=10_007).tolist()

    def rate(run):
        return best_rate(run, args.seconds, args.repeats)

    rows = []
    np.random.seed(0)  # noqa: NPY002  (seeds OriginalCatch's global RNG)
    original = OriginalCatch()
    original_rate = rate(
        stepping_runner(original.act, original.reset, actions, done=lambda result: result[2])
    )
    raw = CatchEnv()
    raw.reset(seed=0)
    raw_rate = rate(stepping_runner(raw.step, raw.reset, actions))
    rows.append(("raw CatchEnv.step", raw_rate, "original Keras class", original_rate))
    made = gym.make("Catch-v0")
    made.reset(seed=0)
    made_rate = rate(stepping_runner(made.step, made.reset, actions))
    rows.append(('gym.make("Catch-v0")', made_rate, "raw CatchEnv.step", raw_rate))

    for num_envs in (1, 64, 1024, 4096):
        batch = rng.integers(0, 3, size=(64, num_envs))
        ours = gym.make_vec("Catch-v0", num_envs=num_envs)
        sync = gym.make_vec("Catch-v0", num_envs=num_envs, vectorization_mode="sync")
        ours_rate = rate(vector_runner(ours, batch))
        sync_rate = rate(vector_runner(sync, batch))  # the best of as many runs as ours
        rows.append((f"make_vec, {num_envs} envs", ours_rate, "SyncVectorEnv, same N", sync_rate))
        ours.close()
        sync.close()

    print("| env | steps/s | reference | reference steps/s | ratio |")
    print("|---|---:|---|---:|---:|")
    for name, value, ref_name, ref_value in rows:
        ratio = value / ref_value
        print(f"| {name} | {value:,.0f} | {ref_name} | {ref_value:,.0f} | {ratio:.1f}x |")
    vector_4096 = rows[-1][1]
    print()
    print(
        f"raw step: {raw_rate:,.0f} steps/s, {raw_rate / RAW_TARGET:.2f}x the 300k target, "
        f"{raw_rate / original_rate:.1f}x the original class"
    )
    print(
        f"make_vec at 4096 envs: {vector_4096:,.0f} steps/s, "
        f"{vector_4096 / VECTOR_TARGET:.2f}x the 10M target "
        f"({vector_4096 / GYMNAX_4096:.1f}x gymnax's 5.37M anchor, not measured in this run)"
    )


if __name__ == "__main__":
    main()
