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


def set_cpu_threads(device: torch.device | str, observation_space: spaces.Box) -> None:
    """One torch thread for an MLP on the CPU: its ops are too small to split across threads, and
    a second one only adds waiting. Both agents call this, so they compare on equal terms."""
    if torch.device(device).type == "cpu" and not is_image_space(observation_space):
        torch.set_num_threads(1)


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
        if obs.device.type == "cpu":
            # oneDNN's convolutions run faster on channels-last images (measured on a 2-core CPU,
            # batch 32: forward and backward 25 ms in the default layout, 19 ms channels-last;
            # agents.dqn.Learner makes the weights channels-last too).
            obs = obs.contiguous(memory_format=torch.channels_last)
        return self.layers(obs.float().div_(255.0))


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


class MLPGradient:
    """The forward and backward passes of an MLP Q-network with a plain head, written out as
    matrix products, without autograd: for networks this small, autograd's bookkeeping costs more
    than the arithmetic (measured on a 2-core CPU, two 128-unit layers, batch 32: `backward()`
    150 µs, these products 40 µs). The tests check the gradient against autograd's."""

    def __init__(self, network: QNetwork) -> None:
        """Make it after the network's parameters have their final storage (`FlatParameters`):
        it keeps views of them."""
        if not self.supports(network):
            raise ValueError("MLPGradient needs an MLP Q-network without a dueling head")
        linears = [*network.torso.linears, network.head]
        # (weight, its transpose, bias): the transposes as views made once, not at every step.
        self.layers = [(linear.weight, linear.weight.t(), linear.bias) for linear in linears]

    @staticmethod
    def supports(network: QNetwork) -> bool:
        return isinstance(network.torso, MLPTorso) and network.value is None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Q-values of float observations flattened to rows, `x`, and each layer's input, which
        `backward` needs."""
        inputs = []
        for _, transposed, bias in self.layers[:-1]:
            inputs.append(x)
            x = torch.addmm(bias, x, transposed).relu_()
        inputs.append(x)
        _, transposed, bias = self.layers[-1]
        return torch.addmm(bias, x, transposed), inputs

    def backward(self, inputs: list[torch.Tensor], grad_q: torch.Tensor) -> None:
        """Writes into every parameter's `.grad` the gradient of a loss whose gradient with respect
        to the Q-values of the first `len(grad_q)` rows of `forward`'s batch is `grad_q`."""
        rows = grad_q.shape[0]
        grad = grad_q
        for index in reversed(range(len(self.layers))):
            weight, _, bias = self.layers[index]
            layer_input = inputs[index]
            if layer_input.shape[0] > rows:  # a slice only when needed: each view costs ~1 µs
                layer_input = layer_input[:rows]
            torch.mm(grad.t(), layer_input, out=weight.grad)
            torch.sum(grad, dim=0, out=bias.grad)
            if index:  # through the ReLU that made this layer's input
                grad = torch.ops.aten.threshold_backward(torch.mm(grad, weight), layer_input, 0)
