"""DQN, written out: `python -m agents.dqn --env ENV_ID` trains on any registered or Atari env.

    python -m agents.dqn                       # Catch-v0, solved in well under a minute on a CPU
    python -m agents.dqn --env ALE/Pong-v5     # the Atari preset, on CUDA when there is one
    python -m agents.dqn --evaluate runs/<run>/checkpoint.pt --episodes 10 --render human

Deep Q-learning (Mnih et al. 2015) with a target network, the Huber loss, Adam and gradient-norm
clipping, a linear epsilon schedule, Double DQN (van Hasselt et al. 2016, on by default), and
optionally a dueling head and n-step returns. Observations go through the DQN pipeline of the
`wrappers` package; N envs act together (`--num-envs`, ale-py's C++ vector env for Atari).
Presets per env family (atari, catch, mlp) set every value not given as a flag.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from agents.cli import UsageError, build_parser, explicit_values, resolve, run_main
from agents.environments import (
    checked_env_id,
    env_family,
    make_train_envs,
    vector_info,
)
from agents.evaluation import evaluate_policy
from agents.networks import QNetwork, is_image_space
from agents.replay import ReplayBuffer
from agents.runs import (
    EpisodeTracker,
    RunLogger,
    default_run_dir,
    plot_learning_curve,
    trim_progress,
    write_json,
)

AGENT = "dqn"
CHECKPOINT = "checkpoint.pt"
REPLAY = "replay.npz"


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
    """where outputs go (default runs/<env>__dqn__<seed>__<time>)"""
    checkpoint_frequency: int = 0
    """environment steps between periodic checkpoints (0: only at the end and on Ctrl-C)"""
    save_buffer: bool = False
    """save the replay buffer beside each checkpoint, so --resume restores it (large)"""
    resume: str | None = None
    """a run directory to continue from its checkpoint (flags given override its config)"""
    log_frequency: int = 1000
    """environment steps between rows of progress.csv"""
    evaluate: str | None = None
    """a checkpoint (or run directory) to evaluate greedily instead of training"""
    episodes: int = 10
    """evaluation episodes (at the end of training, and for --evaluate)"""
    eval_epsilon: float = 0.05
    """epsilon of the evaluation policy (Nature DQN's 0.05 keeps a greedy agent from stalling a
    game that waits for FIRE)"""
    render: Literal["human"] | None = None
    """with --evaluate: show the episodes in a window"""
    video: str | None = None
    """with --evaluate: record the episodes as videos in this directory"""


PRESETS: dict[str, dict[str, Any]] = {
    # CleanRL's dqn_atari values (shared/reference/dqn.md), with Huber loss and clipping.
    "atari": {},
    # Catch: a small MLP learns it in seconds.
    "catch": {
        "total_timesteps": 30_000,
        "learning_rate": 1e-3,
        "buffer_size": 30_000,
        "batch_size": 128,
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


def pick_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError(
            "--device cuda was asked for, but this torch sees no CUDA device; "
            "use --device cpu (or auto)"
        )
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def linear_schedule(start: float, end: float, duration: float, step: int) -> float:
    return max(end, start + (end - start) * step / max(duration, 1.0))


def td_targets(
    returns: torch.Tensor,
    discounts: torch.Tensor,
    next_obs: torch.Tensor,
    q_network: torch.nn.Module,
    target_network: torch.nn.Module,
    double: bool,
) -> torch.Tensor:
    """n-step TD targets `returns + discounts * V(next_obs)`, where `discounts` is gamma^n, or 0
    after a terminal step. V is the target network's value of the online network's greedy action
    (Double DQN) or the target network's own maximum."""
    with torch.no_grad():
        next_q = target_network(next_obs)
        if double:
            greedy = q_network(next_obs).argmax(dim=1, keepdim=True)
            next_values = next_q.gather(1, greedy).squeeze(1)
        else:
            next_values = next_q.max(dim=1).values
        return returns + discounts * next_values


class Learner:
    """The online and target Q-networks, their optimizer, and the gradient step."""

    def __init__(self, args: Args, observation_space, num_actions: int, device: torch.device):
        self.args = args
        self.device = device
        self.q_network = QNetwork(
            observation_space, num_actions, mlp_hidden=args.mlp_hidden, dueling=args.dueling
        ).to(device)
        self.target_network = copy.deepcopy(self.q_network)
        # The fused kernel updates every parameter in one call: on small networks the per-tensor
        # loop of the default implementation costs as much as the forward pass.
        self.optimizer = torch.optim.Adam(
            self.q_network.parameters(), lr=args.learning_rate, fused=True
        )
        self.parameters = list(self.q_network.parameters())
        self.forward = torch.compile(self.q_network) if args.compile else self.q_network
        self.num_actions = num_actions

    def to_device(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array).to(self.device, non_blocking=True)

    @torch.no_grad()
    def greedy(self, obs: np.ndarray) -> np.ndarray:
        return self.forward(self.to_device(obs)).argmax(dim=1).cpu().numpy()

    def update(self, batch: dict[str, np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        """One gradient step on a replay batch; returns (loss, mean Q) as device tensors, so no
        host sync happens here."""
        obs, next_obs = self.to_device(batch["obs"]), self.to_device(batch["next_obs"])
        actions = self.to_device(batch["actions"])
        targets = td_targets(
            self.to_device(batch["returns"]),
            self.to_device(batch["discounts"]),
            next_obs,
            self.forward,
            self.target_network,
            self.args.double,
        )
        q_taken = self.forward(obs).gather(1, actions[:, None]).squeeze(1)
        loss = F.smooth_l1_loss(q_taken, targets)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.parameters, self.args.max_grad_norm)
        self.optimizer.step()
        return loss.detach(), q_taken.detach().mean()

    def update_target(self) -> None:
        tau = self.args.tau
        with torch.no_grad():
            for target, online in zip(
                self.target_network.parameters(), self.q_network.parameters(), strict=True
            ):
                target.lerp_(online, tau)

    def policy(self, epsilon: float, rng: np.random.Generator):
        """An epsilon-greedy policy for one (unbatched) observation."""

        def act(obs: np.ndarray) -> int:
            if rng.random() < epsilon:
                return int(rng.integers(self.num_actions))
            return int(self.greedy(obs[None])[0])

        return act


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint written by `train`, or a UsageError that says what is wrong with `path`."""
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        raise UsageError(f"no checkpoint at {path}; pass a checkpoint.pt or the run directory")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # torch raises many kinds for a damaged file
        raise UsageError(
            f"{path} is not a readable checkpoint ({error}); it may be corrupt"
        ) from None
    if not isinstance(checkpoint, dict) or checkpoint.get("agent") != AGENT:
        raise UsageError(f"{path} is not a checkpoint of agents.dqn")
    return checkpoint


def load_network(network: torch.nn.Module, checkpoint: dict[str, Any]) -> None:
    """The checkpoint's Q-network weights into `network`, or a UsageError if they do not fit (an
    env with other spaces, or other network flags)."""
    try:
        network.load_state_dict(checkpoint["q_network"])
    except RuntimeError:
        config = checkpoint["config"]
        raise UsageError(
            f"the checkpoint's network ({config['env']}, --mlp-hidden "
            f"{' '.join(map(str, config['mlp_hidden']))}, dueling {config['dueling']}) does not "
            "fit the env and network asked for; leave out --env and the network flags"
        ) from None


def _save_atomic(data: dict[str, Any], path: Path) -> None:
    temp = path.with_name(path.name + ".tmp")
    torch.save(data, temp)
    temp.replace(path)


class Trainer:
    """The training loop and its state, so it can be checkpointed and resumed."""

    def __init__(self, args: Args, run_dir: Path, device: torch.device) -> None:
        self.args = args
        self.run_dir = run_dir
        self.device = device
        torch.manual_seed(args.seed)
        acting_seed, replay_seed = np.random.SeedSequence(args.seed).spawn(2)
        self.rng = np.random.default_rng(acting_seed)
        self.envs = make_train_envs(args.env, args.num_envs)
        space = self.envs.single_observation_space
        self.num_actions = int(self.envs.single_action_space.n)
        if device.type == "cpu" and not is_image_space(space):
            # An MLP's ops are too small to split across threads; a second one only adds waiting.
            torch.set_num_threads(1)
        self.learner = Learner(args, space, self.num_actions, device)
        self.buffer = ReplayBuffer(
            args.buffer_size,
            args.num_envs,
            space,
            gamma=args.gamma,
            n_step=args.n_step,
            seed=replay_seed,
        )
        self.episodes = EpisodeTracker(args.num_envs)
        self.global_step = 0
        self.wall_before = 0.0  # wall seconds of the run before this process (resumed runs)
        self.learn_from = args.learning_starts
        self.next_update = args.learning_starts
        self.next_target_update = args.learning_starts + args.target_network_frequency

    def describe(self) -> str:
        buffer = self.buffer
        layout = f"frames stored once, stacks of {buffer.stack}" if buffer.stack > 1 else "whole"
        return (
            f"dqn on {self.args.env}: {self.args.num_envs} env(s), device {self.device}, "
            f"replay buffer {buffer.num_envs * buffer.stream_capacity:,} entries x "
            f"{buffer.bytes_per_transition:,.0f} B = {buffer.nbytes / 2**30:.2f} GiB ({layout})"
        )

    # -- checkpoints ---------------------------------------------------------------------------

    def checkpoint(self, wall_seconds: float) -> None:
        """Saves the training state atomically, unless the network has diverged (NaN or inf
        weights): then the last good checkpoint stays and FloatingPointError is raised."""
        if not bool(torch.stack([p.isfinite().all() for p in self.learner.parameters]).all()):
            raise FloatingPointError(
                f"the Q-network's weights are no longer finite at step {self.global_step:,}"
            )
        data = {
            "agent": AGENT,
            "config": dataclasses.asdict(self.args),
            "q_network": self.learner.q_network.state_dict(),
            "target_network": self.learner.target_network.state_dict(),
            "optimizer": self.learner.optimizer.state_dict(),
            "global_step": self.global_step,
            "next_update": self.next_update,
            "next_target_update": self.next_target_update,
            "learn_from": self.learn_from,
            "rng": self.rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
            "recent_returns": list(self.episodes.recent),
            "episode_count": self.episodes.count,
            "wall_seconds": wall_seconds,
        }
        if self.args.save_buffer:
            self.buffer.save(self.run_dir / REPLAY)
        _save_atomic(data, self.run_dir / CHECKPOINT)

    def restore(self, checkpoint: dict[str, Any]) -> None:
        learner = self.learner
        load_network(learner.q_network, checkpoint)
        learner.target_network.load_state_dict(checkpoint["target_network"])
        learner.optimizer.load_state_dict(checkpoint["optimizer"])
        for group in learner.optimizer.param_groups:  # a --learning-rate given on resume wins
            group["lr"] = self.args.learning_rate
        self.global_step = checkpoint["global_step"]
        self.next_update = checkpoint["next_update"]
        self.next_target_update = checkpoint["next_target_update"]
        self.learn_from = checkpoint["learn_from"]
        self.rng.bit_generator.state = checkpoint["rng"]
        torch.set_rng_state(checkpoint["torch_rng"])
        self.episodes = EpisodeTracker(self.args.num_envs, checkpoint["recent_returns"])
        self.episodes.count = checkpoint["episode_count"]
        self.wall_before = checkpoint["wall_seconds"]
        replay = self.run_dir / REPLAY
        if self.args.save_buffer and replay.is_file():
            try:
                self.buffer.load(replay)
            except ValueError as error:
                raise UsageError(
                    f"{error}; resume with the run's own --buffer-size and --num-envs"
                ) from None
            print(f"restored the replay buffer from {replay}", file=sys.stderr)
        else:
            # An empty buffer fills again before learning goes on.
            self.learn_from = self.global_step + self.args.learning_starts
            self.next_update = max(self.next_update, self.learn_from)

    # -- the loop ------------------------------------------------------------------------------

    def epsilon(self) -> float:
        args = self.args
        duration = args.exploration_fraction * args.total_timesteps
        return linear_schedule(args.start_e, args.end_e, duration, self.global_step)

    def act(self, obs: np.ndarray, epsilon: float) -> np.ndarray:
        n = len(obs)
        actions = self.rng.integers(self.num_actions, size=n)
        greedy = self.rng.random(n) >= epsilon
        # Before learning starts the network is untrained: act at random and skip its forward pass.
        if greedy.any() and self.global_step >= self.args.learning_starts:
            actions[greedy] = self.learner.greedy(obs[greedy])
        return actions

    def train(self) -> dict[str, Any]:
        """Trains up to total-timesteps; returns the training part of the summary. Raises
        KeyboardInterrupt (after checkpointing) on Ctrl-C, FloatingPointError on a NaN loss."""
        args, buffer, learner = self.args, self.buffer, self.learner
        num_envs = args.num_envs
        logger = RunLogger(self.run_dir)
        start_time, start_step = time.perf_counter(), self.global_step
        window_time, window_step = start_time, self.global_step
        loss_sum = torch.zeros((), device=self.device)
        q_sum = torch.zeros((), device=self.device)
        updates_in_window = 0
        next_log = self.global_step + args.log_frequency
        next_checkpoint = (
            self.global_step + args.checkpoint_frequency if args.checkpoint_frequency else None
        )
        obs, infos = self.envs.reset(seed=args.seed + self.global_step)
        buffer.start(np.arange(num_envs), obs)
        lives = vector_info(infos, "lives", num_envs)
        restarting = np.zeros(num_envs, dtype=bool)  # slots whose next step is an autoreset
        bar = tqdm(
            total=args.total_timesteps,
            initial=self.global_step,
            unit="step",
            disable=None,
            dynamic_ncols=True,
        )
        interactive = not bar.disable
        try:
            while self.global_step < args.total_timesteps:
                epsilon = self.epsilon()
                actions = self.act(obs, epsilon)
                next_obs, rewards, terminated, truncated, infos = self.envs.step(actions)
                new_lives = vector_info(infos, "lives", num_envs)
                ended = terminated | truncated
                acting = np.flatnonzero(~restarting)
                fresh = np.flatnonzero(restarting)
                if len(fresh):
                    buffer.start(fresh, next_obs[fresh])
                if len(acting):
                    terminal = terminated[acting]
                    if args.terminal_on_life_loss and lives is not None and new_lives is not None:
                        terminal = terminal | (new_lives[acting] < lives[acting])
                    raw = np.asarray(rewards, dtype=np.float32)[acting]
                    learned = np.clip(raw, -1.0, 1.0) if args.clip_rewards else raw
                    buffer.record(
                        acting, actions[acting], learned, terminal, next_obs[acting], ended[acting]
                    )
                    for episode_return, length in self.episodes.step(acting, raw, ended[acting]):
                        logger.episode(self.global_step + len(acting), episode_return, length)
                    self.global_step += len(acting)
                    bar.update(len(acting))
                restarting = ended & ~restarting
                lives = new_lives
                obs = next_obs

                while self.global_step >= self.next_update and buffer.can_sample():
                    self.next_update += args.train_frequency
                    loss, q_mean = learner.update(buffer.sample(args.batch_size))
                    loss_sum += loss
                    q_sum += q_mean
                    updates_in_window += 1
                if self.global_step >= self.next_target_update:
                    learner.update_target()
                    self.next_target_update += args.target_network_frequency

                if self.global_step >= next_log or self.global_step >= args.total_timesteps:
                    now = time.perf_counter()
                    loss_mean = (
                        (loss_sum / updates_in_window).item() if updates_in_window else math.nan
                    )
                    if not math.isfinite(loss_mean) and updates_in_window:
                        raise FloatingPointError(
                            f"the TD loss became {loss_mean} by step {self.global_step:,}"
                        )
                    row = {
                        "step": self.global_step,
                        "wall_seconds": self.wall_before + now - start_time,
                        "sps": (self.global_step - window_step) / max(now - window_time, 1e-9),
                        "episodes": self.episodes.count,
                        "mean_return_last_100": self.episodes.mean_recent(),
                        "epsilon": epsilon,
                        "td_loss": loss_mean,
                        "q_values": (q_sum / updates_in_window).item()
                        if updates_in_window
                        else math.nan,
                    }
                    logger.progress(row, echo=not interactive)
                    bar.set_postfix(
                        sps=f"{row['sps']:,.0f}", ret=f"{row['mean_return_last_100']:.2f}"
                    )
                    loss_sum.zero_()
                    q_sum.zero_()
                    updates_in_window = 0
                    window_time, window_step = now, self.global_step
                    next_log += args.log_frequency
                if next_checkpoint is not None and self.global_step >= next_checkpoint:
                    self.checkpoint(self.wall_before + time.perf_counter() - start_time)
                    next_checkpoint += args.checkpoint_frequency
        except KeyboardInterrupt:
            self.checkpoint(self.wall_before + time.perf_counter() - start_time)
            raise
        finally:
            bar.close()
            logger.close()
            self.envs.close()
        wall = time.perf_counter() - start_time
        self.checkpoint(self.wall_before + wall)
        return {
            "total_steps": self.global_step,
            "wall_seconds": round(self.wall_before + wall, 2),
            "sps": round((self.global_step - start_step) / max(wall, 1e-9), 1),
            "train_episodes": self.episodes.count,
            "train_mean_return_last_100": self.episodes.summary_mean(),
        }


def _evaluate_learner(learner: Learner, args: Args, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    return evaluate_policy(
        args.env,
        learner.policy(args.eval_epsilon, rng),
        args.episodes,
        seed,
        render=args.render,
        video_dir=args.video,
    )


def _print_returns(returns: list[float]) -> None:
    print(
        f"evaluation over {len(returns)} episode(s): mean return {np.mean(returns):.3f} "
        f"+- {np.std(returns):.3f} (min {np.min(returns):g}, max {np.max(returns):g})"
    )


def evaluate_command(typed: dict[str, Any]) -> int:
    """`--evaluate CHECKPOINT`: the greedy policy of a saved run, for `--episodes` episodes."""
    checkpoint = load_checkpoint(Path(typed["evaluate"]))
    saved = {k: v for k, v in checkpoint["config"].items() if k not in RUN_SETTINGS}
    args = resolve(Args, saved, typed)
    validate(args)
    checked_env_id(args.env)
    device = pick_device(args.device)
    envs = make_train_envs(args.env, 1)
    learner = Learner(args, envs.single_observation_space, int(envs.single_action_space.n), device)
    envs.close()
    load_network(learner.q_network, checkpoint)
    learner.q_network.eval()
    returns = _evaluate_learner(learner, args, args.seed + 10_000)
    _print_returns(returns)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(Args, prog="python -m agents.dqn", description=__doc__, presets=PRESETS)
    typed = explicit_values(parser.parse_args(argv))
    if "evaluate" in typed:
        return evaluate_command(typed)
    checkpoint = None
    if "resume" in typed:
        if "run_dir" in typed:
            raise UsageError("--resume continues in the run's own directory; drop --run-dir")
        run_dir = Path(typed["resume"])
        run_dir = run_dir.parent if run_dir.is_file() else run_dir
        checkpoint = load_checkpoint(run_dir)
        saved = {k: v for k, v in checkpoint["config"].items() if k not in RUN_SETTINGS}
        args = resolve(Args, saved, typed, {"run_dir": str(run_dir)})
    else:
        env_id = checked_env_id(typed.get("env", Args.env))
        args = resolve(Args, PRESETS[env_family(env_id)], typed)
    validate(args)
    checked_env_id(args.env)
    device = pick_device(args.device)
    run_dir = Path(args.run_dir or default_run_dir(args.env, AGENT, args.seed))
    taken = any((run_dir / name).exists() for name in (CHECKPOINT, "progress.csv"))
    if checkpoint is None and taken:
        raise UsageError(
            f"{run_dir} holds another run; continue it with --resume {run_dir}, or pick a new "
            "--run-dir"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    args.run_dir = str(run_dir)
    write_json(run_dir / "config.json", dataclasses.asdict(args))

    trainer = Trainer(args, run_dir, device)
    if checkpoint is not None:
        trainer.restore(checkpoint)
        trim_progress(run_dir, trainer.global_step)
        print(f"resuming {run_dir} at step {trainer.global_step:,}", file=sys.stderr)
    print(trainer.describe(), file=sys.stderr)
    try:
        summary = trainer.train()
    except KeyboardInterrupt:
        print(
            f"\ninterrupted at step {trainer.global_step:,}; checkpoint saved. Continue with "
            f"python -m agents.dqn --resume {run_dir}",
            file=sys.stderr,
        )
        return 130
    except FloatingPointError as error:
        checkpoint_path = run_dir / CHECKPOINT
        kept = (
            f"the last good checkpoint is kept in {checkpoint_path}"
            if checkpoint_path.exists()
            else "no checkpoint had been written yet"
        )
        print(f"training stopped: {error}; {kept}. Try a lower --learning-rate.", file=sys.stderr)
        return 1
    returns = _evaluate_learner(trainer.learner, args, args.seed + 10_000)
    _print_returns(returns)
    summary = {
        "env_id": args.env,
        "agent": AGENT,
        "seed": args.seed,
        **summary,
        "eval_mean_return": float(np.mean(returns)),
        "eval_std_return": float(np.std(returns)),
        "eval_episodes": len(returns),
        "device": str(device),
        "replay_bytes_per_transition": round(trainer.buffer.bytes_per_transition, 1),
    }
    write_json(run_dir / "summary.json", summary)
    plot_learning_curve(run_dir, summary["eval_mean_return"])
    print(json.dumps(summary, indent=2))
    print(f"outputs in {run_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run_main(main, "python -m agents.dqn")
