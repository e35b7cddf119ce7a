"""Q(lambda) returns against the hand-computed example of a rollout with a termination and a
truncation in mid-rollout, and their limits: lambda 0 is one-step Q-learning, a truncation
bootstraps where a termination cuts."""

from __future__ import annotations

import torch

from agents.pqn.returns import q_lambda_returns

GAMMA, LAMBDA = 0.9, 0.5
# T = 4 rows, N = 2 envs. Env 0 terminates at t = 1; env 1 is truncated at t = 2, and 6.0 is the
# value of its final observation. The last row's next values come from the bootstrap pass.
REWARDS = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [1.0, 0.0]])
TERMINATIONS = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
TRUNCATIONS = torch.tensor([[0.0, 0.0], [0.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
NEXT_Q_MAX = torch.tensor([[2.0, 1.0], [5.0, 2.0], [3.0, 6.0], [4.0, 1.5]])


def test_the_hand_computed_example():
    """Env 0: G3 = 1 + 0.9 * 4.0 = 4.6; G2 = 0.9 * (0.5 * 4.6 + 0.5 * 3.0) = 3.42; G1 = 0 (a
    termination: its next value 5.0 is ignored); G0 = 1 + 0.9 * (0.5 * 0 + 0.5 * 2.0) = 1.9.
    Env 1: G3 = 0.9 * 1.5 = 1.35; G2 = 0.9 * 6.0 = 5.4 (truncated: the final observation's value,
    the chain cut); G1 = 1 + 0.9 * (0.5 * 5.4 + 0.5 * 2.0) = 4.33;
    G0 = 0.9 * (0.5 * 4.33 + 0.5 * 1.0) = 2.3985."""
    returns = q_lambda_returns(REWARDS, TERMINATIONS, TRUNCATIONS, NEXT_Q_MAX, GAMMA, LAMBDA)
    expected = torch.tensor([[1.9, 2.3985], [0.0, 4.33], [3.42, 5.4], [4.6, 1.35]])
    torch.testing.assert_close(returns, expected)


def test_a_truncation_bootstraps_where_treating_it_as_terminal_would_cut():
    """What purejaxql and CleanRL compute (their envs merge the two ends): env 1's row 2 would be
    worth its reward alone, and the rows before it less."""
    as_terminal = q_lambda_returns(
        REWARDS, TERMINATIONS + TRUNCATIONS, torch.zeros(4, 2), NEXT_Q_MAX, GAMMA, LAMBDA
    )
    torch.testing.assert_close(as_terminal[:, 1], torch.tensor([1.305, 1.9, 0.0, 1.35]))
    returns = q_lambda_returns(REWARDS, TERMINATIONS, TRUNCATIONS, NEXT_Q_MAX, GAMMA, LAMBDA)
    torch.testing.assert_close(as_terminal[:, 0], returns[:, 0])  # env 0 had no truncation


def test_lambda_0_is_one_step_q_learning_and_lambda_1_the_return_to_the_rollout_end():
    generator = torch.Generator().manual_seed(0)
    rewards = torch.randn(16, 8, generator=generator)
    terminations = (torch.rand(16, 8, generator=generator) < 0.1).float()
    next_q_max = torch.randn(16, 8, generator=generator)
    no_truncations = torch.zeros(16, 8)
    one_step = q_lambda_returns(rewards, terminations, no_truncations, next_q_max, 0.99, 0.0)
    torch.testing.assert_close(one_step, rewards + 0.99 * (1 - terminations) * next_q_max)

    monte_carlo = q_lambda_returns(rewards, terminations, no_truncations, next_q_max, 0.99, 1.0)
    following = next_q_max[-1]  # beyond the rollout: the bootstrap pass
    for t in reversed(range(16)):
        following = rewards[t] + 0.99 * (1 - terminations[t]) * following
        torch.testing.assert_close(monte_carlo[t], following)
