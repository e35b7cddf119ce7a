"""A network's parameters as one flat tensor, and Adam with gradient clipping on it.

Why: `torch.optim.Adam.step` and `clip_grad_norm_` loop over parameter tensors in Python and cost
a fixed ~90 µs a step together (measured on a 2-core CPU with torch 2.13, fused or foreach, on a
small MLP), as much as the whole arithmetic of an update for the networks of Catch or classic
control. With every parameter a view into one tensor and every gradient a view into another, a
clipped Adam step is a norm, three scalar ops (two for the clipping, one for the step count) and
one call of the fused Adam kernel that `torch.optim.Adam(fused=True)` calls, which also does the
clipping (~15 µs in all). The tests check it against `clip_grad_norm_` and `torch.optim.Adam`
step for step.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class FlatParameters:
    """Moves every parameter of `module` into one tensor, `data`, and (with `gradients`) gives
    each a gradient that is a view into another, `grad`, so that backward passes accumulate into
    `grad` in place. Call it after the module has moved to its device: `module.to` would break
    the views."""

    def __init__(self, module: nn.Module, gradients: bool = True) -> None:
        parameters = list(module.parameters())
        first = parameters[0]
        size = sum(p.numel() for p in parameters)
        self.data = torch.empty(size, dtype=first.dtype, device=first.device)
        self.grad = torch.zeros_like(self.data) if gradients else None
        offset = 0
        for parameter in parameters:
            # Views with the parameter's own strides, so a channels-last weight stays one.
            shape, strides = parameter.shape, parameter.stride()
            view = self.data.as_strided(shape, strides, offset)
            view.copy_(parameter.detach())
            parameter.data = view
            if self.grad is not None:
                parameter.grad = self.grad.as_strided(shape, strides, offset)
            offset += parameter.numel()


class Adam:
    """`torch.optim.Adam` (fused, no weight decay, no amsgrad) on a `FlatParameters`; with
    `max_grad_norm`, each step first scales the gradient down to that norm when it is longer, as
    `clip_grad_norm_` does."""

    def __init__(
        self,
        parameters: FlatParameters,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        max_grad_norm: float | None = None,
    ) -> None:
        self.parameters = parameters
        self.lr = lr
        self.betas = betas
        self.eps = eps
        device = parameters.data.device
        self.step_count = torch.zeros((), dtype=torch.float32, device=device)
        self._one = torch.ones((), device=device)
        self._max_grad_norm = max_grad_norm
        # clip_grad_norm_ multiplies by min(1, max_norm / (norm + 1e-6)); the fused kernel
        # divides by grad_scale, so it gets max(1, norm / max_norm + 1e-6 / max_norm), made of
        # tensor operands: a Python float would become a new tensor at every call.
        self._clip_eps = None
        if max_grad_norm is not None:
            self._clip_eps = torch.tensor(1e-6 / max_grad_norm, device=device)
        self.exp_avg = torch.zeros_like(parameters.data)
        self.exp_avg_sq = torch.zeros_like(parameters.data)

    @property
    def steps(self) -> int:
        return int(self.step_count.item())

    def step(self) -> None:
        """One step on the gradient in `parameters.grad` (left as used: clipped). No host sync."""
        grad_scale = None
        if self._clip_eps is not None:
            norm = torch.linalg.vector_norm(self.parameters.grad)
            grad_scale = torch.add(self._clip_eps, norm, alpha=1 / self._max_grad_norm)
            grad_scale.clamp_min_(1.0)
        self.step_count.add_(self._one)
        # The kernel `torch.optim.adam.adam(fused=True)` ends in, called directly: the functional
        # form's per-call bookkeeping (grouping tensors by device, foreach ops on lists of one)
        # cost more than the kernel itself here. It is a private op: the tests check it against
        # torch.optim.Adam on whichever torch is installed.
        torch._fused_adam_(
            [self.parameters.data],
            [self.parameters.grad],
            [self.exp_avg],
            [self.exp_avg_sq],
            [],
            [self.step_count],
            lr=self.lr,
            beta1=self.betas[0],
            beta2=self.betas[1],
            weight_decay=0.0,
            eps=self.eps,
            amsgrad=False,
            maximize=False,
            grad_scale=grad_scale,
        )

    def state_dict(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "betas": self.betas,
            "eps": self.eps,
            "steps": self.steps,
            "exp_avg": self.exp_avg,
            "exp_avg_sq": self.exp_avg_sq,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores a `state_dict` of an Adam over parameters of the same size; ValueError if the
        state is of another kind or size."""
        if not isinstance(state, dict) or "exp_avg" not in state:
            raise ValueError("the optimizer state is not one of this Adam's")
        if state["exp_avg"].shape != self.exp_avg.shape:
            raise ValueError(
                f"the optimizer state is for {state['exp_avg'].numel():,} parameters, "
                f"not {self.exp_avg.numel():,}"
            )
        self.lr, self.betas, self.eps = state["lr"], tuple(state["betas"]), state["eps"]
        self.step_count.fill_(state["steps"])
        self.exp_avg.copy_(state["exp_avg"])
        self.exp_avg_sq.copy_(state["exp_avg_sq"])
