"""The PQN learner: the loss is over the valid rows only, an update is epochs x minibatches
gradient steps, and bf16 computes the fp32 network's Q-values to within bf16's precision."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from gymnasium import spaces

from agents.pqn.config import PRESETS, Args
from agents.pqn.learner import Learner
from agents.pqn.rollout import Rollout

CPU = torch.device("cpu")
FRAMES = spaces.Box(0, 255, (4, 84, 84), np.uint8)
VECTOR = spaces.Box(0, 1, (10, 10), np.float32)


def _learner(space: spaces.Box, seed: int = 0, **overrides) -> Learner:
    torch.manual_seed(seed)
    args = dataclasses.replace(Args(**PRESETS["catch"]), **overrides)
    return Learner(args, space, 3, CPU)


def test_masked_rows_are_not_learned_from():
    obs = torch.rand(8, 10, 10)
    actions = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    targets = torch.randn(8)
    valid = torch.tensor([1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    a, b = _learner(VECTOR), _learner(VECTOR)
    a.gradient_step(obs, actions, targets, valid)
    kept = valid.bool()
    garbage = torch.where(kept, targets, torch.tensor(1e6))  # the masked rows' targets
    b.gradient_step(obs[kept], actions[kept], garbage[kept], torch.ones(int(kept.sum())))
    for x, y in zip(a.q_network.parameters(), b.q_network.parameters(), strict=True):
        torch.testing.assert_close(x, y)


def test_an_update_is_epochs_times_minibatches_gradient_steps():
    learner = _learner(VECTOR, update_epochs=3, num_minibatches=4)
    rollout = Rollout(4, 8, VECTOR, CPU)
    rollout.obs.uniform_()
    rollout.valid.fill_(1.0)
    loss, q_mean = learner.update(rollout, torch.randn(4, 8))
    assert loss.shape == q_mean.shape == ()
    state = learner.optimizer.state[next(learner.q_network.parameters())]
    assert int(state["step"]) == 3 * 4


@pytest.mark.parametrize("space", [FRAMES, VECTOR], ids=["cnn", "mlp"])
def test_bf16_q_values_are_the_fp32_ones_to_within_bf16_precision(space):
    """bf16 keeps 8 bits of mantissa (a relative error of up to 2^-9 per rounding); through the
    layers and their LayerNorms the Q-values stay within 2% of the largest (0.5-0.7% measured
    over three seeds of each network)."""
    fp32, bf16 = _learner(space, precision="fp32"), _learner(space, precision="bf16")
    assert bf16.precision == "bf16" and bf16.bf16 is not None
    generator = torch.Generator().manual_seed(1)
    if space is FRAMES:
        obs = torch.randint(0, 256, (16, 4, 84, 84), dtype=torch.uint8, generator=generator)
    else:
        obs = (torch.rand(16, 10, 10, generator=generator) < 0.1).float()
    exact, approximate = fp32.q_values(obs), bf16.q_values(obs)
    assert approximate.dtype == torch.float32
    scale = exact.abs().max()
    assert (approximate - exact).abs().max() <= 0.02 * scale
    # A gradient step of each keeps fp32 masters that stay as close.
    actions, targets, valid = torch.zeros(16, dtype=torch.int64), torch.ones(16), torch.ones(16)
    fp32.gradient_step(obs, actions, targets, valid)
    bf16.gradient_step(obs, actions, targets, valid)
    assert all(p.dtype == torch.float32 for p in bf16.q_network.parameters())
    exact, approximate = fp32.q_values(obs), bf16.q_values(obs)
    assert (approximate - exact).abs().max() <= 0.02 * exact.abs().max()
