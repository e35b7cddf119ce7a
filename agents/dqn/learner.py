"""The DQN learner: the online and target Q-networks, the TD target, and the gradient step.

This is the algorithm, written the plain way (as CleanRL's `dqn_atari.py` and SB3's
`DQN.train` write it): the TD target from the target network (Double DQN: of the online
network's greedy action), the Huber loss on the Q-value of the action taken, `loss.backward()`,
gradient-norm clipping and an Adam step. `agents.dqn.fast_mlp` computes the same update faster
for small MLPs, and the loop uses it only where it computes exactly this (`make_learner`).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import nn

from agents.common.checkpoints import load_optimizer_state
from agents.common.networks import QNetwork
from agents.common.precision import Bf16Compute, pick_precision
from agents.dqn.config import Args


def td_targets(
    returns: torch.Tensor,
    discounts: torch.Tensor,
    next_q_target: torch.Tensor,
    next_q_online: torch.Tensor | None,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """n-step TD targets `returns + discounts * V(next_obs)`, where `discounts` is gamma^n, or 0
    after a terminal step. V is the target network's value of the online network's greedy action
    (Double DQN: pass the online network's Q-values at next_obs), or the target network's own
    maximum (pass None). Written into `out` when given."""
    if next_q_online is not None:
        greedy = next_q_online.argmax(dim=1, keepdim=True)
        next_values = next_q_target.gather(1, greedy).squeeze(1)
    else:
        next_values = next_q_target.amax(dim=1)
    return torch.addcmul(returns, discounts, next_values, out=out)


class Learner:
    """The online and target Q-networks, their optimizer, and the gradient steps."""

    def __init__(
        self, args: Args, observation_space: spaces.Box, num_actions: int, device: torch.device
    ) -> None:
        self.args = args
        self.device = device
        self.num_actions = num_actions
        self.q_network = QNetwork(
            observation_space, num_actions, mlp_hidden=args.mlp_hidden, dueling=args.dueling
        ).to_device(device)
        self.target_network = copy.deepcopy(self.q_network).requires_grad_(False)
        self.optimizer = self.make_optimizer()
        # With bf16, copies of the networks compute; the fp32 ones are the masters that the
        # optimizer steps and checkpoints keep (agents.common.precision).
        self.precision, _ = pick_precision(args.precision, device, observation_space)
        self.bf16 = self.target_bf16 = None
        online, target = self.q_network, self.target_network
        if self.precision == "bf16":
            self.bf16 = Bf16Compute(self.q_network)
            self.target_bf16 = Bf16Compute(self.target_network)
            online, target = self.bf16.module, self.target_bf16.module
        self.forward: nn.Module = torch.compile(online) if args.compile else online
        self.target_forward: nn.Module = target

    def make_optimizer(self) -> Any:
        return torch.optim.Adam(
            self.q_network.parameters(),
            lr=self.args.learning_rate,
            fused=self.device.type in ("cpu", "cuda"),
        )

    def to_device(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array).to(self.device, non_blocking=True)

    @torch.no_grad()
    def greedy(self, obs: np.ndarray) -> np.ndarray:
        """The greedy action for each observation of the batch `obs`."""
        return self.forward(self.to_device(obs)).float().argmax(dim=1).cpu().numpy()

    def update(
        self, batch: dict[str, np.ndarray], steps: int = 1
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`steps` gradient steps, one after another, each on the next `1 / steps` of a replay
        batch: what `steps` batches sampled in a row give, since nothing else changes between
        them. Returns the mean over the steps of each step's loss and mean Q, as device tensors,
        so no host sync happens here."""
        data = {name: self.to_device(values) for name, values in batch.items()}
        rows, left_over = divmod(len(data["actions"]), steps)
        if left_over or not rows:
            raise ValueError(f"a batch of {len(data['actions'])} does not split into {steps} steps")
        with torch.no_grad():  # the target network is the same for every step: one pass
            data["next_q_target"] = self.target_forward(data["next_obs"])
        losses, q_means = [], []
        for step in range(steps):
            part = {name: values[step * rows : (step + 1) * rows] for name, values in data.items()}
            loss, q_mean = self.gradient_step(**part)
            losses.append(loss)
            q_means.append(q_mean)
        return torch.stack(losses).mean(), torch.stack(q_means).mean()

    def gradient_step(
        self,
        obs: torch.Tensor,
        actions: torch.Tensor,
        returns: torch.Tensor,
        discounts: torch.Tensor,
        next_obs: torch.Tensor,
        next_q_target: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One gradient step on a batch; returns its loss and mean Q of the actions taken."""
        with torch.no_grad():
            next_q_online = self.forward(next_obs) if self.args.double else None
            targets = td_targets(returns, discounts, next_q_target, next_q_online).float()
        q_taken = self.forward(obs).gather(1, actions[:, None]).squeeze(1).float()
        loss = F.smooth_l1_loss(q_taken, targets)
        self.optimizer.zero_grad()
        loss.backward()
        if self.bf16 is not None:
            self.bf16.gradients_to_master()
        nn.utils.clip_grad_norm_(self.q_network.parameters(), self.args.max_grad_norm)
        self.optimizer.step()
        if self.bf16 is not None:
            self.bf16.weights_from_master()
        return loss.detach(), q_taken.detach().mean()

    @torch.no_grad()
    def update_target(self) -> None:
        """The target network moves `tau` of the way to the online network (1: a copy)."""
        for online, target in zip(
            self.q_network.parameters(), self.target_network.parameters(), strict=True
        ):
            target.lerp_(online, self.args.tau)
        if self.target_bf16 is not None:
            self.target_bf16.weights_from_master()

    def set_learning_rate(self, learning_rate: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate

    @property
    def gradient_steps(self) -> int:
        """Gradient steps taken so far (restored on resume)."""
        state = self.optimizer.state.get(next(self.q_network.parameters()), {})
        return int(state["step"]) if "step" in state else 0

    def state_dict(self) -> dict[str, Any]:
        """The networks and the optimizer, each parameter in its logical (shape) order, so a run
        resumes on any device and layout."""
        return {
            "q_network": self.q_network.state_dict(),
            "target_network": self.target_network.state_dict(),
            "optimizer": self.optimizer.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores a `state_dict`; ValueError if it is of another network."""
        try:
            self.q_network.load_state_dict(state["q_network"])
            self.target_network.load_state_dict(state["target_network"])
            self.load_optimizer(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as error:
            raise ValueError(f"the saved networks do not fit these ({error})") from None
        self.weights_loaded()

    def weights_loaded(self) -> None:
        """The fp32 weights changed outside the optimizer (a checkpoint was loaded)."""
        for compute in (self.bf16, self.target_bf16):
            if compute is not None:
                compute.weights_from_master()

    def load_optimizer(self, state: dict[str, Any]) -> None:
        load_optimizer_state(self.optimizer, state)
