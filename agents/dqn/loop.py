"""The DQN training loop: act epsilon-greedily in N envs, store what they return, learn from
replayed batches, follow with the target network; log and checkpoint as it goes.

`Trainer.train` is the loop, in the order it runs. What it holds between steps (the step
counters, the RNGs, the episode history) is the state a checkpoint saves, with the learner's
networks and optimizer, and optionally the replay buffer.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.common.checkpoints import (
    Schedule,
    TrainingStopped,
    check_finite,
    random_state,
    restore_random_state,
    save_checkpoint,
    signals_deferred,
    stop_signal,
)
from agents.common.cli import UsageError
from agents.common.device import set_cpu_threads
from agents.common.environments import checked_reset, make_train_envs, vector_info
from agents.common.policy import epsilon_greedy_batch, linear_schedule
from agents.common.runs import EpisodeTracker, Progress, refill_note, training_summary
from agents.dqn.config import Args
from agents.dqn.fast_mlp import make_learner
from agents.dqn.replay import ReplayBuffer

AGENT = "dqn"
CHECKPOINT = "checkpoint.pt"
CHECKPOINT_FORMAT = 2
"""Bumped when what a checkpoint holds changes; older ones are refused with a clear message."""


class Trainer:
    """The training loop of agents.dqn, and its state."""

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
        self.learner = make_learner(args, space, self.num_actions, device)
        try:
            self.buffer = ReplayBuffer(
                args.buffer_size,
                args.num_envs,
                space,
                gamma=args.gamma,
                n_step=args.n_step,
                seed=replay_seed,
            )
        except ValueError as error:
            self.envs.close()
            raise UsageError(f"{error}; pass a smaller --buffer-size") from None
        self.episodes = EpisodeTracker(args.num_envs)
        self.global_step = 0
        self.wall_before = 0.0  # seconds trained by the processes before this one (resumed runs)
        self.next_update = args.learning_starts  # the env step of the next gradient step
        self.next_target_update = args.learning_starts + args.target_network_frequency
        self.saved_step: int | None = None
        self.resumed_window: dict[str, Any] | None = None  # the progress log's, from a checkpoint

    def describe(self) -> str:
        buffer = self.buffer
        layout = f"frames stored once, stacks of {buffer.stack}" if buffer.stack > 1 else "whole"
        return (
            f"dqn on {self.args.env}: {self.args.num_envs} env(s), device {self.device}, "
            f"{type(self.learner).__name__}, replay buffer "
            f"{buffer.num_envs * buffer.stream_capacity:,} entries x "
            f"{buffer.bytes_per_transition:,.0f} B = {buffer.nbytes / 2**30:.2f} GiB ({layout})"
        )

    # -- the loop ------------------------------------------------------------------------------

    def train(self) -> dict[str, Any]:
        """Trains up to total-timesteps; returns the training part of the summary. A `Stop`
        signal ends it with a checkpoint (`TrainingStopped`); a diverging network with
        FloatingPointError, its last good checkpoint kept."""
        args = self.args
        obs, infos = checked_reset(self.envs, args.env, seed=args.seed + self.global_step)
        self.buffer.start(np.arange(args.num_envs), obs)
        self.lives = vector_info(infos, "lives", args.num_envs)
        self.restarting = np.zeros(args.num_envs, dtype=bool)  # slots autoresetting this step
        start_step = self.global_step
        progress = Progress(
            self.run_dir,
            self.episodes,
            step=self.global_step,
            total_steps=args.total_timesteps,
            log_frequency=args.log_frequency,
            wall_before=self.wall_before,
        )
        if self.resumed_window is not None:  # rows on the run's own grid, losses since the last
            progress.load_window_state(self.resumed_window)
        checkpoints = Schedule(self.global_step, args.checkpoint_frequency)
        try:
            while self.global_step < args.total_timesteps:
                # A stop waits for the step under way to end, so a checkpoint never holds an
                # episode counted whose TensorBoard event was not written (one step of Catch's
                # 16 envs ends 16 episodes at once).
                with signals_deferred():
                    obs = self.train_step(obs, progress)
                    if checkpoints.due(self.global_step):
                        self.checkpoint(progress)
            self.checkpoint(progress)
        except KeyboardInterrupt as stop:  # a Stop signal, or Ctrl-C where no handler is set
            signum = stop_signal(stop)
            raise TrainingStopped(signum, self.checkpoint(progress, stopping=True)) from None
        finally:
            progress.close()
            self.envs.close()
        wall = progress.wall_seconds() - self.wall_before
        return training_summary(self.global_step, start_step, self.wall_before, wall, self.episodes)

    def train_step(self, obs: np.ndarray, progress: Progress) -> np.ndarray:
        """One step of every env, with the gradient steps and the target update due and what
        is logged of it; returns the next observations."""
        epsilon = self.epsilon()
        actions = self.act(obs, epsilon)
        # The gradient steps due, before the envs step: on a GPU they run meanwhile.
        self.learn(progress)
        obs, finished = self.step_envs(actions)
        for step, episode_return, length in finished:
            progress.episode(step, episode_return, length)
        if self.global_step >= self.next_target_update:
            self.learner.update_target()
            self.next_target_update += self.args.target_network_frequency
        progress.step(self.global_step, epsilon)
        return obs

    def epsilon(self) -> float:
        args = self.args
        duration = args.exploration_fraction * args.total_timesteps
        return linear_schedule(args.start_e, args.end_e, duration, self.global_step)

    def act(self, obs: np.ndarray, epsilon: float) -> np.ndarray:
        """Epsilon-greedy actions; at random before learning starts (the network is untrained)."""
        learning = self.global_step >= self.args.learning_starts
        greedy = self.learner.greedy if learning else None
        return epsilon_greedy_batch(obs, epsilon, self.num_actions, greedy, self.rng)

    def learn(self, progress: Progress) -> None:
        """The gradient steps due by now (one every train-frequency env steps from learning-starts
        on; with N envs several come due at once), sampled as one batch."""
        args = self.args
        due = (self.global_step - self.next_update) // args.train_frequency + 1
        if due <= 0 or not self.buffer.can_sample():
            return
        self.next_update += due * args.train_frequency
        loss, q_mean = self.learner.update(self.buffer.sample(args.batch_size * due), due)
        progress.losses(loss, q_mean, due)

    def step_envs(self, actions: np.ndarray) -> tuple[np.ndarray, list[tuple[int, float, int]]]:
        """Steps the envs and stores the transitions in the replay buffer. Returns the next
        observations and the (step, return, length) of the episodes that ended.

        The envs autoreset on the step after an episode ends (Gymnasium's NEXT_STEP): that step
        only starts a new episode in its slot, and is neither a transition nor counted. The buffer
        learns from rewards clipped to [-1, 1] and a lost life as terminal, if asked; the episode
        history keeps the real rewards of whole games."""
        args = self.args
        next_obs, rewards, terminated, truncated, infos = self.envs.step(actions)
        new_lives = vector_info(infos, "lives", args.num_envs)
        ended = terminated | truncated
        acting, fresh = np.flatnonzero(~self.restarting), np.flatnonzero(self.restarting)
        if len(fresh):
            self.buffer.start(fresh, next_obs[fresh])
        finished = []
        if len(acting):
            terminal = terminated[acting]
            if args.terminal_on_life_loss and self.lives is not None and new_lives is not None:
                terminal = terminal | (new_lives[acting] < self.lives[acting])
            raw = np.asarray(rewards, dtype=np.float32)[acting]
            learned = np.clip(raw, -1.0, 1.0) if args.clip_rewards else raw
            self.buffer.record(
                acting, actions[acting], learned, terminal, next_obs[acting], ended[acting]
            )
            self.global_step += len(acting)
            for episode_return, length in self.episodes.step(acting, raw, ended[acting]):
                finished.append((self.global_step, episode_return, length))
        self.restarting = ended & ~self.restarting
        self.lives = new_lives
        return next_obs, finished

    # -- checkpoints ---------------------------------------------------------------------------

    def checkpoint(self, progress: Progress, *, stopping: bool = False) -> str:
        """Saves the training state (with `--save-buffer`, the replay buffer first) and says what
        was saved. Signals wait until the files are written. A diverged network (NaN or inf
        weights) is not saved: FloatingPointError, and the last good checkpoint stays."""
        args = self.args
        replay = f"replay-{self.global_step:012d}.npz" if args.save_buffer else None
        what = f"saved the checkpoint at step {self.global_step:,}"
        what += " with its replay buffer" if replay else ""
        if self.saved_step == self.global_step:  # a stop right after a periodic save
            return what + " (saved already)"
        check_finite(self.learner.q_network.parameters(), self.global_step)
        with signals_deferred(stopping=stopping):
            progress.flush()
            if replay:
                self.buffer.save(self.run_dir / replay)
            save_checkpoint(self.run_dir / CHECKPOINT, self.state_dict(progress, replay))
            # The checkpoint names its buffer: any other buffer file is from an older one.
            for old in self.run_dir.glob("replay-*.npz"):
                if old.name != replay:
                    old.unlink()
        self.saved_step = self.global_step
        return what

    def state_dict(self, progress: Progress, replay: str | None) -> dict[str, Any]:
        return {
            "agent": AGENT,
            "format": CHECKPOINT_FORMAT,
            "config": dataclasses.asdict(self.args),
            "learner": self.learner.state_dict(),
            "global_step": self.global_step,
            "next_update": self.next_update,
            "next_target_update": self.next_target_update,
            **random_state(self.rng, self.device),
            "episodes": self.episodes.state_dict(),
            "wall_seconds": progress.wall_seconds(),
            "progress": progress.window_state(),
            "replay": replay,
        }

    def restore(self, checkpoint: dict[str, Any]) -> None:
        """Continues from a `state_dict`: the learner, the counters, the RNGs, the episode
        history, and the replay buffer if the checkpoint names one (else it fills again before
        learning goes on)."""
        if checkpoint.get("format") != CHECKPOINT_FORMAT:
            raise UsageError(
                "the checkpoint was written by an older dqn-arcade; it cannot be resumed here"
            )
        try:
            self.learner.load_state_dict(checkpoint["learner"])
        except ValueError as error:
            raise UsageError(f"cannot resume from this checkpoint: {error}") from None
        self.learner.set_learning_rate(self.args.learning_rate)  # a --learning-rate given wins
        self.global_step = self.saved_step = checkpoint["global_step"]
        self.next_update = checkpoint["next_update"]
        self.next_target_update = checkpoint["next_target_update"]
        restore_random_state(checkpoint, self.rng, self.device)
        self.episodes.load_state_dict(checkpoint["episodes"])
        self.wall_before = checkpoint["wall_seconds"]
        self.resumed_window = checkpoint.get("progress")  # absent from the first format-2 ones
        replay = checkpoint["replay"] and self.run_dir / checkpoint["replay"]
        if self.args.save_buffer and replay and replay.is_file():
            try:
                self.buffer.load(replay)
            except ValueError as error:
                raise UsageError(
                    f"{error}; resume with the run's own --buffer-size and --num-envs, or delete "
                    "the file to refill the buffer"
                ) from None
            print(f"restored the replay buffer from {replay}", file=sys.stderr)
        elif self.global_step < self.args.total_timesteps:
            self.next_update = max(
                self.next_update, refill_note(self.global_step, self.args.learning_starts)
            )
