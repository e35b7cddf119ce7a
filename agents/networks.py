"""Q-networks, chosen from the observation space: the Nature CNN for images, an MLP otherwise."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import nn


def is_image_space(space: spaces.Box) -> bool:
    """uint8 (channels, height, width): what the DQN pipeline makes of pixel games."""
    return space.dtype == np.uint8 and len(space.shape) == 3 and min(space.shape[1:]) >= 36


class NatureCNN(nn.Module):
    """The convolutional torso of Mnih et al. (2015), for uint8 images scaled to [0, 1], with its
    512-unit fully connected layer."""

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
        return self.layers(obs.float() / 255.0)


class MLPTorso(nn.Module):
    """Flattens any observation and applies ReLU layers."""

    def __init__(self, inputs: int, hidden: Sequence[int]) -> None:
        super().__init__()
        sizes = [inputs, *hidden]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(sizes))
        self.features = sizes[-1]

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        # F.linear on the layers' tensors, not layer(x): for networks this small, nn.Module's
        # per-call machinery costs more than the matrix products (measured: a third of an update).
        x = obs.flatten(1).float()
        for linear in self.linears:
            x = torch.relu(F.linear(x, linear.weight, linear.bias))
        return x


class QNetwork(nn.Module):
    """Q-values for every action: a torso picked from the observation space, then a linear head,
    or with `dueling` the value and advantage heads of Wang et al. (2016)."""

    def __init__(
        self,
        observation_space: spaces.Box,
        num_actions: int,
        *,
        mlp_hidden: Sequence[int] = (128, 128),
        dueling: bool = False,
    ) -> None:
        super().__init__()
        if is_image_space(observation_space):
            self.torso: nn.Module = NatureCNN(*observation_space.shape)
        else:
            self.torso = MLPTorso(int(np.prod(observation_space.shape)), mlp_hidden)
        self.head = nn.Linear(self.torso.features, num_actions)
        self.value = nn.Linear(self.torso.features, 1) if dueling else None

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        features = self.torso(obs)
        advantages = F.linear(features, self.head.weight, self.head.bias)
        if self.value is None:
            return advantages
        value = F.linear(features, self.value.weight, self.value.bias)
        return value + advantages - advantages.mean(dim=1, keepdim=True)
