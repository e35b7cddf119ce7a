"""The PQN training loop: N envs act epsilon-greedily for T steps into the rollout, the rollout's
Q(lambda) targets are computed, the learner makes its passes over it, and the rollout is
overwritten by the next; log and checkpoint as it goes.

`Trainer.train` is the loop, in the order it runs. What it holds between updates (the step
counters, the RNGs, the episodes under way, the envs' last observations, lives and pending
autoresets) is the state a checkpoint saves, with the learner's network and optimizer. There is
no replay buffer, and checkpoints are taken between updates only, where the rollout holds nothing
still to learn from. Envs that can save their state (`get_state`, as Catch's `CatchVectorEnv`)
are saved too, so a resumed run continues exactly as the uninterrupted one; others (ale-py's
`AtariVectorEnv`) restart their games on resume, from `reset(seed=seed + step)`, which is a valid
continuation of the run but not the same one.
"""

from __future__ import annotations

import dataclasses
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
from agents.common.networks import uses_cnn
from agents.common.policy import epsilon_greedy_from, linear_schedule
from agents.common.runs import EpisodeTracker, Progress, training_summary
from agents.pqn.config import Args
from agents.pqn.learner import Learner
from agents.pqn.rollout import Rollout

AGENT = "pqn"
CHECKPOINT = "checkpoint.pt"
CHECKPOINT_FORMAT = 1
"""Bumped when what a checkpoint holds changes; older ones are refused with a clear message."""


class Trainer:
    """The training loop of agents.pqn, and its state."""

    def __init__(self, args: Args, run_dir: Path, device: torch.device) -> None:
        self.args = args
        self.run_dir = run_dir
        self.device = device
        torch.manual_seed(args.seed)
        self.rng = np.random.default_rng(args.seed)  # exploration
        self.envs = make_train_envs(args.env, args.num_envs)
        space = self.envs.single_observation_space
        self.num_actions = int(self.envs.single_action_space.n)
        set_cpu_threads(device, space)
        self.learner = Learner(args, space, self.num_actions, device)
        self.rollout = Rollout(args.num_steps, args.num_envs, space, device)
        self.episodes = EpisodeTracker(args.num_envs)
        self.saves_envs = hasattr(self.envs.unwrapped, "get_state")
        self.global_step = 0
        self.updates = 0
        self.wall_before = 0.0  # seconds trained by the processes before this one (resumed runs)
        self.saved_step: int | None = None
        self.resumed: dict[str, Any] | None = None  # a checkpoint's envs and log, for train()

    def describe(self) -> str:
        args = self.args
        space = self.envs.single_observation_space
        network = "Nature CNN" if uses_cnn(space) else f"MLP {args.mlp_hidden}"
        network = f"LayerNorm {network}" if args.layer_norm else f"{network} without LayerNorm"
        minibatch = args.num_envs * args.num_steps // args.num_minibatches
        resume = "saved with checkpoints" if self.saves_envs else "restarted on resume"
        return (
            f"pqn on {args.env}: {args.num_envs} env(s) x {args.num_steps} steps a rollout, "
            f"{args.update_epochs} epoch(s) x {args.num_minibatches} minibatches of {minibatch}, "
            f"device {self.device}, {self.learner.precision}, {network}, rollout "
            f"{self.rollout.nbytes / 2**20:,.1f} MiB; envs {resume}"
        )

    # -- the loop ------------------------------------------------------------------------------

    def train(self) -> dict[str, Any]:
        """Trains up to total-timesteps, in whole rollouts (so it may pass them by up to a
        rollout's num-envs x num-steps); returns the training part of the summary. A `Stop` signal
        ends it with a checkpoint (`TrainingStopped`) once the update under way is done; a
        diverging network with FloatingPointError, its last good checkpoint kept."""
        args = self.args
        self.start_envs()
        start_step = self.global_step
        progress = Progress(
            self.run_dir,
            self.episodes,
            step=self.global_step,
            total_steps=args.total_timesteps,
            log_frequency=args.log_frequency,
            wall_before=self.wall_before,
        )
        if self.resumed is not None:
            progress.load_window_state(self.resumed["progress"])
        checkpoints = Schedule(self.global_step, args.checkpoint_frequency)
        try:
            while self.global_step < args.total_timesteps:
                # A stop waits for the update to end: checkpoints fall between updates only.
                with signals_deferred(notice="stopping once the update under way is done"):
                    self.learner.set_learning_rate(self.learning_rate())
                    self.collect(progress)
                    self.learn(progress)
                    progress.step(self.global_step, self.epsilon())
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

    def epsilon(self) -> float:
        args = self.args
        duration = args.exploration_fraction * args.total_timesteps
        return linear_schedule(args.start_e, args.end_e, duration, self.global_step)

    def learning_rate(self) -> float:
        """The learning rate of the next update: constant, or with anneal-lr falling linearly
        from learning-rate at step 0 to 0 at total-timesteps."""
        args = self.args
        if not args.anneal_lr:
            return args.learning_rate
        return args.learning_rate * max(0.0, 1.0 - self.global_step / args.total_timesteps)

    def collect(self, progress: Progress) -> None:
        """num-steps steps of every env into the rollout: one acting pass per step over all N
        observations, whose max Q-values the targets reuse."""
        for t in range(self.args.num_steps):
            obs = self.rollout.obs[t]
            obs.copy_(torch.from_numpy(self.obs))
            q_max, greedy = self.learner.q_values(obs).max(dim=1)
            actions = epsilon_greedy_from(
                greedy.cpu().numpy(), self.epsilon(), self.num_actions, self.rng
            )
            self.step_envs(t, actions, q_max, progress)

    def step_envs(
        self, t: int, actions: np.ndarray, q_max: torch.Tensor, progress: Progress
    ) -> None:
        """Steps the envs and stores row t of the rollout. The step after an episode ended only
        resets its slot (NEXT_STEP): its row is stored as not valid, and neither learned from nor
        counted. Learning sees rewards clipped to [-1, 1] and a lost life as terminal, if asked;
        the episode history keeps the real rewards of whole games."""
        args = self.args
        next_obs, rewards, terminated, truncated, infos = self.envs.step(actions)
        new_lives = vector_info(infos, "lives", args.num_envs)
        ended = terminated | truncated
        valid = ~self.restarting
        terminal = terminated
        if args.terminal_on_life_loss and self.lives is not None and new_lives is not None:
            terminal = terminal | (new_lives < self.lives)  # never on a reset row: lives refill
        raw = np.asarray(rewards, dtype=np.float32)
        learned = np.clip(raw, -1.0, 1.0) if args.clip_rewards else raw
        self.rollout.store(t, actions, q_max, learned, terminal, truncated, valid)
        acting = np.flatnonzero(valid)
        self.global_step += len(acting)
        for episode_return, length in self.episodes.step(acting, raw[acting], ended[acting]):
            progress.episode(self.global_step, episode_return, length)
        self.obs, self.lives, self.restarting = next_obs, new_lives, ended

    def learn(self, progress: Progress) -> None:
        """The rollout's targets, from its acting Q-values and one pass over the observations
        after it, then the update."""
        args = self.args
        after = torch.from_numpy(self.obs).to(self.device)
        bootstrap = self.learner.q_values(after).amax(dim=1)
        returns = self.rollout.returns(bootstrap, args.gamma, args.q_lambda)
        loss, q_mean = self.learner.update(self.rollout, returns)
        self.updates += 1
        progress.losses(loss, q_mean, args.update_epochs * args.num_minibatches)

    def start_envs(self) -> None:
        """The envs as the checkpoint left them, or reset: seeded by the step, so that a resumed
        run does not replay the episodes it started with."""
        args = self.args
        saved = self.resumed and self.resumed["envs"]
        if saved:
            self.envs.unwrapped.set_state(saved["games"])
            self.obs = saved["obs"].numpy()
            self.restarting = np.array(saved["restarting"], dtype=bool)
            self.lives = None if saved["lives"] is None else np.array(saved["lives"])
            return
        self.obs, infos = checked_reset(self.envs, args.env, seed=args.seed + self.global_step)
        self.lives = vector_info(infos, "lives", args.num_envs)
        self.restarting = np.zeros(args.num_envs, dtype=bool)  # slots autoresetting next step

    # -- checkpoints ---------------------------------------------------------------------------

    def checkpoint(self, progress: Progress, *, stopping: bool = False) -> str:
        """Saves the training state and says what was saved. Signals wait until the file is
        written. A diverged network (NaN or inf weights) is not saved: FloatingPointError, and
        the last good checkpoint stays."""
        what = f"saved the checkpoint at step {self.global_step:,}"
        if self.saved_step == self.global_step:  # a stop right after a periodic save
            return what + " (saved already)"
        check_finite(self.learner.q_network.parameters(), self.global_step)
        with signals_deferred(stopping=stopping):
            progress.flush()
            save_checkpoint(self.run_dir / CHECKPOINT, self.state_dict(progress))
        self.saved_step = self.global_step
        return what

    def state_dict(self, progress: Progress) -> dict[str, Any]:
        envs = None
        if self.saves_envs:
            envs = {
                "games": self.envs.unwrapped.get_state(),
                "obs": torch.from_numpy(self.obs),
                "restarting": self.restarting.tolist(),
                "lives": None if self.lives is None else self.lives.tolist(),
            }
        return {
            "agent": AGENT,
            "format": CHECKPOINT_FORMAT,
            "config": dataclasses.asdict(self.args),
            "learner": self.learner.state_dict(),
            "global_step": self.global_step,
            "updates": self.updates,
            **random_state(self.rng, self.device),
            "episodes": self.episodes.state_dict(under_way=self.saves_envs),
            "progress": progress.window_state(),
            "wall_seconds": progress.wall_seconds(),
            "envs": envs,
        }

    def restore(self, checkpoint: dict[str, Any]) -> None:
        """Continues from a `state_dict`: the learner, the counters, the RNGs, the episode
        history and the log's window, and the envs if they were saved."""
        if checkpoint.get("format") != CHECKPOINT_FORMAT:
            raise UsageError(
                "the checkpoint was written by another version of agents.pqn; it cannot be "
                "resumed here"
            )
        saved_envs = checkpoint["config"]["num_envs"]
        if saved_envs != self.args.num_envs:
            raise UsageError(
                f"--num-envs cannot change when pqn resumes a run (it was {saved_envs}); drop it, "
                "or start a new run"
            )
        try:
            self.learner.load_state_dict(checkpoint["learner"])
        except ValueError as error:
            raise UsageError(f"cannot resume from this checkpoint: {error}") from None
        self.global_step = self.saved_step = checkpoint["global_step"]
        self.updates = checkpoint["updates"]
        restore_random_state(checkpoint, self.rng, self.device)
        self.episodes.load_state_dict(checkpoint["episodes"])
        self.wall_before = checkpoint["wall_seconds"]
        self.resumed = checkpoint
