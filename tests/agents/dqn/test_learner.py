"""agents.dqn.learner: the TD target against hand-computed values, gradient steps, the target
network, and checkpoints of its state across devices and memory layouts."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from gymnasium import spaces
from torch import nn

from agents.common.policy import linear_schedule
from agents.dqn.config import Args
from agents.dqn.learner import Learner, td_targets


class FixedQ(nn.Module):
    """Q-values looked up by observation index: obs i has Q-values table[i]."""

    def __init__(self, table: list[list[float]]) -> None:
        super().__init__()
        self.table = torch.tensor(table)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.table[obs.long()]


ONLINE = FixedQ([[1.0, 5.0], [3.0, 2.0]])  # greedy actions: 1 for obs 0, 0 for obs 1
TARGET = FixedQ([[10.0, 20.0], [30.0, 40.0]])
RETURNS = torch.tensor([1.0, 2.0])
NEXT_OBS = torch.tensor([0, 1])


@pytest.mark.parametrize(
    ("double", "discounts", "expected"),
    [
        (True, [0.9, 0.0], [1 + 0.9 * 20, 2.0]),  # target's value of online's choice: 20, 30
        (True, [0.5, 0.25], [1 + 0.5 * 20, 2 + 0.25 * 30]),
        (False, [0.5, 0.25], [1 + 0.5 * 20, 2 + 0.25 * 40]),  # target's own max: 20, 40
    ],
)
def test_td_targets_match_hand_computed_values(double, discounts, expected):
    online = ONLINE(NEXT_OBS) if double else None
    targets = td_targets(RETURNS, torch.tensor(discounts), TARGET(NEXT_OBS), online)
    np.testing.assert_allclose(targets.numpy(), expected)


def test_td_targets_n_step_discount_from_the_buffer():
    # A 3-step return with gamma 0.5 bootstraps with 0.5^3 = 0.125 (see the buffer's tests).
    next_obs = torch.tensor([0])
    targets = td_targets(
        torch.tensor([2.75]), torch.tensor([0.125]), TARGET(next_obs), ONLINE(next_obs)
    )
    assert targets.item() == pytest.approx(2.75 + 0.125 * 20)


def _learner(**overrides) -> Learner:
    args = Args(**{"learning_rate": 1e-2, **overrides})
    return Learner(args, spaces.Box(0, 1, (6,), np.float32), 3, torch.device("cpu"))


def test_gradient_steps_fit_a_fixed_batch_and_the_target_network_follows():
    torch.manual_seed(0)
    learner = _learner(dueling=True)
    rng = np.random.default_rng(0)
    batch = {
        "obs": rng.random((32, 6), dtype=np.float32),
        "actions": rng.integers(3, size=32),
        "returns": rng.random(32, dtype=np.float32),
        "discounts": np.zeros(32, np.float32),  # terminal: the target is the return itself
        "next_obs": rng.random((32, 6), dtype=np.float32),
    }
    first, _ = learner.update(batch)
    for _ in range(200):
        last, _ = learner.update(batch)
    assert last.item() < first.item() / 10
    online = learner.q_network.state_dict()
    assert any(
        not torch.equal(online[k], v) for k, v in learner.target_network.state_dict().items()
    )
    learner.update_target()  # tau = 1: a copy
    for name, value in learner.target_network.state_dict().items():
        assert torch.equal(value, online[name])


def test_epsilon_falls_linearly_then_stays():
    assert linear_schedule(1.0, 0.1, 100, 0) == 1.0
    assert linear_schedule(1.0, 0.1, 100, 50) == pytest.approx(0.55)
    assert linear_schedule(1.0, 0.1, 100, 1000) == pytest.approx(0.1)


IMAGES = spaces.Box(0, 255, (4, 84, 84), np.uint8)


def _cnn_batch(rows: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "obs": rng.integers(0, 256, (rows, 4, 84, 84), dtype=np.uint8),
        "actions": rng.integers(3, size=rows),
        "returns": rng.normal(size=rows).astype(np.float32),
        "discounts": np.full(rows, 0.99, np.float32),
        "next_obs": rng.integers(0, 256, (rows, 4, 84, 84), dtype=np.uint8),
    }


def _contiguous(learner: Learner) -> Learner:
    """`learner` with its weights in the default layout, as on CUDA (channels-last is CPU-only)."""
    learner.q_network.to(memory_format=torch.contiguous_format)
    learner.target_network.to(memory_format=torch.contiguous_format)
    learner.optimizer = learner.make_optimizer()
    return learner


def test_a_run_resumes_across_memory_layouts_with_the_same_adam_state():
    """A CNN trained channels-last (CPU) resumes in the default layout (CUDA's), and back: the
    moments of Adam follow each weight element, so both go on to the same weights."""
    torch.manual_seed(0)
    args = Args(learning_rate=1e-3)
    channels_last = Learner(args, IMAGES, 3, torch.device("cpu"))
    conv = channels_last.q_network.torso.layers[0][0].weight
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    for seed in range(2):
        channels_last.update(_cnn_batch(4, seed))
    state = copy.deepcopy(channels_last.state_dict())
    moved = _contiguous(Learner(args, IMAGES, 3, torch.device("cpu")))
    moved.load_state_dict(state)
    moved_conv = moved.q_network.torso.layers[0][0].weight
    moments = moved.optimizer.state[moved_conv]["exp_avg"]
    assert moved_conv.is_contiguous() and moments.stride() == moved_conv.stride()
    torch.testing.assert_close(moments, channels_last.optimizer.state[conv]["exp_avg"])
    back = Learner(args, IMAGES, 3, torch.device("cpu"))
    back.load_state_dict(copy.deepcopy(moved.state_dict()))
    for learner in (channels_last, moved, back):
        learner.update(_cnn_batch(4, seed=5))
    for learner in (moved, back):
        for ours, theirs in zip(
            learner.q_network.parameters(), channels_last.q_network.parameters(), strict=True
        ):
            torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)
