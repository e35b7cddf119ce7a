"""The DQN's pieces on every device this machine has: the fast path's optimizer and gradient, a
learner's update, and a checkpoint that travels CPU -> device -> CPU. The CUDA cases are
skipped, with the reason, where there is no CUDA device."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from gymnasium import spaces
from test_fast_mlp import VECTOR, _network, _replay_batch

from agents.common.checkpoints import load_checkpoint, save_checkpoint
from agents.dqn.config import Args
from agents.dqn.fast_mlp import FlatAdam, FlatParameters, MLPGradient
from agents.dqn.learner import Learner

DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
    ),
]
FRAMES = spaces.Box(0, 255, (4, 84, 84), np.uint8)


@pytest.mark.parametrize("device", DEVICES)
def test_flat_adam_matches_torch_adam_on_the_device(device):
    network, reference = _network().to(device), _network().to(device)
    flat = FlatParameters(network)
    ours = FlatAdam(flat, lr=1e-2, max_grad_norm=0.01)
    theirs = torch.optim.Adam(reference.parameters(), lr=1e-2)
    for step in range(5):
        obs = torch.rand(5, 6, generator=torch.Generator().manual_seed(step)).to(device)
        flat.grad.zero_()
        theirs.zero_grad()
        network(obs).square().mean().backward()
        reference(obs).square().mean().backward()
        ours.step()
        torch.nn.utils.clip_grad_norm_(reference.parameters(), 0.01)
        theirs.step()
    expected = torch.cat([p.detach().flatten() for p in reference.parameters()])
    torch.testing.assert_close(flat.data, expected)


@pytest.mark.parametrize("device", DEVICES)
def test_mlp_gradient_matches_autograd_on_the_device(device):
    network, reference = _network().to(device), _network().to(device)
    FlatParameters(network)
    obs, grad_q = torch.rand(8, 6, device=device), torch.randn(8, 3, device=device)
    mlp = MLPGradient(network)
    with torch.no_grad():
        _, inputs = mlp.forward(obs)
        mlp.backward(inputs, grad_q)
    (reference(obs) * grad_q).sum().backward()
    for ours, theirs in zip(network.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(ours.grad, theirs.grad)


def _frames_batch(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "obs": rng.integers(0, 256, (8, 4, 84, 84), dtype=np.uint8),
        "actions": rng.integers(3, size=8),
        "returns": rng.normal(size=8).astype(np.float32),
        "discounts": np.full(8, 0.99, np.float32),
        "next_obs": rng.integers(0, 256, (8, 4, 84, 84), dtype=np.uint8),
    }


def _weights(learner: Learner) -> torch.Tensor:
    return torch.cat([p.detach().flatten().cpu() for p in learner.q_network.parameters()])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("space", [VECTOR, FRAMES], ids=["mlp", "cnn"])
def test_a_checkpoint_goes_cpu_to_device_to_cpu_and_the_run_goes_on_the_same(
    device, space, tmp_path
):
    batch = (lambda seed: _replay_batch(8, seed)) if space is VECTOR else _frames_batch
    args = Args(learning_rate=1e-3, mlp_hidden=(16, 8))
    torch.manual_seed(0)
    on_cpu = Learner(args, space, 3, torch.device("cpu"))
    on_cpu.update(batch(0))
    save_checkpoint(tmp_path / "a.pt", {"agent": "dqn", "learner": on_cpu.state_dict()})
    expected = copy.deepcopy(on_cpu)  # the same run, all on the CPU

    there = Learner(args, space, 3, torch.device(device))
    there.load_state_dict(load_checkpoint(tmp_path / "a.pt", "dqn")["learner"])
    there.update(batch(1))
    save_checkpoint(tmp_path / "b.pt", {"agent": "dqn", "learner": there.state_dict()})
    saved = torch.load(tmp_path / "b.pt", map_location=None, weights_only=True)
    assert all(tensor.device.type == "cpu" for tensor in saved["learner"]["q_network"].values())

    back = Learner(args, space, 3, torch.device("cpu"))
    back.load_state_dict(load_checkpoint(tmp_path / "b.pt", "dqn")["learner"])
    back.update(batch(2))
    expected.update(batch(1))
    expected.update(batch(2))
    torch.testing.assert_close(_weights(back), _weights(expected), rtol=1e-4, atol=1e-5)
