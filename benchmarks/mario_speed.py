"""SuperMarioLand-v0 against raw PyBoy on the same ROM, in the same run: what the env costs over
the emulation itself.

    python benchmarks/mario_speed.py [--seconds 2.0] [--repeats 3]

The ROM is the real game when `DQN_ARCADE_SML_ROM` names it, else the stand-in the tests assemble
(`envs/mario_standin.py`), whose frames are lighter than the game's, so its ratios are the harsher.
Raw: `pyboy.tick(4, False)` in a started game (and `pyboy.tick(4, True)`, which renders the last
frame, as pixel observations need). Env: `SuperMarioLandEnv` made directly (no TimeLimit or
checker wrappers), 4 frames a step, random actions, a reset at every game over. The four take
turns, `--repeats` rounds of them, so a busy spell of the machine slows all alike. Target: the env
with its default tile observations costs at most 15% over raw `tick(4, False)`. Each figure is
the best of `--repeats` timed runs of about `--seconds` each.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _timing import best_rate, stepping_runner, timing_parser

from envs.mario import OBS_TYPES, ROM_ENV_VAR, SuperMarioLandEnv
from envs.mario_standin import stand_in_rom

TARGET_OVERHEAD = 0.15
FRAMESKIP = 4


def raw_runner(env: SuperMarioLandEnv, render: bool) -> Callable[[int], int]:
    """`pyboy.tick(FRAMESKIP, render, False)` with no button pressed, in `env`'s PyBoy: a game
    started as the env starts it."""
    env.reset(seed=0)
    pyboy = env.pyboy

    def run(n: int) -> int:
        for _ in range(n):
            pyboy.tick(FRAMESKIP, render, False)
        return n

    return run


def env_runner(env: SuperMarioLandEnv, actions: list[int]) -> Callable[[int], int]:
    env.reset(seed=0)
    return stepping_runner(env.step, env.reset, actions)


def interleaved_rates(
    runs: dict[str, Callable[[int], int]], seconds: float, repeats: int
) -> dict[str, float]:
    """The best rate of each run over `repeats` rounds in which the runs take turns, so that a
    busy spell of the machine slows them alike rather than one of them."""
    rates = dict.fromkeys(runs, 0.0)
    for _ in range(repeats):
        for name, run in runs.items():
            rates[name] = max(rates[name], best_rate(run, seconds, repeats=1))
    return rates


def main() -> None:
    args = timing_parser(__doc__.split("\n\n")[0], seconds=2.0).parse_args()
    if os.environ.get(ROM_ENV_VAR):
        rom_path, name = Path(os.environ[ROM_ENV_VAR]), "the real game"
    else:
        rom_path, name = Path(tempfile.mkdtemp()) / "stand_in.gb", "the tests' stand-in"
        rom_path.write_bytes(stand_in_rom())
    actions = np.random.default_rng(0).integers(0, 8, size=10_007).tolist()
    envs = {obs_type: SuperMarioLandEnv(rom_path, FRAMESKIP, obs_type) for obs_type in OBS_TYPES}
    raw_envs = [SuperMarioLandEnv(rom_path, FRAMESKIP) for _ in range(2)]
    rates = interleaved_rates(
        {
            "raw `pyboy.tick(4, False)`": raw_runner(raw_envs[0], render=False),
            "raw `pyboy.tick(4, True)`": raw_runner(raw_envs[1], render=True),
            'env, `obs_type="tiles"` (default)': env_runner(envs["tiles"], actions),
            'env, `obs_type="pixels"`': env_runner(envs["pixels"], actions),
        },
        args.seconds,
        args.repeats,
    )
    for env in [*envs.values(), *raw_envs]:
        env.close()
    raw, raw_rendered, tiles, _ = rates.values()
    references = (None, None, raw, raw_rendered)
    rows = [(what, rate, ref) for (what, rate), ref in zip(rates.items(), references, strict=True)]
    print(f"ROM: {name}; {FRAMESKIP} frames a step")
    print("| what | steps/s | frames/s | cost over its raw ticking |")
    print("|---|---:|---:|---:|")
    for what, rate, reference in rows:
        cost = "" if reference is None else f"{reference / rate - 1:+.1%}"
        print(f"| {what} | {rate:,.0f} | {rate * FRAMESKIP:,.0f} | {cost} |")
    overhead = raw / tiles - 1
    verdict = "met" if overhead <= TARGET_OVERHEAD else "NOT met"
    print(
        f"\nSuperMarioLand-v0 (tiles) costs {overhead:.1%} over raw tick(4, False) "
        f"(target <= {TARGET_OVERHEAD:.0%}: {verdict})"
    )


if __name__ == "__main__":
    main()
