"""The DQN's config: one dataclass of flags (`Args`: the run's settings, then the algorithm's),
presets per env family, and its checks.

`agents.dqn` uses every field; `agents.sb3_dqn` takes the same config, so the two run like for
like, and refuses the few fields Stable-Baselines3's DQN has no meaning for. Presets set every
value the user did not pass.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from agents.common.cli import UsageError
from agents.common.config import RunArgs, require_at_least, require_within, validate_run


@dataclass
class Args(RunArgs):
    learning_rate: float = 1e-4
    """the learning rate of the Adam optimizer"""
    buffer_size: int = 1_000_000
    """transitions the replay buffer holds"""
    gamma: float = 0.99
    """the discount factor"""
    tau: float = 1.0
    """target network update rate (1.0: copy the online network)"""
    target_network_frequency: int = 1000
    """environment steps between target network updates"""
    batch_size: int = 32
    """transitions per gradient step"""
    start_e: float = 1.0
    """exploration epsilon at the start"""
    end_e: float = 0.01
    """exploration epsilon at the end of its schedule"""
    exploration_fraction: float = 0.10
    """fraction of total-timesteps over which epsilon falls from start-e to end-e"""
    learning_starts: int = 80_000
    """environment steps before learning starts"""
    train_frequency: int = 4
    """environment steps per gradient step"""
    max_grad_norm: float = 10.0
    """gradients are clipped to this norm"""
    double: bool = True
    """Double DQN: the online network picks the bootstrap action, the target network values it"""
    dueling: bool = False
    """a dueling head (value and advantage streams)"""
    n_step: int = 1
    """n-step returns"""
    mlp_hidden: tuple[int, ...] = (128, 128)
    """hidden layer sizes of the MLP for vector observations (images get the Nature CNN)"""
    save_buffer: bool = False
    """save the replay buffer beside each checkpoint, so --resume restores it (large)"""
    fast_mlp: bool = True
    """the hand-written update for plain MLP Q-networks on the CPU (agents.dqn.fast_mlp), which
    computes what the plain learner does, faster; --no-fast-mlp trains with the plain one"""


PRESETS: dict[str, dict[str, Any]] = {
    # CleanRL's dqn_atari values, with Huber loss and clipping.
    "atari": {},
    # Catch: a small MLP learns it in seconds; over 8 seeds these values reach a 0.9 training
    # return in 11k-13k steps (python -m agents.compare --env Catch-v0 --seeds 8).
    "catch": {
        "mlp_hidden": (64, 64),
        "total_timesteps": 30_000,
        "learning_rate": 1e-3,
        "buffer_size": 30_000,
        "batch_size": 32,
        "learning_starts": 1_000,
        "train_frequency": 4,
        "target_network_frequency": 500,
        "exploration_fraction": 0.4,
        "end_e": 0.05,
        "num_envs": 16,
        "eval_epsilon": 0.0,
    },
    # Vector observations (CleanRL's dqn.py values for classic control).
    "mlp": {
        "total_timesteps": 500_000,
        "learning_rate": 2.5e-4,
        "buffer_size": 10_000,
        "batch_size": 128,
        "learning_starts": 10_000,
        "train_frequency": 10,
        "target_network_frequency": 500,
        "exploration_fraction": 0.5,
        "end_e": 0.05,
    },
}


def learning_starts_note(args: Args) -> None:
    """Says on stderr when no gradient step will be taken: learning starts after the run ends."""
    if args.learning_starts >= args.total_timesteps:
        print(
            f"note: learning starts at step {args.learning_starts:,}, and the run ends at "
            f"{args.total_timesteps:,}: no gradient step will be taken (--learning-starts)",
            file=sys.stderr,
        )


def validate(args: Args) -> None:
    """A UsageError naming the first value that cannot work."""
    validate_run(args)
    require_at_least(
        args,
        1,
        "buffer_size",
        "batch_size",
        "train_frequency",
        "target_network_frequency",
        "n_step",
    )
    if any(size < 1 for size in args.mlp_hidden):
        raise UsageError(f"--mlp-hidden sizes must be at least 1, got {args.mlp_hidden}")
    if args.learning_starts < 0:
        raise UsageError("--learning-starts cannot be negative")
    require_within(args, 0.0, 1.0, "gamma", "start_e", "end_e", "exploration_fraction", "tau")
    if not args.learning_rate > 0 or not args.max_grad_norm > 0:
        raise UsageError("--learning-rate and --max-grad-norm must be positive")
    needed = args.num_envs * (args.n_step + 8)
    if args.buffer_size < needed:
        raise UsageError(
            f"--buffer-size {args.buffer_size:,} cannot hold {args.num_envs} env(s)' windows of "
            f"--n-step {args.n_step:,}; raise it to at least {needed:,} (a few hundred "
            "transitions per env are better), or lower --n-step"
        )
