"""PQN's config: one dataclass of flags (`Args`: the run's settings, then the algorithm's), presets
per env family, and its checks.

The defaults are the paper's Atari values (purejaxql's `pqn_atari` config), so the atari preset
sets nothing; the others set every value where their family needs another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents.common.cli import UsageError
from agents.common.config import RunArgs, require_at_least, require_within, validate_run


@dataclass
class Args(RunArgs):
    num_envs: int = 128
    """envs acting in parallel: each update learns from num-envs x num-steps transitions"""
    num_steps: int = 32
    """steps each env takes in a rollout, between two updates"""
    update_epochs: int = 2
    """passes over each rollout"""
    num_minibatches: int = 32
    """minibatches per pass; num-envs x num-steps must divide into them"""
    learning_rate: float = 2.5e-4
    """the learning rate of the RAdam optimizer"""
    anneal_lr: bool = False
    """the learning rate falls linearly to 0 over total-timesteps (CleanRL's PQN does; the
    paper's Atari runs keep it constant)"""
    gamma: float = 0.99
    """the discount factor"""
    q_lambda: float = 0.65
    """lambda of the Q(lambda) returns (0: one-step Q-learning targets)"""
    start_e: float = 1.0
    """exploration epsilon at the start"""
    end_e: float = 0.001
    """exploration epsilon at the end of its schedule"""
    exploration_fraction: float = 0.10
    """fraction of total-timesteps over which epsilon falls from start-e to end-e"""
    max_grad_norm: float = 10.0
    """gradients are clipped to this norm"""
    layer_norm: bool = True
    """LayerNorm after each hidden layer of the Q-network, which is what lets PQN learn without a
    target network or replay (--no-layer-norm for the ablation)"""
    mlp_hidden: tuple[int, ...] = (128, 128)
    """hidden layer sizes of the MLP for vector observations (images get the Nature CNN)"""


PRESETS: dict[str, dict[str, Any]] = {
    # The paper's Atari values (purejaxql's pqn_atari config), with CleanRL's 10M steps.
    "atari": {},
    # Catch: a small LayerNorm MLP on the batched CatchVectorEnv. A rollout of 10 steps holds one
    # whole episode of each env (9 steps, then the reset step), and lambda near 1 carries its
    # one reward back through all of it in one update (benchmarks/pqn_speed.py checks it solves).
    "catch": {
        "total_timesteps": 12_000,
        "num_envs": 32,
        "num_steps": 10,
        "update_epochs": 2,
        "num_minibatches": 4,
        "learning_rate": 3e-3,
        "q_lambda": 0.95,
        "mlp_hidden": (64, 64),
        "end_e": 0.05,
        "exploration_fraction": 0.3,
        "eval_epsilon": 0.0,
    },
    # Vector observations: CleanRL's pqn.py values for classic control.
    "mlp": {
        "total_timesteps": 500_000,
        "num_envs": 4,
        "num_steps": 128,
        "update_epochs": 4,
        "num_minibatches": 4,
        "anneal_lr": True,
        "mlp_hidden": (120, 84),
        "end_e": 0.05,
        "exploration_fraction": 0.5,
    },
}


def validate(args: Args) -> None:
    """A UsageError naming the first value that cannot work."""
    validate_run(args)
    require_at_least(args, 1, "num_steps", "update_epochs", "num_minibatches")
    if any(size < 1 for size in args.mlp_hidden):
        raise UsageError(f"--mlp-hidden sizes must be at least 1, got {args.mlp_hidden}")
    require_within(args, 0.0, 1.0, "gamma", "q_lambda", "start_e", "end_e", "exploration_fraction")
    if not args.learning_rate > 0 or not args.max_grad_norm > 0:
        raise UsageError("--learning-rate and --max-grad-norm must be positive")
    rollout = args.num_envs * args.num_steps
    if rollout % args.num_minibatches:
        raise UsageError(
            f"a rollout of --num-envs {args.num_envs} x --num-steps {args.num_steps} = {rollout:,} "
            f"transitions does not divide into --num-minibatches {args.num_minibatches}; pick a "
            "number of minibatches that divides it"
        )
