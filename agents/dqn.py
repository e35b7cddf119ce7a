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
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from agents.cli import UsageError, run_main
from agents.command import Agent, PolicyFactory, Trained, run
from agents.config import Args
from agents.environments import checked_reset, make_train_envs, vector_info
from agents.networks import MLPGradient, QNetwork, is_image_space, set_cpu_threads
from agents.optim import Adam, FlatParameters
from agents.replay import ReplayBuffer
from agents.runs import EpisodeTracker, RunLogger, announce_resume, trim_progress

AGENT = "dqn"
CHECKPOINT = "checkpoint.pt"
REPLAY = "replay.npz"


def linear_schedule(start: float, end: float, duration: float, step: int) -> float:
    return max(end, start + (end - start) * step / max(duration, 1.0))


def td_targets(
    returns: torch.Tensor,
    discounts: torch.Tensor,
    next_target_q: torch.Tensor,
    next_online_q: torch.Tensor | None,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """n-step TD targets `returns + discounts * V(next_obs)`, where `discounts` is gamma^n, or 0
    after a terminal step. V is the target network's value of the online network's greedy action
    (Double DQN: pass the online network's Q-values at next_obs) or the target network's own
    maximum (pass None). Written into `out` when given."""
    if next_online_q is not None:
        greedy = next_online_q.argmax(dim=1, keepdim=True)
        next_values = next_target_q.gather(1, greedy).squeeze(1)
    else:
        next_values = next_target_q.amax(dim=1)
    return torch.addcmul(returns, discounts, next_values, out=out)


class Learner:
    """The online and target Q-networks, their optimizer, and the gradient steps."""

    def __init__(self, args: Args, observation_space, num_actions: int, device: torch.device):
        self.args = args
        self.device = device
        self.q_network = QNetwork(
            observation_space, num_actions, mlp_hidden=args.mlp_hidden, dueling=args.dueling
        ).to(device)
        if device.type == "cpu" and is_image_space(observation_space):
            # With its images (NatureCNN.forward), channels-last weights make oneDNN's
            # convolutions faster still: measured on 2 cores, an update of batch 32 takes 19 ms
            # against 24 ms in the default layout, and acting 0.54 ms against 0.59.
            self.q_network.to(memory_format=torch.channels_last)
        self.target_network = copy.deepcopy(self.q_network)
        # Each network's parameters live in one flat tensor: clipping, Adam and the target update
        # are then a few tensor ops (see agents.optim).
        self.weights = FlatParameters(self.q_network)
        self.target_weights = FlatParameters(self.target_network, gradients=False)
        self.optimizer = Adam(self.weights, lr=args.learning_rate, max_grad_norm=args.max_grad_norm)
        self.forward = torch.compile(self.q_network) if args.compile else self.q_network
        # MLPs take their gradient by hand, other networks (and compiled ones) through autograd.
        self.mlp = None
        if MLPGradient.supports(self.q_network) and not args.compile:
            # No autograd at all then: ops on the weights need not record anything.
            self.q_network.requires_grad_(False)
            self.target_network.requires_grad_(False)
            self.mlp = MLPGradient(self.q_network)
            self.target_mlp = MLPGradient(self.target_network)
        self.num_actions = num_actions

    def to_device(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array).to(self.device, non_blocking=True)

    @torch.no_grad()
    def greedy(self, obs: np.ndarray) -> np.ndarray:
        obs_tensor = self.to_device(obs)
        if self.mlp is not None:
            q, _ = self.mlp.forward(obs_tensor.flatten(1).float())
        else:
            q = self.forward(obs_tensor)
        return q.argmax(dim=1).cpu().numpy()

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
        # The target network is the same for every step: its Q-values come in one pass.
        if self.mlp is not None:  # the MLP's passes take float rows, and record no autograd
            for name in ("obs", "next_obs"):
                data[name] = data[name].flatten(1).float()
            next_target_q, _ = self.target_mlp.forward(data["next_obs"])
            take_steps = self._mlp_steps
        else:
            with torch.no_grad():
                next_target_q = self.target_network(data["next_obs"])
            take_steps = self._autograd_steps
        targets = torch.empty_like(data["returns"])
        q_taken = torch.empty_like(targets)
        if not self.args.double:  # then the targets do not depend on the online network either
            td_targets(data["returns"], data["discounts"], next_target_q, None, out=targets)
        take_steps(data, next_target_q, targets, q_taken, steps, rows)
        return F.smooth_l1_loss(q_taken, targets), q_taken.mean()

    def _autograd_steps(self, data, next_target_q, targets, q_taken, steps, rows) -> None:
        """The steps through autograd; fills in `q_taken`, and `targets` with Double DQN."""
        for step in range(steps):
            part = slice(step * rows, (step + 1) * rows)
            obs, actions = data["obs"][part], data["actions"][part]
            if self.args.double:
                with torch.no_grad():
                    next_online_q = self.forward(data["next_obs"][part])
                    td_targets(
                        data["returns"][part],
                        data["discounts"][part],
                        next_target_q[part],
                        next_online_q,
                        out=targets[part],
                    )
            q = self.forward(obs).gather(1, actions[:, None]).squeeze(1)
            loss = F.smooth_l1_loss(q, targets[part])
            self.weights.grad.zero_()
            loss.backward()
            q_taken[part] = q.detach()
            self.optimizer.step()

    def _mlp_steps(self, data, next_target_q, targets, q_taken, steps, rows) -> None:
        """The steps by `MLPGradient`; fills in `q_taken`, and `targets` with Double DQN."""
        # Each step's tensors are views made for all steps in a few calls: at Catch's sizes a
        # step is ~25 small ops, and every call costs a few µs however small its tensors.
        double = self.args.double
        obs = data["obs"].view(steps, rows, -1)
        if double:  # each step's online pass covers its obs and its next_obs together
            obs = torch.cat((obs, data["next_obs"].view(steps, rows, -1)), dim=1)
        actions = data["actions"][:, None]
        # The mean Huber loss's gradient with respect to q_taken is each error clipped to
        # [-1, 1], over the batch size; with respect to the Q-values, that at the action taken.
        action_masks = torch.zeros_like(next_target_q).scatter_(1, actions, 1.0 / rows)
        per_step = [
            obs.unbind(),
            actions.view(steps, rows, 1).unbind(),
            action_masks.view(steps, rows, -1).unbind(),
            targets.view(steps, rows, 1).unbind(),
            q_taken.view(steps, rows, 1).unbind(),
        ]
        if double:
            per_step.append(data["returns"].view(steps, rows).unbind())
            per_step.append(data["discounts"].view(steps, rows).unbind())
            per_step.append(next_target_q.view(steps, rows, -1).unbind())
        for x, action, action_mask, target, taken, *bootstrap in zip(*per_step, strict=True):
            q, inputs = self.mlp.forward(x)
            if double:
                returns, discounts, next_target = bootstrap
                td_targets(returns, discounts, next_target, q[rows:], out=target.view(rows))
                q = q[:rows]
            torch.gather(q, 1, action, out=taken)
            errors = torch.sub(taken, target).clamp_(-1.0, 1.0)
            self.mlp.backward(inputs, torch.mul(action_mask, errors))
            self.optimizer.step()

    def update_target(self) -> None:
        self.target_weights.data.lerp_(self.weights.data, self.args.tau)

    def policy(self, epsilon: float, rng: np.random.Generator):
        """An epsilon-greedy policy for one (unbatched) observation."""

        def act(obs: np.ndarray) -> int:
            if rng.random() < epsilon:
                return int(rng.integers(self.num_actions))
            return int(self.greedy(obs[None])[0])

        return act


def load_checkpoint(path: Path) -> dict[str, Any]:
    """The checkpoint file at `path` (found by `agents.command`), written by `train`, or a
    UsageError that says what is wrong with it."""
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
        raise UsageError(
            f"the checkpoint's network (trained on {checkpoint['config']['env']}) does not fit "
            "the env and network asked for; leave out --env and the network flags "
            "(--mlp-hidden, --dueling)"
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
        set_cpu_threads(device, space)
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
        if not bool(self.learner.weights.data.isfinite().all()):
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
        try:
            learner.optimizer.load_state_dict(checkpoint["optimizer"])
        except ValueError as error:
            raise UsageError(f"cannot resume from this checkpoint: {error}") from None
        learner.optimizer.lr = self.args.learning_rate  # a --learning-rate given on resume wins
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
        obs, infos = checked_reset(self.envs, args.env, seed=args.seed + self.global_step)
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

                due = (self.global_step - self.next_update) // args.train_frequency + 1
                if due > 0 and buffer.can_sample():
                    # The gradient steps due since the last env step, sampled in one batch.
                    self.next_update += due * args.train_frequency
                    loss, q_mean = learner.update(buffer.sample(args.batch_size * due), due)
                    loss_sum.add_(loss, alpha=due)
                    q_sum.add_(q_mean, alpha=due)
                    updates_in_window += due
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


class DQNAgent(Agent):
    def saved_config(self, checkpoint: Path) -> dict[str, Any]:
        return load_checkpoint(checkpoint)["config"]

    def train(self, args: Args, run_dir: Path, device: torch.device, resume: bool) -> Trained:
        trainer = Trainer(args, run_dir, device)
        if resume:
            trainer.restore(load_checkpoint(run_dir / CHECKPOINT))
            trim_progress(run_dir, trainer.global_step)
            announce_resume(run_dir, trainer.global_step, args.total_timesteps)
        print(trainer.describe(), file=sys.stderr)
        summary = trainer.train()
        summary["replay_bytes_per_transition"] = round(trainer.buffer.bytes_per_transition, 1)
        return Trained(summary, trainer.learner.policy)

    def load_policy(self, checkpoint: Path, args: Args, device: torch.device) -> PolicyFactory:
        envs = make_train_envs(args.env, 1)
        space, actions = envs.single_observation_space, int(envs.single_action_space.n)
        envs.close()
        learner = Learner(args, space, actions, device)
        load_network(learner.q_network, load_checkpoint(checkpoint))
        learner.q_network.eval()
        return learner.policy


AGENT_COMMAND = DQNAgent(
    name=AGENT, prog="python -m agents.dqn", description=__doc__, checkpoint_name=CHECKPOINT
)


def main(argv: list[str] | None = None) -> int:
    return run(AGENT_COMMAND, argv)


if __name__ == "__main__":
    run_main(main, "python -m agents.dqn")
