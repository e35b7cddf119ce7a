"""Where and how the networks run, the same for every agent: the device (`--device auto` picks
by the network), torch's backend settings (`--deterministic`), and CPU threads."""

from __future__ import annotations

import os

import torch
from gymnasium import spaces

from agents.common.cli import UsageError
from agents.common.networks import uses_cnn


def pick_device(name: str, observation_space: spaces.Space) -> tuple[torch.device, str]:
    """The device `--device name` means for a network of `observation_space`, and why (the
    run's first line says it). `auto` takes CUDA for the Nature CNN only: an MLP's layers are so
    small that CUDA's kernel launches and the copies and sync of every step cost more than the
    arithmetic, which the CPU does at once."""
    cuda = torch.cuda.is_available()
    if name == "cuda" and not cuda:
        raise UsageError(
            "--device cuda was asked for, but this torch sees no CUDA device; "
            "use --device cpu (or auto)"
        )
    if name != "auto":
        return torch.device(name), f"--device {name}"
    if not cuda:
        return torch.device("cpu"), "auto: this torch sees no CUDA device"
    if uses_cnn(observation_space):
        return torch.device("cuda"), "auto: a CNN on image observations runs faster on the GPU"
    return torch.device("cpu"), "auto: a small MLP runs faster on the CPU than through CUDA"


def setup_backends(deterministic: bool) -> str:
    """Torch's settings for a run, the same for every agent (call it after anything that sets
    its own, such as SB3's seeding); returns what it chose, for the run's first line.

    With `deterministic`, the same seed gives the same run on CUDA too: deterministic algorithms
    only (`torch.use_deterministic_algorithms`, cuBLAS's fixed workspace), cuDNN's deterministic
    kernels. Otherwise cuDNN benchmarks and keeps its fastest kernels. Either way fp32 means fp32:
    no TF32 in convolutions (torch's default) nor in matrix products. CPU runs are deterministic
    either way."""
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(deterministic)
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = not deterministic
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    return "deterministic algorithms" if deterministic else "cudnn.benchmark"


def set_cpu_threads(device: torch.device | str, observation_space: spaces.Space) -> None:
    """One torch thread for an MLP on the CPU: its ops are too small to split across threads, and
    a second one only adds waiting. Every agent calls this, so they compare on equal terms."""
    if torch.device(device).type == "cpu" and not uses_cnn(observation_space):
        torch.set_num_threads(1)
