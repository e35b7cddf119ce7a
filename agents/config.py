"""The config every DQN agent shares: one dataclass of flags, presets per env family, checks.

`agents.dqn` uses every field; `agents.sb3_dqn` refuses the few that Stable-Baselines3's DQN has
no meaning for (see its `UNSUPPORTED`). Presets set every value the user did not pass.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from agents.cli import UsageError


@dataclass
class Args:
    env: str = "Catch-v0"
    """the id of the env to train on (any registered or ALE id)"""
    seed: int = 1
    """seed of the run: envs, exploration, network initialisation and replay sampling"""
    total_timesteps: int = 10_000_000
    """environment steps to train for (over all envs)"""
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
    clip_rewards: bool = True
    """learn from rewards clipped to [-1, 1] (logged returns stay unclipped)"""
    terminal_on_life_loss: bool = True
    """treat a lost life as terminal when learning (the game goes on)"""
    num_envs: int = 1
    """envs acting in parallel"""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """where the networks run; auto picks CUDA when it is available"""
    compile: bool = False
    """torch.compile the Q-network"""
    run_dir: str | None = None
    """where outputs go (default runs/<env>__<agent>__<seed>__<time>)"""
    checkpoint_frequency: int = 0
    """environment steps between periodic checkpoints (0: only at the end and on Ctrl-C)"""
    save_buffer: bool = False
    """save the replay buffer beside each checkpoint, so --resume restores it (large)"""
    resume: str | None = None
    """a run directory to continue from its checkpoint (flags given override its config)"""
    log_frequency: int = 1000
    """environment steps between rows of progress.csv"""
    evaluate: str | None = None
    """a checkpoint (or run directory) to evaluate, with --eval-epsilon, instead of training"""
    episodes: int = 10
    """evaluation episodes (at the end of training, and for --evaluate)"""
    eval_epsilon: float = 0.05
    """epsilon of the evaluation policy (Nature DQN's 0.05 keeps a greedy agent from stalling a
    game that waits for FIRE)"""
    render: Literal["human"] | None = None
    """show the evaluation episodes (after training, or of --evaluate) in a window"""
    video: str | None = None
    """record the evaluation episodes (after training, or of --evaluate) as videos in this
    directory"""


PRESETS: dict[str, dict[str, Any]] = {
    # CleanRL's dqn_atari values, with Huber loss and clipping.
    "atari": {},
    # Catch: a small MLP learns it in seconds. 64-unit layers and batches of 32 reach a 0.9
    # training return in 11k-13k steps over 8 seeds, as soon as 128 and 128 did.
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
RUN_SETTINGS = ("resume", "evaluate", "episodes", "render", "video", "device", "compile")
"""Flags about this invocation, not the run: --resume does not take them from the saved config."""


def validate(args: Args) -> None:
    """A UsageError naming the first value that cannot work."""
    positive = (
        "total_timesteps",
        "buffer_size",
        "batch_size",
        "train_frequency",
        "target_network_frequency",
        "n_step",
        "num_envs",
        "log_frequency",
        "episodes",
    )
    for name in positive:
        if getattr(args, name) < 1:
            raise UsageError(
                f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}"
            )
    if any(size < 1 for size in args.mlp_hidden):
        raise UsageError(f"--mlp-hidden sizes must be at least 1, got {args.mlp_hidden}")
    for name in ("seed", "learning_starts", "checkpoint_frequency"):
        if getattr(args, name) < 0:
            raise UsageError(f"--{name.replace('_', '-')} cannot be negative")
    for name in ("gamma", "start_e", "end_e", "eval_epsilon", "exploration_fraction", "tau"):
        if not 0.0 <= getattr(args, name) <= 1.0:
            raise UsageError(
                f"--{name.replace('_', '-')} must lie in [0, 1], got {getattr(args, name)}"
            )
    if not args.learning_rate > 0 or not args.max_grad_norm > 0:
        raise UsageError("--learning-rate and --max-grad-norm must be positive")
    if args.buffer_size < args.num_envs * (args.n_step + 8):
        raise UsageError(
            f"--buffer-size {args.buffer_size} is too small for {args.num_envs} envs; "
            "give it at least a few hundred transitions per env"
        )
    if args.render and args.video:
        raise UsageError("--render human and --video cannot go together; pick one")
    if args.video:
        video = Path(args.video)
        nearest = next(path for path in (video, *video.parents) if path.exists())
        if not nearest.is_dir() or not os.access(nearest, os.W_OK):
            raise UsageError(
                f"--video {args.video}: {nearest} is not a directory this user can write to; "
                "pass another directory for the videos"
            )


def pick_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError(
            "--device cuda was asked for, but this torch sees no CUDA device; "
            "use --device cpu (or auto)"
        )
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)
