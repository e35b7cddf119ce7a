"""The argument and action checks the games share. An error a user can hit is one sentence that
names the game, what was wrong and what to do instead."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

# The most frames a step may take: a minute of play at 60 frames a second. A larger frame skip
# would make one step take minutes (PyBoy's tick) or gigabytes (Kaboom's random draws).
MAX_FRAMESKIP = 3_600


def is_int(value: Any) -> bool:
    """Whether `value` is an int or a numpy integer, and not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def checked_frameskip(game: str, frameskip: Any, note: str = "") -> int:
    """`frameskip` as an int in [1, MAX_FRAMESKIP], else a ValueError (with `note` after the
    bound)."""
    if not is_int(frameskip) or not 1 <= frameskip <= MAX_FRAMESKIP:
        raise ValueError(
            f"{game} frameskip must be an int from 1 to {MAX_FRAMESKIP} (a minute of play a "
            f"step){note}, got {frameskip!r}."
        )
    return int(frameskip)


def checked_obs_type(game: str, obs_type: Any, obs_types: tuple[str, ...]) -> str:
    if obs_type not in obs_types:
        raise ValueError(f"{game} obs_type must be one of {obs_types}, got {obs_type!r}.")
    return obs_type


def checked_render_mode(game: str, render_mode: Any, render_modes: list[str]) -> str | None:
    if render_mode is not None and render_mode not in render_modes:
        raise ValueError(
            f"{game} render_mode must be None or one of {render_modes}, got {render_mode!r}."
        )
    return render_mode


def over_or_never_began(episode: str) -> RuntimeError:
    """The error of a `step()` after the end of `episode` ("This Kaboom game"), or before the
    first `reset()`."""
    return RuntimeError(f"{episode} is over (or never began): call reset() first.")


def checked_action(action: Any, num_actions: int, invalid: Callable[[Any], ValueError]) -> int:
    """The action a game's `step` was given, as an int in [0, num_actions); anything else raises
    `invalid(action)`. Plain ints, the usual case, cost two comparisons."""
    if action.__class__ is not int:
        action = integer_action(action, invalid)
    if action < 0 or action >= num_actions:
        raise invalid(action)
    return action


def integer_action(action: Any, invalid: Callable[[Any], ValueError]) -> int:
    """The slow path of `checked_action`, for an action that is not a plain int: a numpy integer
    (a scalar or a 0-d array) stands for its int; anything else raises `invalid(action)`."""
    if (
        isinstance(action, (np.integer, np.ndarray))
        and action.shape == ()
        and np.issubdtype(action.dtype, np.integer)
    ):
        return int(action)
    raise invalid(action)
