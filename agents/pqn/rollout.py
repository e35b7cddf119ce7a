"""The rollout: what N envs did over T steps, stored (T, N, ...) on the learner's device, and the
Q(lambda) targets computed from it once, before the update's epochs.

Row t of env n holds what the agent saw and did (the observation, the action, the max Q-value of
the acting pass, which the targets reuse) and what the env returned (the reward and the episode's
end, as learned from: rewards clipped, a lost life terminal, if the run asks for it).

The envs autoreset on the step after an episode ends (Gymnasium's NEXT_STEP, ale-py's too): that
step ignores its action and only starts the next episode. Its row is no transition, so it is
stored as not `valid` (masked out of the loss, and not counted as a step), but its observation is
the ended episode's final one: its acting max Q is exactly what the row before bootstraps from
when that episode was truncated, with no extra forward pass.
"""

from __future__ import annotations

import numpy as np
import torch
from gymnasium import spaces

from agents.pqn.returns import q_lambda_returns


class Rollout:
    """Preallocated storage for T steps of N envs; row t is rewritten by each rollout."""

    def __init__(
        self, num_steps: int, num_envs: int, observation_space: spaces.Box, device: torch.device
    ) -> None:
        shape = (num_steps, num_envs)
        dtype = torch.from_numpy(np.zeros(0, dtype=observation_space.dtype)).dtype
        self.obs = torch.zeros((*shape, *observation_space.shape), dtype=dtype, device=device)
        self.actions = torch.zeros(shape, dtype=torch.int64, device=device)
        self.q_max = torch.zeros(shape, device=device)  # max_a Q(obs[t], a), from acting
        self.rewards = torch.zeros(shape, device=device)
        self.terminations = torch.zeros(shape, device=device)
        self.truncations = torch.zeros(shape, device=device)
        self.valid = torch.zeros(shape, device=device)  # 0 on the NEXT_STEP reset rows
        self.device = device

    @property
    def nbytes(self) -> int:
        tensors = (self.obs, self.actions, self.q_max, self.rewards, self.terminations)
        return sum(t.nbytes for t in (*tensors, self.truncations, self.valid))

    def store(
        self,
        t: int,
        actions: np.ndarray,
        q_max: torch.Tensor,
        rewards: np.ndarray,
        terminations: np.ndarray,
        truncations: np.ndarray,
        valid: np.ndarray,
    ) -> None:
        """Row t's action and acting max Q, and what the envs returned for it (`obs[t]` is
        written before the acting pass, which reads it there)."""
        self.actions[t] = torch.from_numpy(actions)
        self.q_max[t] = q_max
        for storage, values in (
            (self.rewards, rewards),
            (self.terminations, terminations),
            (self.truncations, truncations),
            (self.valid, valid),
        ):
            storage[t] = torch.from_numpy(values)

    def returns(self, bootstrap_q_max: torch.Tensor, gamma: float, q_lambda: float) -> torch.Tensor:
        """The Q(lambda) returns of every row, given max Q of the observations after the rollout.
        Row t's next state is row t + 1's observation (for the last row, the one after the
        rollout), so its acting max Q is row t's bootstrap value."""
        next_q_max = torch.cat([self.q_max[1:], bootstrap_q_max[None]])
        return q_lambda_returns(
            self.rewards, self.terminations, self.truncations, next_q_max, gamma, q_lambda
        )

    def flat(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Observations, actions and validity of all T x N rows, as views of one batch."""
        rows = self.actions.numel()
        return self.obs.view(rows, *self.obs.shape[2:]), self.actions.view(-1), self.valid.view(-1)
