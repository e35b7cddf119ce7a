"""`python -m agents.sb3_dqn`: Stable-Baselines3's DQN on the shared flow of
`agents.common.command`, with agents.dqn's config, and our outputs logged from inside SB3's loop.

A checkpoint is SB3's own zip (`model.save`), with our part of the training state (the config,
the episode history, the clock, the replay file's name) added to it as one more member, so the
two can never disagree. SB3's format can carry code: the zip's "data" member holds cloudpickled
objects, and its replay buffer is a pickle; both load as SB3 loads them, so load only the runs
you trust. (agents.dqn's checkpoints hold tensors and plain data only.)
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3 import DQN
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

from agents.common.checkpoints import (
    Schedule,
    Stop,
    TrainingStopped,
    check_finite,
    held_signal,
    signals_deferred,
    stop_signal,
)
from agents.common.cli import UsageError
from agents.common.command import Agent, PolicyFactory, Trained, q_policy, run
from agents.common.device import set_cpu_threads, setup_backends
from agents.common.environments import (
    checked_discrete,
    checked_reset,
    make_eval_env,
    usage_errors,
)
from agents.common.files import atomic_write
from agents.common.networks import uses_cnn
from agents.common.runs import (
    EpisodeTracker,
    Progress,
    pick_up_run,
    refill_note,
    training_summary,
)
from agents.dqn.config import PRESETS, Args, learning_starts_note, validate
from wrappers import make_dqn_env, pipeline_frameskip

AGENT = "sb3_dqn"
PROG = "python -m agents.sb3_dqn"
CHECKPOINT = "checkpoint.zip"
STATE_MEMBER = "dqn_arcade.json"
"""Our training state, a member of SB3's zip (SB3 reads only its own members)."""

UNSUPPORTED = {
    "double": "Stable-Baselines3's DQN has no Double DQN",
    "dueling": "Stable-Baselines3's DQN has no dueling head",
    "compile": "SB3 runs its own policy modules",
    "fast_mlp": "SB3 runs its own update",
    "precision": "SB3 computes in fp32",
}
SB3_PRESETS = {
    family: {
        **values,
        # What SB3's DQN does, so that config.json says so: no Double DQN, its own plain
        # update (not agents.dqn.fast_mlp), fp32.
        "double": False,
        "fast_mlp": False,
        "precision": "fp32",
        # rl-zoo3's hyperparameters for DQN on Atari (its hyperparams/dqn.yml).
        **({"buffer_size": 100_000, "learning_starts": 100_000} if family == "atari" else {}),
    }
    for family, values in PRESETS.items()
}


def make_vec_env(args: Args) -> VecEnv:
    """`num_envs` copies of the pipeline, rewards clipped and life loss ended in the env (SB3
    learns from what the env returns), with RecordEpisodeStatistics under it."""
    # A DQN/... id gets its pipeline again with these (make_dqn_env), as any other id.
    options = {"clip_rewards": args.clip_rewards,
               "terminal_on_life_loss": args.terminal_on_life_loss}  # fmt: skip
    env_kwargs = pipeline_frameskip(args.env)  # frames skipped as in training and evaluation

    def make():
        return make_dqn_env(args.env, episode_statistics=True, env_kwargs=env_kwargs, **options)

    with usage_errors(args.env):
        envs = DummyVecEnv([make] * args.num_envs)
    envs = checked_discrete(args.env, envs, envs.action_space)
    checked_reset(envs, args.env)  # before SB3's own reset, which would not say what is wrong
    return envs


class RefillingDQN(DQN):
    """SB3's DQN, whose gradient steps can wait for a replay buffer refilling after a resume
    (`learn_from`, saved with the model) while it goes on acting with its policy, as agents.dqn
    does. SB3's own `learning_starts` would also have it act at random meanwhile."""

    learn_from = 0
    """no gradient step before this env step"""

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        if self.num_timesteps > self.learn_from:
            super().train(gradient_steps, batch_size)


def end_saved_episodes(buffer: ReplayBuffer) -> None:
    """Marks each env's newest transition in a replay buffer just loaded as truncated: the envs
    start new episodes on resume, and SB3's n-step returns would otherwise run on from it into
    them (its buffer guards the newest transition so only while sampling, and only until the
    next is added). A truncated transition bootstraps from its own next observation, so a
    1-step return is unchanged."""
    if buffer.pos == 0 and not buffer.full:
        return
    newest = (buffer.pos - 1) % buffer.buffer_size
    buffer.timeouts[newest] = np.logical_or(buffer.timeouts[newest], buffer.dones[newest] == 0)


def build_model(args: Args, envs: VecEnv, device: torch.device | str) -> RefillingDQN:
    """SB3's DQN with `args`: the same network (Nature CNN, or the MLP of --mlp-hidden) and the
    same number of gradient steps per env step."""
    image = uses_cnn(envs.observation_space)
    set_cpu_threads(device, envs.observation_space)
    # train_frequency env steps per gradient step, exactly: SB3 trains every train_freq vector
    # steps (num_envs env steps each), gradient_steps at a time.
    common = math.gcd(args.num_envs, args.train_frequency)
    return RefillingDQN(
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


def read_state(checkpoint: Path) -> dict[str, Any]:
    """Our training state from an SB3 checkpoint of ours, or a UsageError."""
    try:
        with zipfile.ZipFile(checkpoint) as archive:
            return json.loads(archive.read(STATE_MEMBER))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise UsageError(
            f"{checkpoint} is not a readable SB3 checkpoint of agents.sb3_dqn ({error}); it may "
            "be corrupt"
        ) from None


class Run:
    """One SB3 training run: its model, episode history and logging, and its checkpoints."""

    def __init__(self, args: Args, run_dir: Path, model: DQN, tracker: EpisodeTracker) -> None:
        self.args, self.run_dir, self.model, self.episodes = args, run_dir, model, tracker
        self.saved_step: int | None = None

    def checkpoint(self, progress: Progress, *, stopping: bool = False) -> str:
        """SB3's zip with our state in it, and its replay buffer first with --save-buffer: the
        zip names the replay file, so the two always belong together."""
        model, step = self.model, self.model.num_timesteps
        replay = f"replay-{step:012d}.pkl" if self.args.save_buffer else None
        what = f"saved the checkpoint at step {step:,}"
        what += " with its replay buffer" if replay else ""
        if self.saved_step == step:
            return what + " (saved already)"
        check_finite(model.policy.parameters(), step)
        state = {"config": dataclasses.asdict(self.args), "episodes": self.episodes.state_dict(),
                 "wall_seconds": progress.wall_seconds(), "replay": replay}  # fmt: skip
        with signals_deferred(stopping=stopping):
            progress.flush()
            if replay:
                atomic_write(self.run_dir / replay, model.save_replay_buffer)
            data = io.BytesIO()
            model.save(data)
            with zipfile.ZipFile(data, "a") as archive:
                archive.writestr(STATE_MEMBER, json.dumps(state))
            atomic_write(self.run_dir / CHECKPOINT, lambda file: file.write(data.getvalue()))
            for old in self.run_dir.glob("replay-*.pkl"):
                if old.name != replay:
                    old.unlink()
        self.saved_step = step
        return what


class RunCallback(BaseCallback):
    """Our outputs from inside SB3's loop: TensorBoard, progress.csv, the progress bar, the
    periodic checkpoints."""

    def __init__(self, run: Run, wall_before: float) -> None:
        super().__init__()
        self.run, self.wall_before = run, wall_before

    def _on_training_start(self) -> None:
        args = self.run.args
        self.progress = Progress(
            self.run.run_dir,
            self.run.episodes,
            step=self.num_timesteps,
            total_steps=args.total_timesteps,
            log_frequency=args.log_frequency,
            wall_before=self.wall_before,
        )
        self.checkpoints = Schedule(self.num_timesteps, args.checkpoint_frequency)
        self.updates = self.model._n_updates

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            if "episode" in info:
                episode_return = float(info["episode"]["r"])
                self.run.episodes.record(episode_return)
                self.progress.episode(self.num_timesteps, episode_return, int(info["episode"]["l"]))
        if self.model._n_updates > self.updates:  # SB3 trained since the last step
            loss = self.model.logger.name_to_value.get("train/loss", math.nan)
            self.progress.losses(loss, math.nan, self.model._n_updates - self.updates)
            self.updates = self.model._n_updates
        self.progress.step(self.num_timesteps, self.model.exploration_rate)
        return True

    def _on_rollout_end(self) -> None:
        """Between SB3's steps, where its state is whole: each step's transition is stored after
        `_on_step`, and a stop inside its gradient step or target update could leave either half
        done. So signals are held during `learn`, and a stop comes here."""
        if self.checkpoints.due(self.num_timesteps):
            self.run.checkpoint(self.progress)
        signum = held_signal()
        if signum is not None:
            raise Stop(signum)


class SB3Agent(Agent):
    def saved_config(self, checkpoint: Path) -> dict[str, Any]:
        return read_state(checkpoint)["config"]

    def _load(self, checkpoint: Path, **kwargs: Any) -> RefillingDQN:
        try:
            return RefillingDQN.load(checkpoint, **kwargs)
        except Exception as error:  # SB3 and torch raise many kinds for a damaged file
            raise UsageError(
                f"{checkpoint} is not a readable SB3 checkpoint ({type(error).__name__}); it "
                "may be corrupt"
            ) from None

    def train(self, args: Args, run_dir: Path, device: torch.device, resume: bool) -> Trained:
        envs = make_vec_env(args)
        tracker = EpisodeTracker(args.num_envs)
        wall_before = 0.0
        if resume:
            checkpoint = run_dir / CHECKPOINT
            state = read_state(checkpoint)
            model = self._load(
                checkpoint, env=envs, device=device,
                custom_objects={"learning_rate": args.learning_rate,
                                "lr_schedule": lambda _: args.learning_rate},
            )  # fmt: skip
            replay = state["replay"] and run_dir / state["replay"]
            if args.save_buffer and replay and replay.is_file():
                try:
                    model.load_replay_buffer(replay)
                except Exception as error:  # a pickle: damaged files raise many kinds
                    raise UsageError(
                        f"{replay} is not a readable SB3 replay buffer ({type(error).__name__}); "
                        "delete it to refill the buffer"
                    ) from None
                end_saved_episodes(model.replay_buffer)
            elif model.num_timesteps < args.total_timesteps:
                refilled = refill_note(model.num_timesteps, args.learning_starts)
                model.learn_from = max(model.learn_from, refilled)
            tracker.load_state_dict(state["episodes"])
            wall_before = state["wall_seconds"]
            pick_up_run(run_dir, model.num_timesteps, args.total_timesteps)
        else:
            model = build_model(args, envs, device)
        setup_backends(args.deterministic)  # over SB3's seeding, which sets cuDNN's flags its way
        learning_starts_note(args)
        start_step = model.num_timesteps
        print(f"sb3_dqn on {args.env}: {args.num_envs} env(s), device {model.device}",
              file=sys.stderr)  # fmt: skip
        run = Run(args, run_dir, model, tracker)
        callback = RunCallback(run, wall_before)
        try:
            with signals_deferred():  # a stop waits for the end of SB3's step (RunCallback)
                model.learn(
                    max(0, args.total_timesteps - start_step),
                    callback=callback,
                    reset_num_timesteps=not resume,
                )
            run.checkpoint(callback.progress)
        except KeyboardInterrupt as stop:  # a Stop signal, or Ctrl-C where no handler is set
            signum = stop_signal(stop)
            if not hasattr(callback, "progress"):  # before SB3 started training
                raise TrainingStopped(signum, "nothing new was saved") from None
            raise TrainingStopped(
                signum, run.checkpoint(callback.progress, stopping=True)
            ) from None
        finally:
            if hasattr(callback, "progress"):
                callback.progress.close()
            envs.close()
        wall = callback.progress.wall_seconds() - wall_before
        summary = training_summary(model.num_timesteps, start_step, wall_before, wall, tracker)
        summary["replay_bytes_per_transition"] = round(replay_bytes_per_transition(model), 1)
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
    def greedy(obs):
        return model.predict(obs, deterministic=True)[0]

    return q_policy(greedy, int(model.action_space.n))


AGENT_COMMAND = SB3Agent(
    name=AGENT,
    prog=PROG,
    description=sys.modules["agents.sb3_dqn"].__doc__,
    checkpoint_name=CHECKPOINT,
    config=Args,
    presets=SB3_PRESETS,
    validate=validate,
    unsupported=UNSUPPORTED,
    # SB3's saved model keeps the rest; a --learning-rate goes in through custom_objects.
    resume_changeable=frozenset(
        {"total_timesteps", "learning_rate", "log_frequency", "checkpoint_frequency", "save_buffer"}
    ),
)


def main(argv: list[str] | None = None) -> int:
    return run(AGENT_COMMAND, argv)
