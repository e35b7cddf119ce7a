"""Q(lambda) returns: the targets PQN learns from, computed backward over a rollout.

Row t of a rollout holds transition t: (s_t, a_t, r_t, s'_t), with s'_t its true next state. With
q_t = max_a Q(s'_t, a),

    G_t = r_t + gamma * (1 - terminated_t) * ((1 - lambda_t) * q_t + lambda_t * G_{t+1}),
    lambda_t = lambda * (1 - truncated_t),    G_T = q_{T-1} (the rollout's last bootstrap),

so a terminal transition's target is its reward, a truncated one (a time limit: the episode did
not end, it was cut off) bootstraps from the value of its final observation with the chain of
returns cut there, and the rollout's last row bootstraps from one more forward pass. lambda = 0
gives one-step Q-learning targets, lambda = 1 the Monte-Carlo return to the rollout's end. This
is the recursion of purejaxql and of CleanRL's `pqn.py`, but for truncations, which both treat as
terminations.
"""

from __future__ import annotations

import torch


def q_lambda_returns(
    rewards: torch.Tensor,
    terminations: torch.Tensor,
    truncations: torch.Tensor,
    next_q_max: torch.Tensor,
    gamma: float,
    q_lambda: float,
) -> torch.Tensor:
    """The Q(lambda) returns G of a rollout; every argument is (T, N), flags as 0/1 floats.

    `next_q_max[t]` is max_a Q(s'_t, a), the value of transition t's true next state: the acting
    pass of row t + 1 when both are of one episode, the final observation's value where row t is
    truncated, and the bootstrap pass after the rollout for the last row. It is not used where
    row t terminated."""
    returns = torch.empty_like(rewards)
    following = next_q_max[-1]  # so the last row bootstraps from its own next state alone
    for t in reversed(range(len(rewards))):
        chain = q_lambda * (1.0 - truncations[t])
        blended = torch.lerp(next_q_max[t], following, chain)
        returns[t] = rewards[t] + gamma * (1.0 - terminations[t]) * blended
        following = returns[t]
    return returns
