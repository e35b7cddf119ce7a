"""The PQN learner: one LayerNorm Q-network, no target network, and the update over a rollout.

An update is `update_epochs` passes over the rollout's T x N rows in a fresh random order, each
cut into `num_minibatches` minibatches; each minibatch is one gradient step on
0.5 * (Q(s, a) - G)^2 averaged over its valid rows (purejaxql's loss; the NEXT_STEP reset rows are
masked), with gradient-norm clipping and RAdam, as the paper. The targets G are the rollout's
Q(lambda) returns, computed once before the first pass (`agents.pqn.rollout`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from agents.common.checkpoints import load_optimizer_state
from agents.common.networks import QNetwork
from agents.common.precision import Bf16Compute, pick_precision
from agents.pqn.config import Args
from agents.pqn.rollout import Rollout


class Learner:
    """The Q-network, its optimizer, and the update."""

    def __init__(
        self, args: Args, observation_space: spaces.Box, num_actions: int, device: torch.device
    ) -> None:
        self.args = args
        self.device = device
        self.num_actions = num_actions
        self.q_network = QNetwork(
            observation_space, num_actions, mlp_hidden=args.mlp_hidden, layer_norm=args.layer_norm
        ).to_device(device)
        self.optimizer = torch.optim.RAdam(self.q_network.parameters(), lr=args.learning_rate)
        # With bf16, a copy of the network computes; the fp32 one is the master that the
        # optimizer steps and checkpoints keep (agents.common.precision).
        self.precision, _ = pick_precision(args.precision, device, observation_space)
        self.bf16 = Bf16Compute(self.q_network) if self.precision == "bf16" else None
        module = self.bf16.module if self.bf16 is not None else self.q_network
        self.forward: nn.Module = torch.compile(module) if args.compile else module

    @torch.no_grad()
    def q_values(self, obs: torch.Tensor) -> torch.Tensor:
        """Q-values of a batch of observations on the device, in fp32."""
        return self.forward(obs).float()

    def greedy(self, obs: np.ndarray) -> np.ndarray:
        """The greedy action for each observation of the batch `obs`."""
        obs_tensor = torch.from_numpy(obs).to(self.device)
        return self.q_values(obs_tensor).argmax(dim=1).cpu().numpy()

    def update(self, rollout: Rollout, returns: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`update_epochs` passes of `num_minibatches` gradient steps over the rollout, towards
        `returns` (T, N). Returns the mean over the steps of each step's loss and mean Q of the
        actions taken, as device tensors, so no host sync happens here."""
        obs, actions, valid = rollout.flat()
        targets = returns.view(-1)
        rows = len(actions)
        losses, q_means = [], []
        for _ in range(self.args.update_epochs):
            order = torch.randperm(rows, device=self.device)
            for rows_taken in order.view(self.args.num_minibatches, -1):
                loss, q_mean = self.gradient_step(
                    obs[rows_taken], actions[rows_taken], targets[rows_taken], valid[rows_taken]
                )
                losses.append(loss)
                q_means.append(q_mean)
        return torch.stack(losses).mean(), torch.stack(q_means).mean()

    def gradient_step(
        self, obs: torch.Tensor, actions: torch.Tensor, targets: torch.Tensor, valid: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One gradient step on a minibatch; returns its loss and mean Q of the actions taken,
        both over its valid rows."""
        q_taken = self.forward(obs).gather(1, actions[:, None]).squeeze(1).float()
        weights = valid / valid.sum().clamp(min=1.0)  # a mean over the valid rows
        loss = 0.5 * (weights * (q_taken - targets).square()).sum()
        self.optimizer.zero_grad()
        loss.backward()
        if self.bf16 is not None:
            self.bf16.gradients_to_master()
        nn.utils.clip_grad_norm_(self.q_network.parameters(), self.args.max_grad_norm)
        self.optimizer.step()
        if self.bf16 is not None:
            self.bf16.weights_from_master()
        return loss.detach(), (weights * q_taken.detach()).sum()

    def set_learning_rate(self, learning_rate: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate

    def state_dict(self) -> dict[str, Any]:
        """The network and the optimizer, each parameter in its logical (shape) order, so a run
        resumes on any device and layout."""
        return {"q_network": self.q_network.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores a `state_dict`; ValueError if it is of another network."""
        try:
            self.q_network.load_state_dict(state["q_network"])
            load_optimizer_state(self.optimizer, state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as error:
            raise ValueError(f"the saved network does not fit this one ({error})") from None
        self.weights_loaded()

    def weights_loaded(self) -> None:
        """The fp32 weights changed outside the optimizer (a checkpoint was loaded)."""
        if self.bf16 is not None:
            self.bf16.weights_from_master()
