"""benchmarks/kaboom_speed.py: its game that costs nothing passes AtariPreprocessing's checks, so
the ceiling it prints is the wrapper's own cost and not an error."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from gymnasium.wrappers import AtariPreprocessing

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_the_still_game_runs_under_atari_preprocessing_as_a_game_does(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the script imports _timing beside it
    spec = importlib.util.spec_from_file_location("kaboom_speed", BENCHMARKS / "kaboom_speed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    class CountingStillAtari(module._StillAtari):
        frames = 0

        def step(self, action):
            self.frames += 1
            return super().step(action)

    game = CountingStillAtari()
    env = AtariPreprocessing(game)  # noop_max 30, frame_skip 4, 84x84
    obs, info = env.reset(seed=0)
    assert obs.shape == (84, 84) and obs.dtype == np.uint8 and info["lives"] == 3
    # Each wrapper step plays 4 frames of the game, as it does of ALE's and ours: the row times
    # the same work per step as theirs.
    game.frames = 0
    for action in [0, 1, 2, 3] * 5:
        obs, *_ = env.step(action)
    assert game.frames == 4 * 20 and obs.shape == (84, 84)
