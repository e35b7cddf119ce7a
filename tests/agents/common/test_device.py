"""agents.common.device: what `--device auto` picks and says, and the backend settings both
agents share."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from gymnasium import spaces

from agents.common.cli import UsageError
from agents.common.device import pick_device, setup_backends

FRAMES = spaces.Box(0, 255, (4, 84, 84), np.uint8)
VECTOR = spaces.Box(0, 1, (10, 10), np.float32)


@pytest.mark.parametrize(
    ("cuda", "space", "device", "why"),
    [
        (True, FRAMES, "cuda", "a CNN on image observations runs faster on the GPU"),
        (True, VECTOR, "cpu", "a small MLP runs faster on the CPU"),
        (False, FRAMES, "cpu", "this torch sees no CUDA device"),
    ],
)
def test_auto_picks_cuda_for_cnns_only_and_says_why(monkeypatch, cuda, space, device, why):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    picked, reason = pick_device("auto", space)
    assert picked == torch.device(device) and why in reason


def test_an_asked_for_device_is_taken_or_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("cpu", FRAMES) == (torch.device("cpu"), "--device cpu")
    with pytest.raises(UsageError, match="--device cuda was asked for"):
        pick_device("cuda", FRAMES)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("cuda", VECTOR)[0] == torch.device("cuda")  # asked for: no second guess


@pytest.fixture
def backends():
    saved = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic,
             torch.backends.cudnn.benchmark, torch.backends.cudnn.allow_tf32,
             torch.backends.cuda.matmul.allow_tf32)  # fmt: skip
    yield
    torch.use_deterministic_algorithms(saved[0])
    cudnn = torch.backends.cudnn
    cudnn.deterministic, cudnn.benchmark, cudnn.allow_tf32 = saved[1:4]
    torch.backends.cuda.matmul.allow_tf32 = saved[4]


def test_deterministic_runs_use_deterministic_kernels_and_others_the_fastest(backends, monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    assert setup_backends(deterministic=True) == "deterministic algorithms"
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    assert setup_backends(deterministic=False) == "cudnn.benchmark"
    assert not torch.are_deterministic_algorithms_enabled()
    assert torch.backends.cudnn.benchmark and not torch.backends.cudnn.deterministic
    # fp32 is fp32 in convolutions and matrix products alike
    assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32
