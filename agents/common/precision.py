"""`--precision`: fp32, or bf16 compute with fp32 master weights, for every agent.

bf16 halves the bytes a network moves and, on hardware built for it, runs matrix work several
times faster: CPUs with AVX512-BF16 or AMX (recent Xeon and EPYC servers), and CUDA GPUs from
Ampere on. On a CPU without them bf16 is emulated and slower than fp32, so `auto` takes bf16 only
where the hardware has it, and only for the Nature CNN: an MLP's matrices are too small to gain,
and the casts cost more than they save. On a 2-core AVX512-BF16 CPU, `python -m agents.dqn
--total-timesteps 10000 --precision P` (the catch preset) trained in 1.0-1.4 s with fp32, which
also has the hand-written update, and 4.7-5.3 s with bf16 (two runs each).

How the bf16 path works (`Bf16Compute`): the optimizer keeps the network's fp32 weights (the
master copy) and its fp32 state; a bf16 copy of the network computes the forward and backward
passes; its gradients are cast to fp32 into the master weights' `.grad` for clipping and the
optimizer's step; the step's new weights are cast back into the copy. Losses are computed in
fp32 from the bf16 Q-values. This, rather than `torch.autocast`, because autocast casts every
weight again at every forward call, and an update makes several.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Literal

import torch
from gymnasium import spaces
from torch import nn

from agents.common.networks import uses_cnn

Precision = Literal["auto", "fp32", "bf16"]
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
"""CPU features of hardware bf16 matrix arithmetic (as `torch.cpu.get_capabilities` names them)."""


@cache
def cpu_has_fast_bf16() -> bool:
    """Whether this CPU does bf16 matrix work in hardware. (oneDNN's own bf16 check says yes on
    any AVX-512 CPU, where bf16 is emulated and slower than fp32.)"""
    capabilities = torch.cpu.get_capabilities()
    return any(capabilities.get(flag, False) for flag in BF16_CPU_FLAGS)


def pick_precision(
    name: Precision, device: torch.device, observation_space: spaces.Space
) -> tuple[str, str]:
    """The precision `--precision name` means on `device` for a network of `observation_space`,
    and why (for the run's first line)."""
    if name != "auto":
        return name, f"--precision {name}"
    if not uses_cnn(observation_space):
        return "fp32", "auto: an MLP's small matrices gain nothing from bf16"
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported(including_emulation=False):
            return "bf16", "auto: this GPU computes bf16 in hardware"
        return "fp32", "auto: this GPU has no bf16 hardware"
    if device.type == "cpu" and cpu_has_fast_bf16():
        return "bf16", f"auto: this CPU has {' or '.join(BF16_CPU_FLAGS)}"
    return "fp32", f"auto: this CPU has neither {' nor '.join(BF16_CPU_FLAGS)}"


class Bf16Compute:
    """A bf16 copy of `network` that computes its passes while `network` keeps the fp32 master
    weights the optimizer steps (see the module docstring). Call `gradients_to_master` after
    `backward()` on a loss of `module`'s outputs, and `weights_from_master` after the step."""

    def __init__(self, network: nn.Module) -> None:
        self.master = list(network.parameters())
        self.module = copy.deepcopy(network).to(torch.bfloat16)
        self.copies = list(self.module.parameters())

    @torch.no_grad()
    def gradients_to_master(self) -> None:
        for master, bf16 in zip(self.master, self.copies, strict=True):
            if master.grad is None:
                master.grad = torch.empty_like(master)
            master.grad.copy_(bf16.grad)
            bf16.grad = None

    @torch.no_grad()
    def weights_from_master(self) -> None:
        for bf16, master in zip(self.copies, self.master, strict=True):
            bf16.copy_(master)
