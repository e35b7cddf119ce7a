"""A faster DQN update for small MLP Q-networks: the plain `Learner`'s update, computed without
autograd or torch.optim.

Why: for networks the size of Catch's or classic control's (two layers of 64-128 units, batches
of 32), the plain update's fixed costs (autograd's graph, `torch.optim.Adam`'s and
`clip_grad_norm_`'s loops over parameter tensors, nn.Module calls) cost more than its arithmetic.
Here every parameter is a view into one flat tensor and every gradient a view into another, the
gradient is written out as matrix products, and clipping and Adam are one call of the fused Adam
kernel. `benchmarks/dqn_speed.py` prints the catch preset trained with both learners.

`FastMLPLearner` is used only where it computes exactly what `Learner` does: `supports` checks the
network's structure layer by layer (any other layer, activation or head falls back to the plain
learner), and the tests check both learners give the same parameters step for step.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import nn

from agents.common.networks import MLPTorso, QNetwork
from agents.common.precision import pick_precision
from agents.dqn.config import Args
from agents.dqn.learner import Learner, td_targets


def supports(network: nn.Module) -> bool:
    """Whether `network` is exactly the network this module's gradient is written for: a
    `QNetwork` whose torso is Flatten then (Linear, ReLU) pairs, with one Linear head and no
    dueling stream."""
    if type(network) is not QNetwork or network.value is not None:
        return False
    if type(network.head) is not nn.Linear or type(network.torso) is not MLPTorso:
        return False
    layers = list(network.torso)
    expected = [nn.Flatten] + [nn.Linear, nn.ReLU] * ((len(layers) - 1) // 2)
    if [type(layer) for layer in layers] != expected or layers[0].start_dim != 1:
        return False
    return all(layer.bias is not None for layer in (*layers[1::2], network.head))


class FlatParameters:
    """Moves every parameter of `module` into one tensor, `data`, and (with `gradients`) gives
    each a gradient that is a view into another, `grad`. Call it after the module has moved to
    its device: `module.to` would break the views."""

    def __init__(self, module: nn.Module, gradients: bool = True) -> None:
        self.parameters = list(module.parameters())
        first = self.parameters[0]
        self.data = torch.empty(
            sum(p.numel() for p in self.parameters), dtype=first.dtype, device=first.device
        )
        self.grad = torch.zeros_like(self.data) if gradients else None
        for parameter, view in zip(self.parameters, self.views(self.data), strict=True):
            view.copy_(parameter.detach())
            parameter.data = view
        if self.grad is not None:
            for parameter, view in zip(self.parameters, self.views(self.grad), strict=True):
                parameter.grad = view

    def views(self, flat: torch.Tensor) -> list[torch.Tensor]:
        """`flat` (a tensor the size of `data`) cut into one view per parameter, in its shape."""
        sizes = [p.numel() for p in self.parameters]
        return [
            part.view(p.shape) for part, p in zip(flat.split(sizes), self.parameters, strict=True)
        ]


class FlatAdam:
    """`torch.optim.Adam` (no weight decay, no amsgrad) on a `FlatParameters`; each step first
    scales the gradient down to `max_grad_norm` when it is longer, as `clip_grad_norm_` does. Its
    `state_dict` is torch.optim.Adam's, so either loads the other's."""

    def __init__(
        self, parameters: FlatParameters, lr: float, max_grad_norm: float, eps: float = 1e-8
    ) -> None:
        self.parameters = parameters
        self.lr, self.betas, self.eps = lr, (0.9, 0.999), eps
        device = parameters.data.device
        self.step_count = torch.zeros((), dtype=torch.float32, device=device)
        self._one = torch.ones((), device=device)
        self.max_grad_norm = max_grad_norm
        # clip_grad_norm_ multiplies by min(1, max_norm / (norm + 1e-6)); the fused kernel
        # divides by grad_scale, so it gets max(1, norm / max_norm + 1e-6 / max_norm), made of
        # tensor operands: a Python float would become a new tensor at every call.
        self._clip_eps = torch.tensor(1e-6 / max_grad_norm, device=device)
        self.exp_avg = torch.zeros_like(parameters.data)
        self.exp_avg_sq = torch.zeros_like(parameters.data)

    def step(self) -> None:
        """One step on the gradient in `parameters.grad`. No host sync."""
        norm = torch.linalg.vector_norm(self.parameters.grad)
        grad_scale = torch.add(self._clip_eps, norm, alpha=1 / self.max_grad_norm).clamp_min_(1.0)
        self.step_count.add_(self._one)
        # The kernel `torch.optim.Adam(fused=True)` ends in, called directly: the functional
        # form's per-call bookkeeping (grouping tensors by device, foreach ops on lists of one)
        # costs more than the kernel itself here. It is a private op: the tests check it against
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
        """torch.optim.Adam's state_dict: a state per parameter, in its shape."""
        exp_avgs = self.parameters.views(self.exp_avg)
        exp_avg_sqs = self.parameters.views(self.exp_avg_sq)
        state = {
            index: {"step": self.step_count.clone(), "exp_avg": a.clone(), "exp_avg_sq": b.clone()}
            for index, (a, b) in enumerate(zip(exp_avgs, exp_avg_sqs, strict=True))
        }
        group = {"lr": self.lr, "betas": self.betas, "eps": self.eps, "weight_decay": 0.0,
                 "amsgrad": False, "maximize": False, "foreach": None, "capturable": False,
                 "differentiable": False, "fused": True, "decoupled_weight_decay": False,
                 "params": list(state)}  # fmt: skip
        return {"state": state, "param_groups": [group]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores a `state_dict` of this kind or of a torch.optim.Adam over the same
        parameters; ValueError if it is of other parameters."""
        shapes = [p.shape for p in self.parameters.parameters]
        try:
            saved = [state["state"][index] for index in state["param_groups"][0]["params"]]
            fits = [s["exp_avg"].shape for s in saved] == shapes
        except (KeyError, IndexError, TypeError):
            fits = False
        if not fits:
            raise ValueError("the optimizer state is of other parameters")
        if saved:
            self.step_count.fill_(float(saved[0]["step"]))
        for name, flat in (("exp_avg", self.exp_avg), ("exp_avg_sq", self.exp_avg_sq)):
            for view, moments in zip(self.parameters.views(flat), saved, strict=True):
                view.copy_(moments[name])
        self.lr = state["param_groups"][0]["lr"]


class MLPGradient:
    """The forward and backward passes of a network `supports` accepts, written out as matrix
    products. The tests check the gradient against autograd's."""

    def __init__(self, network: QNetwork) -> None:
        """Make it after the network's parameters have their final storage (`FlatParameters`):
        it keeps views of them."""
        if not supports(network):
            raise ValueError("MLPGradient needs a QNetwork of Linear and ReLU layers, no dueling")
        linears = [*list(network.torso)[1::2], network.head]
        # (weight, its transpose, bias): the transposes as views made once, not at every step.
        self.layers = [(linear.weight, linear.weight.t(), linear.bias) for linear in linears]

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
            if layer_input.shape[0] > rows:  # a slice only when needed: a view is a call too
                layer_input = layer_input[:rows]
            torch.mm(grad.t(), layer_input, out=weight.grad)
            torch.sum(grad, dim=0, out=bias.grad)
            if index:  # through the ReLU that made this layer's input
                grad = torch.ops.aten.threshold_backward(torch.mm(grad, weight), layer_input, 0)


class FastMLPLearner(Learner):
    """`Learner` for a network `supports` accepts, with the update computed by `MLPGradient` and
    `FlatAdam`: no autograd at all."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not supports(self.q_network) or self.args.compile:
            raise ValueError("FastMLPLearner is for plain MLP Q-networks, not compiled")
        self.q_network.requires_grad_(False)  # no autograd at all: ops need record nothing
        self.mlp = MLPGradient(self.q_network)
        self.target_mlp = MLPGradient(self.target_network)

    def make_optimizer(self) -> FlatAdam:
        """`FlatAdam`, on the networks' parameters moved into flat tensors first."""
        self.weights = FlatParameters(self.q_network)
        self.target_weights = FlatParameters(self.target_network, gradients=False)
        return FlatAdam(self.weights, self.args.learning_rate, self.args.max_grad_norm)

    @torch.no_grad()
    def greedy(self, obs: np.ndarray) -> np.ndarray:
        q, _ = self.mlp.forward(self.to_device(obs).flatten(1).float())
        return q.argmax(dim=1).cpu().numpy()

    def update(
        self, batch: dict[str, np.ndarray], steps: int = 1
    ) -> tuple[torch.Tensor, torch.Tensor]:
        data = {name: self.to_device(values) for name, values in batch.items()}
        rows, left_over = divmod(len(data["actions"]), steps)
        if left_over or not rows:
            raise ValueError(f"a batch of {len(data['actions'])} does not split into {steps} steps")
        obs, next_obs = (data[name].flatten(1).float() for name in ("obs", "next_obs"))
        next_q_target, _ = self.target_mlp.forward(next_obs)  # the same for every step: one pass
        double = self.args.double
        targets = torch.empty_like(data["returns"])
        q_taken = torch.empty_like(targets)
        if not double:  # then the targets do not depend on the online network either
            td_targets(data["returns"], data["discounts"], next_q_target, None, out=targets)
        # Each step's tensors are views made for all steps in a few calls: at Catch's sizes a
        # step is a few dozen small ops, and each call costs about as much as its arithmetic.
        obs = obs.view(steps, rows, -1)
        if double:  # each step's online pass covers its obs and its next_obs together
            obs = torch.cat((obs, next_obs.view(steps, rows, -1)), dim=1)
        actions = data["actions"][:, None]
        # The mean Huber loss's gradient with respect to q_taken is each error clipped to
        # [-1, 1], over the batch size; with respect to the Q-values, that at the action taken.
        action_masks = torch.zeros_like(next_q_target).scatter_(1, actions, 1.0 / rows)
        per_step = [
            obs.unbind(),
            actions.view(steps, rows, 1).unbind(),
            action_masks.view(steps, rows, -1).unbind(),
            targets.view(steps, rows, 1).unbind(),
            q_taken.view(steps, rows, 1).unbind(),
            data["returns"].view(steps, rows).unbind(),
            data["discounts"].view(steps, rows).unbind(),
            next_q_target.view(steps, rows, -1).unbind(),
        ]
        for x, action, mask, target, taken, returns, discounts, next_target in zip(
            *per_step, strict=True
        ):
            q, inputs = self.mlp.forward(x)
            if double:
                td_targets(returns, discounts, next_target, q[rows:], out=target.view(rows))
                q = q[:rows]
            torch.gather(q, 1, action, out=taken)
            errors = torch.sub(taken, target).clamp_(-1.0, 1.0)
            self.mlp.backward(inputs, torch.mul(mask, errors))
            self.optimizer.step()
        return F.smooth_l1_loss(q_taken, targets), q_taken.mean()

    @torch.no_grad()
    def update_target(self) -> None:
        self.target_weights.data.lerp_(self.weights.data, self.args.tau)

    @property
    def gradient_steps(self) -> int:
        return int(self.optimizer.step_count.item())

    def set_learning_rate(self, learning_rate: float) -> None:
        self.optimizer.lr = learning_rate

    def load_optimizer(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state)


def make_learner(
    args: Args, observation_space: spaces.Box, num_actions: int, device: torch.device
) -> Learner:
    """`FastMLPLearner` where it computes exactly what `Learner` does (`supports`, on the CPU, in
    fp32, not compiled, `--fast-mlp`), else `Learner`."""
    with torch.device("meta"):  # the network the learner will build, without its weights
        probe = QNetwork(
            observation_space, num_actions, mlp_hidden=args.mlp_hidden, dueling=args.dueling
        )
    fp32 = pick_precision(args.precision, device, observation_space)[0] == "fp32"
    fast = args.fast_mlp and fp32 and not args.compile and device.type == "cpu" and supports(probe)
    kind = FastMLPLearner if fast else Learner
    return kind(args, observation_space, num_actions, device)
