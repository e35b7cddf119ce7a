"""PQN's Q-networks: agents.common.networks with `layer_norm`: shapes, where each LayerNorm sits,
and the convolutions' LayerNorm, computed on the NHWC view, against nn.LayerNorm([C, H, W])."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces
from torch import nn

from agents.common.networks import FeatureMapLayerNorm, QNetwork
from agents.dqn.fast_mlp import supports

FRAMES = spaces.Box(0, 255, (4, 84, 84), np.uint8)
VECTOR = spaces.Box(0, 1, (10, 10), np.float32)


def _types(module: nn.Module) -> list[type]:
    return [type(layer) for layer in module]


def test_the_cnn_normalises_each_convolution_and_the_hidden_layer_before_its_relu():
    network = QNetwork(FRAMES, 6, layer_norm=True)
    convolutions, *hidden = network.torso.layers
    conv, norm, relu = nn.Conv2d, FeatureMapLayerNorm, nn.ReLU
    assert _types(convolutions) == [
        conv,
        norm,
        relu,
        conv,
        norm,
        relu,
        conv,
        norm,
        relu,
        nn.Flatten,
    ]
    assert _types(hidden) == [nn.Linear, nn.LayerNorm, nn.ReLU]
    shapes = [layer.normalized_shape for layer in convolutions if isinstance(layer, norm)]
    assert shapes == [(20, 20, 32), (9, 9, 64), (7, 7, 64)]  # (H, W, C) of each feature map
    assert hidden[1].normalized_shape == (512,)
    assert type(network.head) is nn.Linear  # the head is not normalised
    obs = torch.randint(0, 256, (5, 4, 84, 84), dtype=torch.uint8)
    assert network(obs).shape == (5, 6)


def test_the_mlp_normalises_each_hidden_layer_and_the_fast_dqn_update_refuses_it():
    network = QNetwork(VECTOR, 3, mlp_hidden=(64, 32), layer_norm=True)
    linear, norm, relu = nn.Linear, nn.LayerNorm, nn.ReLU
    assert _types(network.torso) == [nn.Flatten, linear, norm, relu, linear, norm, relu]
    norms = [layer.normalized_shape for layer in network.torso if isinstance(layer, norm)]
    assert norms == [(64,), (32,)]
    assert network(torch.rand(7, 10, 10)).shape == (7, 3)
    assert not supports(network)  # agents.dqn.fast_mlp's gradient has no LayerNorm in it
    assert supports(QNetwork(VECTOR, 3, mlp_hidden=(64, 32)))


def test_without_layer_norm_the_networks_are_the_dqns():
    cnn = QNetwork(FRAMES, 6)
    assert _types(cnn.torso.layers[0]) == [nn.Conv2d, nn.ReLU] * 3 + [nn.Flatten]
    assert list(cnn.state_dict()) == [
        "torso.layers.0.0.weight", "torso.layers.0.0.bias", "torso.layers.0.2.weight",
        "torso.layers.0.2.bias", "torso.layers.0.4.weight", "torso.layers.0.4.bias",
        "torso.layers.1.weight", "torso.layers.1.bias", "head.weight", "head.bias",
    ]  # fmt: skip
    mlp = QNetwork(VECTOR, 3).torso
    assert _types(mlp) == [nn.Flatten, nn.Linear, nn.ReLU, nn.Linear, nn.ReLU]


@pytest.mark.parametrize("channels_last", [True, False], ids=["channels-last", "contiguous"])
def test_the_feature_map_layer_norm_is_layer_norm_over_channels_height_and_width(channels_last):
    """The same elements are normalised together, and the affine weight of element (c, h, w) is
    the one stored at (h, w, c)."""
    generator = torch.Generator().manual_seed(0)
    ours = FeatureMapLayerNorm(8, 5, 6)
    with torch.no_grad():
        ours.weight.copy_(torch.randn(5, 6, 8, generator=generator))
        ours.bias.copy_(torch.randn(5, 6, 8, generator=generator))
    reference = nn.LayerNorm([8, 5, 6])
    with torch.no_grad():
        reference.weight.copy_(ours.weight.permute(2, 0, 1))
        reference.bias.copy_(ours.bias.permute(2, 0, 1))
    x = torch.randn(3, 8, 5, 6, generator=generator) * 3 + 1
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    out = ours(x)
    torch.testing.assert_close(out, reference(x))
    assert out.shape == x.shape
    if channels_last:  # no copy to NCHW: the output keeps the layout
        assert out.is_contiguous(memory_format=torch.channels_last)
    upstream = torch.randn(out.shape, generator=generator)
    (grad_ours,) = torch.autograd.grad(out, x, upstream)
    (grad_reference,) = torch.autograd.grad(reference(x), x, upstream)
    torch.testing.assert_close(grad_ours, grad_reference)
