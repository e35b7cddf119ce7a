"""The settings every agent's run has, whatever its algorithm: `RunArgs`, which each agent's
config dataclass extends with its own hyperparameters (`agents.dqn.config.Args`, ...).

Each field carries a docstring, which becomes its flag's help (`agents.common.cli`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agents.common.cli import UsageError

MAX_SEED = 2**31 - 1 - 2**24
"""Seeds stay below this: episode seeds are the run's seed plus an offset, and some envs (ALE's)
take 32-bit seeds."""


@dataclass
class RunArgs:
    env: str = "Catch-v0"
    """the id of the env to train on (any registered or ALE id)"""
    seed: int = 1
    """seed of the run: envs, exploration, network initialisation and sampling"""
    total_timesteps: int = 10_000_000
    """environment steps to train for (over all envs)"""
    num_envs: int = 1
    """envs acting in parallel"""
    clip_rewards: bool = True
    """learn from rewards clipped to [-1, 1] (logged returns stay unclipped)"""
    terminal_on_life_loss: bool = True
    """treat a lost life as terminal when learning (the game goes on)"""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """where the networks run; auto picks CUDA when it is available"""
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    """bf16: the networks compute in bfloat16, with fp32 master weights, optimizer state and loss;
    auto: bf16 for the Nature CNN where the CPU (AVX512-BF16, AMX) or GPU (Ampere on) has it in
    hardware, else fp32 (an MLP always)"""
    deterministic: bool = False
    """deterministic CUDA kernels: the same seed gives the same run on a GPU, a little slower
    (without it cuDNN picks its fastest kernels; CPU runs are deterministic either way)"""
    compile: bool = False
    """torch.compile the Q-network"""
    run_dir: str | None = None
    """where outputs go (default runs/<env>__<agent>__<seed>__<time>)"""
    checkpoint_frequency: int | None = None
    """environment steps between periodic checkpoints (default: one every 10 minutes of training;
    0: only at the end, and when Ctrl-C or SIGTERM stops the run)"""
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


RUN_SETTINGS = (
    "resume",
    "evaluate",
    "episodes",
    "render",
    "video",
    "device",
    "deterministic",
    "compile",
)
"""Flags about this invocation, not the run: --resume does not take them from the saved config."""


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def require_at_least(args: object, minimum: float, *names: str) -> None:
    """A UsageError naming the first of `names` whose value in `args` is below `minimum`."""
    for name in names:
        value = getattr(args, name)
        if value < minimum:
            raise UsageError(f"{flag(name)} must be at least {minimum:g}, got {value}")


def require_within(args: object, low: float, high: float, *names: str) -> None:
    """A UsageError naming the first of `names` whose value in `args` is outside [low, high]."""
    for name in names:
        value = getattr(args, name)
        if not low <= value <= high:
            raise UsageError(f"{flag(name)} must lie in [{low:g}, {high:g}], got {value}")


def validate_run(args: RunArgs) -> None:
    """A UsageError naming the first run setting that cannot work."""
    require_at_least(args, 1, "total_timesteps", "num_envs", "log_frequency", "episodes")
    if args.seed < 0:
        raise UsageError("--seed cannot be negative")
    if args.checkpoint_frequency is not None and args.checkpoint_frequency < 0:
        raise UsageError("--checkpoint-frequency cannot be negative")
    if args.seed > MAX_SEED:
        raise UsageError(f"--seed must be at most {MAX_SEED:,}, got {args.seed:,}")
    require_within(args, 0.0, 1.0, "eval_epsilon")
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
        held = len(list(video.glob("*.mp4"))) if video.is_dir() else 0
        if held:
            raise UsageError(
                f"--video {args.video} already holds {held} video(s), which new ones could "
                "overwrite or be mixed with; pass a new or empty directory"
            )
