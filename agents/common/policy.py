"""Epsilon-greedy acting, for a batch of vector-env observations and for one observation."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Policy = Callable[[np.ndarray], int]
"""An action for one (unbatched) observation."""
GreedyActions = Callable[[np.ndarray], np.ndarray]
"""The greedy actions for a batch of observations."""


def linear_schedule(start: float, end: float, duration: float, step: int) -> float:
    """From `start` at step 0 to `end` at step `duration`, then `end`."""
    return max(end, start + (end - start) * step / max(duration, 1.0))


def _exploration(
    size: int, epsilon: float, num_actions: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """`size` uniformly random actions, and which of them the greedy action replaces (each with
    probability 1 - `epsilon`)."""
    actions = rng.integers(num_actions, size=size)
    return actions, rng.random(size) >= epsilon


def epsilon_greedy_batch(
    obs: np.ndarray,
    epsilon: float,
    num_actions: int,
    greedy: GreedyActions | None,
    rng: np.random.Generator,
) -> np.ndarray:
    """One action per row of `obs`: uniformly random with probability `epsilon`, else greedy.
    With `greedy` None (a network not trained yet) every action is random."""
    actions, exploit = _exploration(len(obs), epsilon, num_actions, rng)
    if greedy is not None and exploit.any():  # skip the forward pass when no row needs it
        actions[exploit] = greedy(obs[exploit])
    return actions


def epsilon_greedy_from(
    greedy_actions: np.ndarray, epsilon: float, num_actions: int, rng: np.random.Generator
) -> np.ndarray:
    """`epsilon_greedy_batch` for an agent that has every row's greedy action already (PQN
    computes every row's Q-values to learn from): the same draws."""
    actions, exploit = _exploration(len(greedy_actions), epsilon, num_actions, rng)
    actions[exploit] = greedy_actions[exploit]
    return actions


def epsilon_greedy(
    greedy: GreedyActions, num_actions: int, epsilon: float, rng: np.random.Generator
) -> Policy:
    """The epsilon-greedy policy of `greedy` for one observation at a time."""

    def act(obs: np.ndarray) -> int:
        if rng.random() < epsilon:
            return int(rng.integers(num_actions))
        return int(greedy(obs[None])[0])

    return act
