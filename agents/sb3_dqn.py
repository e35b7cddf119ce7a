"""Stable-Baselines3's DQN, the baseline: `python -m agents.sb3_dqn --env ENV_ID` runs it with
our preprocessing, flags, outputs and evaluation, so the two agents compare like for like.

    python -m agents.sb3_dqn                      # Catch-v0, the same catch preset as agents.dqn
    python -m agents.sb3_dqn --env ALE/Pong-v5    # rl-zoo3's Atari hyperparameters
    python -m agents.sb3_dqn --evaluate runs/<run> --episodes 10

The env is the `wrappers` pipeline in SB3's DummyVecEnv, with reward clipping and life loss in the
env (SB3 learns from what the env returns) and Gymnasium's RecordEpisodeStatistics under it, so
the logged returns are whole games. Flags mean what they mean for agents.dqn; --train-frequency
counts env steps per gradient step over all envs, as ours does (SB3's train_freq and
gradient_steps are set to match). Flags SB3's DQN has no meaning for are refused.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3 import DQN
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv
from tqdm import tqdm

from agents.cli import UsageError, run_main
from agents.command import Agent, PolicyFactory, Trained, run
from agents.config import PRESETS, Args
from agents.environments import (
    checked_discrete,
    checked_reset,
    make_eval_env,
    pipeline_skip_kwargs,
    preprocessed,
    usage_errors,
)
from agents.networks import is_image_space, set_cpu_threads
from agents.runs import EpisodeTracker, RunLogger, announce_resume, trim_progress, write_json
from wrappers import make_dqn_env

AGENT = "sb3_dqn"
CHECKPOINT = "checkpoint.zip"
REPLAY = "replay.pkl"
STATE = "training_state.json"  # what SB3's zip does not keep: our episode history and clock

UNSUPPORTED = {
    "double": "Stable-Baselines3's DQN has no Double DQN",
    "dueling": "Stable-Baselines3's DQN has no dueling head",
    "compile": "SB3 runs its own policy modules",
}
SB3_PRESETS = {
    family: {
        **values,
        "double": False,  # what SB3's DQN does, so config.json says so
        # rl-zoo3's hyperparameters for DQN on Atari (its hyperparams/dqn.yml).
        **({"buffer_size": 100_000, "learning_starts": 100_000} if family == "atari" else {}),
    }
    for family, values in PRESETS.items()
}


def make_vec_env(args: Args) -> VecEnv:
    """`num_envs` copies of the pipeline, rewards clipped and life loss ended in the env."""
    options = {} if preprocessed(args.env) else {
        "clip_rewards": args.clip_rewards,
        "terminal_on_life_loss": args.terminal_on_life_loss,
    }  # fmt: skip

    env_kwargs = pipeline_skip_kwargs(args.env)  # frames skipped as in training and evaluation

    def make():
        return make_dqn_env(args.env, episode_statistics=True, env_kwargs=env_kwargs, **options)

    with usage_errors(args.env):
        envs = DummyVecEnv([make] * args.num_envs)
    envs = checked_discrete(args.env, envs, envs.action_space)
    checked_reset(envs, args.env)  # before SB3's own reset, which would not say what is wrong
    return envs


def build_model(args: Args, envs: VecEnv, device: torch.device | str) -> DQN:
    """SB3's DQN with `args`: the same network (Nature CNN, or the MLP of --mlp-hidden) and the
    same number of gradient steps per env step."""
    image = is_image_space(envs.observation_space)
    set_cpu_threads(device, envs.observation_space)
    # train_frequency env steps per gradient step, exactly: SB3 trains every train_freq vector
    # steps (num_envs env steps each), gradient_steps at a time.
    common = math.gcd(args.num_envs, args.train_frequency)
    return DQN(
        "CnnPolicy" if image else "MlpPolicy",
        envs,
        learning_rate=args.learning_rate,
        buffer_size=args.buffer_size,
        learning_starts=args.learning_starts,
        batch_size=args.batch_size,
        tau=args.tau,
        gamma=args.gamma,
        train_freq=args.train_frequency // common,
        gradient_steps=args.num_envs // common,
        n_steps=args.n_step,
        target_update_interval=args.target_network_frequency,
        exploration_fraction=args.exploration_fraction,
        exploration_initial_eps=args.start_e,
        exploration_final_eps=args.end_e,
        max_grad_norm=args.max_grad_norm,
        policy_kwargs={"net_arch": [] if image else list(args.mlp_hidden)},
        device=device,
        seed=args.seed,
    )


def replay_bytes_per_transition(model: DQN) -> float:
    buffer = model.replay_buffer
    arrays = [buffer.observations, buffer.next_observations, buffer.actions, buffer.rewards,
              buffer.dones, buffer.timeouts]  # fmt: skip
    # SB3's arrays are (buffer_size // n_envs, n_envs, ...): its buffer_size is per env.
    return sum(a.nbytes for a in arrays if a is not None) / (buffer.buffer_size * buffer.n_envs)


class RunCallback(BaseCallback):
    """Our outputs from inside SB3's loop: TensorBoard, progress.csv, a progress bar, periodic
    checkpoints; stops training when the loss is no longer finite."""

    def __init__(self, agent: SB3Agent, args: Args, run_dir: Path, tracker: EpisodeTracker):
        super().__init__()
        self.agent, self.args, self.run_dir, self.tracker = agent, args, run_dir, tracker
        self.diverged: str | None = None

    def _on_training_start(self) -> None:
        self.logger_ = RunLogger(self.run_dir)
        self.start_time = time.perf_counter()
        self.window = (self.start_time, self.num_timesteps)
        self.next_log = self.num_timesteps + self.args.log_frequency
        frequency = self.args.checkpoint_frequency
        self.next_checkpoint = self.num_timesteps + frequency if frequency else None
        self.bar = tqdm(total=self.args.total_timesteps, initial=self.num_timesteps,
                        unit="step", disable=None, dynamic_ncols=True)  # fmt: skip

    def _on_step(self) -> bool:
        self.bar.update(self.training_env.num_envs)
        for info in self.locals["infos"]:
            if "episode" in info:
                episode_return = float(info["episode"]["r"])
                self.tracker.record(episode_return)
                self.logger_.episode(self.num_timesteps, episode_return, int(info["episode"]["l"]))
        if self.num_timesteps >= self.next_log:
            self.next_log += self.args.log_frequency
            loss = self.model.logger.name_to_value.get("train/loss", math.nan)
            if not math.isfinite(loss) and "train/loss" in self.model.logger.name_to_value:
                self.diverged = f"the TD loss became {loss} by step {self.num_timesteps:,}"
                return False
            now = time.perf_counter()
            row = {
                "step": self.num_timesteps,
                "wall_seconds": self.agent.wall_before + now - self.start_time,
                "sps": (self.num_timesteps - self.window[1]) / max(now - self.window[0], 1e-9),
                "episodes": self.tracker.count,
                "mean_return_last_100": self.tracker.mean_recent(),
                "epsilon": self.model.exploration_rate,
                "td_loss": loss,
                "q_values": math.nan,  # SB3 does not log them
            }
            self.window = (now, self.num_timesteps)
            self.logger_.progress(row, echo=self.bar.disable)
            self.bar.set_postfix(sps=f"{row['sps']:,.0f}", ret=f"{row['mean_return_last_100']:.2f}")
        if self.next_checkpoint is not None and self.num_timesteps >= self.next_checkpoint:
            self.next_checkpoint += self.args.checkpoint_frequency
            self.agent.checkpoint(self.model, self.args, self.run_dir, self.tracker, self.elapsed())
        return True

    def elapsed(self) -> float:
        started = getattr(self, "start_time", None)  # Ctrl-C may come before training starts
        return self.agent.wall_before + (time.perf_counter() - started if started else 0.0)

    def _on_training_end(self) -> None:
        self.bar.close()
        self.logger_.close()


class SB3Agent(Agent):
    wall_before = 0.0

    def saved_config(self, checkpoint: Path) -> dict[str, Any]:
        if checkpoint.name != CHECKPOINT:
            raise UsageError(
                f"{checkpoint} is not a checkpoint of agents.sb3_dqn; pass its run directory, "
                f"or the {CHECKPOINT} in it"
            )
        return self._state(checkpoint.parent)["config"]

    def _state(self, run_dir: Path) -> dict[str, Any]:
        """What `checkpoint` wrote beside SB3's zip: the config the model was trained with, our
        episode history and clock."""
        try:
            return json.loads((run_dir / STATE).read_text())
        except (OSError, ValueError):
            raise UsageError(
                f"{run_dir / STATE} is missing or unreadable; it is written with each "
                f"{CHECKPOINT} of agents.sb3_dqn"
            ) from None

    def checkpoint(
        self, model: DQN, args: Args, run_dir: Path, tracker: EpisodeTracker, wall: float
    ) -> None:
        """model.save and our training state, each written atomically (temp file, rename)."""
        if not all(torch.isfinite(p).all() for p in model.policy.parameters()):
            raise FloatingPointError(
                f"the Q-network's weights are no longer finite at step {model.num_timesteps:,}"
            )
        if args.save_buffer:
            model.save_replay_buffer(run_dir / f"{REPLAY}.tmp")
            os.replace(run_dir / f"{REPLAY}.tmp", run_dir / REPLAY)
        model.save(run_dir / "checkpoint.tmp.zip")
        os.replace(run_dir / "checkpoint.tmp.zip", run_dir / CHECKPOINT)
        state = {"config": dataclasses.asdict(args), "recent_returns": list(tracker.recent),
                 "episode_count": tracker.count, "wall_seconds": wall}  # fmt: skip
        write_json(run_dir / STATE, state)

    def _load(self, checkpoint: Path, **kwargs: Any) -> DQN:
        try:
            return DQN.load(checkpoint, **kwargs)
        except Exception as error:  # SB3 and torch raise many kinds for a damaged file
            raise UsageError(
                f"{checkpoint} is not a readable SB3 checkpoint ({type(error).__name__}); it "
                "may be corrupt"
            ) from None

    def train(self, args: Args, run_dir: Path, device: torch.device, resume: bool) -> Trained:
        envs = make_vec_env(args)
        tracker = EpisodeTracker(args.num_envs)
        self.wall_before = 0.0
        if resume:
            model = self._load(
                run_dir / CHECKPOINT, env=envs, device=device,
                custom_objects={"learning_rate": args.learning_rate,
                                "lr_schedule": lambda _: args.learning_rate},
            )  # fmt: skip
            if args.save_buffer and (run_dir / REPLAY).is_file():
                model.load_replay_buffer(run_dir / REPLAY)
            else:  # an empty buffer fills again before learning goes on, as in agents.dqn
                model.learning_starts = model.num_timesteps + args.learning_starts
            state = self._state(run_dir)
            tracker = EpisodeTracker(args.num_envs, state["recent_returns"])
            tracker.count = state["episode_count"]
            self.wall_before = state["wall_seconds"]
            trim_progress(run_dir, model.num_timesteps)
            announce_resume(run_dir, model.num_timesteps, args.total_timesteps)
        else:
            model = build_model(args, envs, device)
        start_step = model.num_timesteps
        print(f"sb3_dqn on {args.env}: {args.num_envs} env(s), device {model.device}",
              file=sys.stderr)  # fmt: skip
        callback = RunCallback(self, args, run_dir, tracker)
        start = time.perf_counter()
        try:
            model.learn(
                max(0, args.total_timesteps - start_step),
                callback=callback,
                reset_num_timesteps=not resume,
            )
        except KeyboardInterrupt:
            self.checkpoint(model, args, run_dir, tracker, callback.elapsed())
            raise
        finally:
            envs.close()
        if callback.diverged:
            raise FloatingPointError(callback.diverged)
        wall = time.perf_counter() - start
        self.checkpoint(model, args, run_dir, tracker, self.wall_before + wall)
        summary = {
            "total_steps": model.num_timesteps,
            "wall_seconds": round(self.wall_before + wall, 2),
            "sps": round((model.num_timesteps - start_step) / max(wall, 1e-9), 1),
            "train_episodes": tracker.count,
            "train_mean_return_last_100": tracker.summary_mean(),
            "replay_bytes_per_transition": round(replay_bytes_per_transition(model), 1),
        }
        return Trained(summary, _policy(model))

    def load_policy(self, checkpoint: Path, args: Args, device: torch.device) -> PolicyFactory:
        model = self._load(checkpoint, device=device)
        env = make_eval_env(args.env)
        observations, actions = env.observation_space, env.action_space
        env.close()
        trained = model.observation_space
        if (trained.shape, trained.dtype, model.action_space) != (
            observations.shape,
            observations.dtype,
            actions,
        ):
            raise UsageError(
                f"the checkpoint's model takes {trained} and acts in {model.action_space}, "
                f"and {args.env} gives {observations} and takes {actions}; leave out --env"
            )
        return _policy(model)


def _policy(model: DQN) -> PolicyFactory:
    actions = int(model.action_space.n)

    def factory(epsilon: float, rng: np.random.Generator):
        def act(obs: np.ndarray) -> int:
            if rng.random() < epsilon:
                return int(rng.integers(actions))
            return int(model.predict(obs, deterministic=True)[0])

        return act

    return factory


AGENT_COMMAND = SB3Agent(
    name=AGENT,
    prog="python -m agents.sb3_dqn",
    description=__doc__,
    checkpoint_name=CHECKPOINT,
    presets=SB3_PRESETS,
    unsupported=UNSUPPORTED,
    # SB3's saved model keeps the rest; a --learning-rate goes in through custom_objects.
    resume_changeable=frozenset(
        {"total_timesteps", "learning_rate", "log_frequency", "checkpoint_frequency", "save_buffer"}
    ),
)


def main(argv: list[str] | None = None) -> int:
    return run(AGENT_COMMAND, argv)


if __name__ == "__main__":
    run_main(main, "python -m agents.sb3_dqn")
