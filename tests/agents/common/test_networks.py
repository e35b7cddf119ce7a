"""The Nature CNN's input: uint8 frame stacks in either memory layout give the same Q-values bit
for bit, and the caller's tensor is never changed."""

from __future__ import annotations

import numpy as np
import torch
from gymnasium import spaces

from agents.common.networks import QNetwork

FRAMES = spaces.Box(0, 255, (4, 84, 84), np.uint8)


def _stacks() -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(0).integers(0, 256, (8, 4, 84, 84), np.uint8))


def test_channels_last_and_nchw_stacks_give_the_same_q_values_bit_for_bit():
    torch.manual_seed(0)
    network = QNetwork(FRAMES, 6).to_device(torch.device("cpu"))
    nchw = _stacks()
    frame_last = nchw.contiguous(memory_format=torch.channels_last)
    assert not torch.equal(torch.as_strided(nchw, (nchw.numel(),), (1,)),
                           torch.as_strided(frame_last, (nchw.numel(),), (1,)))  # fmt: skip
    with torch.no_grad():
        assert torch.equal(network(nchw), network(frame_last))


def test_the_scaling_to_0_1_leaves_the_callers_tensor_as_it_was():
    torch.manual_seed(0)
    network = QNetwork(FRAMES, 6).to_device(torch.device("cpu"))
    stacks = _stacks().contiguous(memory_format=torch.channels_last)  # as the replay buffer's
    # A float stack is cast to itself: no copy but the one the forward pass must make itself.
    for given in (stacks, stacks.float()):
        before = given.clone()
        with torch.no_grad():
            q = network(given)
        assert torch.equal(given, before)
        assert torch.isfinite(q).all()
    # The scaling happened: the network's first layer saw frames in [0, 1].
    with torch.no_grad():
        first = network.torso.layers[0][0]
        seen = []
        handle = first.register_forward_pre_hook(lambda _, inputs: seen.append(inputs[0]))
        network(stacks)
        handle.remove()
    assert seen[0].max() <= 1.0 and seen[0].max() > 0.99
