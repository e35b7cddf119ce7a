"""Q-networks, chosen from the observation space: the Nature CNN for the DQN pipeline's frame
stacks, an MLP for everything else; with `layer_norm`, a LayerNorm after each hidden layer, before
its ReLU (PQN's network, Gallici et al. 2025)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from wrappers import is_frame_stack

CNN_MIN_SIDE = 36
"""The Nature CNN's kernels and strides leave nothing of frames smaller than this."""


def uses_cnn(space: spaces.Space) -> bool:
    """Whether a Q-network for `space` is the Nature CNN (frame stacks large enough for it)."""
    return is_frame_stack(space) and min(space.shape[1:]) >= CNN_MIN_SIDE


class FeatureMapLayerNorm(nn.LayerNorm):
    """LayerNorm over each sample's whole feature map (channels, height, width), with an affine
    weight per element: what `nn.LayerNorm([C, H, W])` computes, as CleanRL's PQN normalises its
    convolutions. It normalises the NHWC view instead, whose elements are the same, because on a
    channels-last tensor (the CPU's layout, `NatureCNN.forward`) that view is contiguous: a
    `LayerNorm([C, H, W])` there would copy the tensor to NCHW and back, in both passes. The
    weight and bias are stored as (H, W, C)."""

    def __init__(self, channels: int, height: int, width: int) -> None:
        super().__init__([height, width, channels])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class NatureCNN(nn.Module):
    """The convolutional torso of Mnih et al. (2015) with its 512-unit hidden layer, for uint8
    frame stacks (channels, height, width) scaled to [0, 1]; with `layer_norm`, each convolution's
    feature map and the hidden layer are normalised before their ReLU."""

    def __init__(self, channels: int, height: int, width: int, *, layer_norm: bool = False) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        shape = (channels, height, width)
        for out, kernel, stride in ((32, 8, 4), (64, 4, 2), (64, 3, 1)):
            layers.append(nn.Conv2d(shape[0], out, kernel, stride=stride))
            shape = (out, (shape[1] - kernel) // stride + 1, (shape[2] - kernel) // stride + 1)
            if layer_norm:
                layers.append(FeatureMapLayerNorm(*shape))
            layers.append(nn.ReLU())
        convolutions = nn.Sequential(*layers, nn.Flatten())
        flat = int(np.prod(shape))
        hidden: list[nn.Module] = [nn.Linear(flat, 512)]
        if layer_norm:
            hidden.append(nn.LayerNorm(512))
        self.layers = nn.Sequential(convolutions, *hidden, nn.ReLU())
        self.features = 512

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        # oneDNN's CPU convolutions are faster on channels-last images (benchmarks/dqn_speed.py
        # runs them so; QNetwork.to_device makes the weights channels-last too); on CUDA the
        # images go in as the weights are, NCHW. A no-op for stacks already so (the replay
        # buffer's, agents.dqn.replay).
        cpu = obs.device.type == "cpu"
        obs = obs.contiguous(memory_format=torch.channels_last if cpu else torch.contiguous_format)
        # In the weights' dtype (fp32, or bf16 for agents.common.precision): uint8 frames are
        # exact in either. Scaled in place: the cast is a copy, never the caller's tensor.
        return self.layers(obs.to(self.layers[0][0].weight.dtype, copy=True).div_(255.0))


class MLPTorso(nn.Sequential):
    """Flattens any observation, then Linear and ReLU layers of the given sizes (with
    `layer_norm`, Linear, LayerNorm and ReLU)."""

    def __init__(self, inputs: int, hidden: Sequence[int], *, layer_norm: bool = False) -> None:
        sizes = [inputs, *hidden]
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in itertools.pairwise(sizes):
            layers.append(nn.Linear(a, b))
            if layer_norm:
                layers.append(nn.LayerNorm(b))
            layers.append(nn.ReLU())
        super().__init__(*layers)
        self.features = sizes[-1]

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return super().forward(obs.to(self[1].weight.dtype))


class QNetwork(nn.Module):
    """Q-values for every action: a torso picked from the observation space (`uses_cnn`), with
    LayerNorm in its hidden layers if `layer_norm`, then a linear head, or with `dueling` the value
    and advantage heads of Wang et al. (2016)."""

    def __init__(
        self,
        observation_space: spaces.Box,
        num_actions: int,
        *,
        mlp_hidden: Sequence[int] = (128, 128),
        dueling: bool = False,
        layer_norm: bool = False,
    ) -> None:
        super().__init__()
        if uses_cnn(observation_space):
            self.torso: nn.Module = NatureCNN(*observation_space.shape, layer_norm=layer_norm)
        else:
            inputs = int(np.prod(observation_space.shape))
            self.torso = MLPTorso(inputs, mlp_hidden, layer_norm=layer_norm)
        self.head = nn.Linear(self.torso.features, num_actions)
        self.value = nn.Linear(self.torso.features, 1) if dueling else None

    def to_device(self, device: torch.device) -> QNetwork:
        """The network on `device`; on the CPU the CNN's weights go channels-last, as its images
        do there (`NatureCNN.forward`)."""
        self.to(device)
        if device.type == "cpu" and isinstance(self.torso, NatureCNN):
            self.to(memory_format=torch.channels_last)
        return self

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        features = self.torso(obs)
        advantages = self.head(features)
        if self.value is None:
            return advantages
        return self.value(features) + advantages - advantages.mean(dim=1, keepdim=True)
