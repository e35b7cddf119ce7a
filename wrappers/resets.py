"""The DQN wrappers Gymnasium lacks: no-op starts, FIRE on reset, and a lost life as the end of a
training episode.

Gymnasium has no-op starts and life-loss termination only inside `AtariPreprocessing`, which needs
an ALE env without frame skip and resets the whole game at every lost life. These wrappers read
action meanings and `info["lives"]` rather than the emulator, so they work the same on ALE's v5
envs and on ours (Kaboom reports its buckets as lives). Each records its arguments in the env's
spec (`RecordConstructorArgs`), so a spec rebuilds it.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from gymnasium.utils import RecordConstructorArgs

NOOP, FIRE = 0, 1


def action_meanings(env: gym.Env) -> list[str]:
    """The env's action names (ALE's `get_action_meanings()` convention), or [] if it has none."""
    getter = getattr(env.unwrapped, "get_action_meanings", None)
    return list(getter()) if getter is not None else []


def env_name(env: gym.Env) -> str:
    """The env's id for messages, or its class name when it was not made from an id."""
    return env.spec.id if env.spec is not None else type(env.unwrapped).__name__


class NoopReset(gym.Wrapper, RecordConstructorArgs):
    """After each reset, takes 1 to `noop_max` NOOP actions (a number drawn from the env's
    `np_random`), so that episodes start in varied states. Needs action 0 to be "NOOP"."""

    def __init__(self, env: gym.Env, noop_max: int = 30) -> None:
        RecordConstructorArgs.__init__(self, noop_max=noop_max)
        gym.Wrapper.__init__(self, env)
        if action_meanings(env)[:1] != ["NOOP"]:
            raise ValueError(
                f"NoopReset needs action 0 to be NOOP; {env_name(env)} has actions "
                f"{action_meanings(env) or 'without names'}: use noop_max=0 for it."
            )
        if not isinstance(noop_max, int) or noop_max < 1:
            raise ValueError(f"noop_max must be a positive int, got {noop_max!r}.")
        self.noop_max = noop_max

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        for _ in range(self.env.unwrapped.np_random.integers(1, self.noop_max + 1)):
            obs, _, terminated, truncated, info = self.env.step(NOOP)
            if terminated or truncated:
                obs, info = self.env.reset()
        return obs, info


class FireReset(gym.Wrapper, RecordConstructorArgs):
    """Presses FIRE after each reset, for games that wait for it (Breakout's serve, Kaboom's start
    of a group). Needs action 1 to be "FIRE"."""

    def __init__(self, env: gym.Env) -> None:
        RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)
        if action_meanings(env)[1:2] != ["FIRE"]:
            raise ValueError(
                f"FireReset needs action 1 to be FIRE; {env_name(env)} has actions "
                f"{action_meanings(env) or 'without names'}: use fire_reset=False for it."
            )

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        self.env.reset(seed=seed, options=options)
        obs, _, terminated, truncated, info = self.env.step(FIRE)
        if terminated or truncated:
            obs, info = self.env.reset()
        return obs, info


class EpisodicLife(gym.Wrapper, RecordConstructorArgs):
    """Ends the training episode (`terminated=True`) when `info["lives"]` drops, while the game
    goes on: `reset()` after a lost life only takes a NOOP step, and the game is really reset
    only once it is over (or truncated, or reset with a seed). Evaluate on the unwrapped game."""

    def __init__(self, env: gym.Env) -> None:
        RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)
        self._lives = 0
        self._game_over = True

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._game_over = terminated or truncated
        lives = info.get("lives", 0)
        if lives < self._lives:
            terminated = True
        self._lives = lives
        return obs, reward, terminated, truncated, info

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        if self._game_over or seed is not None:
            obs, info = self.env.reset(seed=seed, options=options)
        else:
            obs, _, terminated, truncated, info = self.env.step(NOOP)
            if terminated or truncated:
                obs, info = self.env.reset(options=options)
        self._lives = info.get("lives", 0)
        self._game_over = False
        return obs, info
