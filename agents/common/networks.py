"""Q-networks, chosen from the observation space: the Nature CNN for the DQN pipeline's frame
stacks, an MLP for everything else."""

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


class NatureCNN(nn.Module):
    """The convolutional torso of Mnih et al. (2015) with its 512-unit hidden layer, for uint8
    frame stacks (channels, height, width) scaled to [0, 1]."""

    def __init__(self, channels: int, height: int, width: int) -> None:
        super().__init__()
        convolutions = nn.Sequential(
            nn.Conv2d(channels, 32, 8, stride=4),
            nn.ReLU(),
            nn.Conv2d(32, 64, 4, stride=2),
            nn.ReLU(),
            nn.Conv2d(64, 64, 3, stride=1),
            nn.ReLU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            flat = convolutions(torch.zeros(1, channels, height, width)).shape[1]
        self.layers = nn.Sequential(convolutions, nn.Linear(flat, 512), nn.ReLU())
        self.features = 512

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if obs.device.type == "cpu":
            # oneDNN's CPU convolutions are faster on channels-last images (benchmarks/dqn_speed.py
            # runs them so); the learner makes the weights channels-last too.
            obs = obs.contiguous(memory_format=torch.channels_last)
        # In the weights' dtype (fp32, or bf16 for agents.common.precision): uint8 frames are
        # exact in either.
        return self.layers(obs.to(self.layers[0][0].weight.dtype) / 255.0)


class MLPTorso(nn.Sequential):
    """Flattens any observation, then Linear and ReLU layers of the given sizes."""

    def __init__(self, inputs: int, hidden: Sequence[int]) -> None:
        sizes = [inputs, *hidden]
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in itertools.pairwise(sizes):
            layers += [nn.Linear(a, b), nn.ReLU()]
        super().__init__(*layers)
        self.features = sizes[-1]

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return super().forward(obs.to(self[1].weight.dtype))


class QNetwork(nn.Module):
    """Q-values for every action: a torso picked from the observation space (`uses_cnn`), then a
    linear head, or with `dueling` the value and advantage heads of Wang et al. (2016)."""

    def __init__(
        self,
        observation_space: spaces.Box,
        num_actions: int,
        *,
        mlp_hidden: Sequence[int] = (128, 128),
        dueling: bool = False,
    ) -> None:
        super().__init__()
        if uses_cnn(observation_space):
            self.torso: nn.Module = NatureCNN(*observation_space.shape)
        else:
            self.torso = MLPTorso(int(np.prod(observation_space.shape)), mlp_hidden)
        self.head = nn.Linear(self.torso.features, num_actions)
        self.value = nn.Linear(self.torso.features, 1) if dueling else None

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        features = self.torso(obs)
        advantages = self.head(features)
        if self.value is None:
            return advantages
        return self.value(features) + advantages - advantages.mean(dim=1, keepdim=True)
