"""The training loop feeds the replay buffer exactly what a Gymnasium vector env gave: no
transition across an autoreset, a lost life terminal for learning, truncation bootstrapped."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from test_replay import STACKED, FakeStream, _find

from agents.dqn import loop as dqn


class LoggedVectorEnv(VectorEnv):
    """N streams of numbered frames with NEXT_STEP autoreset, lives that drop now and then, and
    episodes that end by termination or truncation; every transition is logged by its stream."""

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int) -> None:
        self.num_envs = num_envs
        self.single_observation_space = STACKED
        self.observation_space = batch_space(STACKED, num_envs)
        self.single_action_space = spaces.Discrete(3)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.streams = [FakeStream("zero", ident) for ident in range(num_envs)]
        self.rng = np.random.default_rng(0)
        self.restarting = np.zeros(num_envs, dtype=bool)
        self.lives = np.full(num_envs, 3)
        self.left = self.rng.integers(1, 15, size=num_envs)
        self.autoresets = 0

    def reset(self, *, seed=None, options=None):
        self.lives[:] = 3
        return np.stack([stream.reset() for stream in self.streams]), {"lives": self.lives.copy()}

    def step(self, actions):
        n = self.num_envs
        obs, rewards = [], np.zeros(n, dtype=np.float32)
        terminated, truncated = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        for i, stream in enumerate(self.streams):
            if self.restarting[i]:  # NEXT_STEP: this step only resets; the action is ignored
                self.restarting[i] = False
                self.lives[i] = 3
                self.left[i] = self.rng.integers(1, 15)
                self.autoresets += 1
                obs.append(stream.reset())
                continue
            over = self.left[i] == 1
            self.left[i] -= 1
            terminated[i] = over and self.rng.random() < 0.6
            truncated[i] = over and not terminated[i]
            lost = self.lives[i] > 1 and self.rng.random() < 0.15
            self.lives[i] -= lost
            rewards[i] = self.rng.integers(-1, 2)
            obs.append(stream.step(int(actions[i]), rewards[i], terminated[i] or lost, over))
            self.restarting[i] = over
        return np.stack(obs), rewards, terminated, truncated, {"lives": self.lives.copy()}


def test_the_loop_stores_exactly_the_transitions_the_vector_env_gave(monkeypatch, tmp_path):
    envs = LoggedVectorEnv(3)
    monkeypatch.setattr(dqn, "make_train_envs", lambda env_id, num_envs: envs)
    args = dqn.Args(num_envs=3, total_timesteps=240, learning_starts=120, batch_size=16,
                    buffer_size=3000, train_frequency=2, log_frequency=100, seed=0)  # fmt: skip
    trainer = dqn.Trainer(args, tmp_path, torch.device("cpu"))
    updates = []  # (env steps so far, gradient steps, loss, mean Q) of each call
    update = trainer.learner.update

    def logged_update(batch, steps):
        assert len(batch["actions"]) == args.batch_size * steps  # a whole batch for every step
        loss, q_mean = update(batch, steps)
        updates.append((trainer.global_step, steps, loss.item(), q_mean.item()))
        return loss, q_mean

    trainer.learner.update = logged_update
    env_steps_from = []  # the global step before each envs.step
    step = envs.step

    def logged_step(actions):
        env_steps_from.append(trainer.global_step)
        return step(actions)

    envs.step = logged_step
    summary = trainer.train()

    logged = sum(len(stream.transitions) for stream in envs.streams)
    assert envs.autoresets > 10  # many episodes ended and restarted
    assert summary["total_steps"] == trainer.global_step == logged  # no autoreset step counted
    # A gradient step at every train_frequency-th env step from learning_starts on, some of them
    # due together (3 envs step at once), taken before the envs step: so up to the step the last
    # envs.step started from.
    assert trainer.learner.gradient_steps == (env_steps_from[-1] - 120) // 2 + 1
    assert all(u[0] in env_steps_from for u in updates)
    assert any(steps > 1 for _, steps, _, _ in updates)
    # Each progress row averages the losses and Q-values of the gradient steps since the last:
    # those taken before the envs stepped on to the row's step.
    rows = np.genfromtxt(tmp_path / "progress.csv", delimiter=",", names=True)
    previous = 0
    for row in rows:
        window = [u for u in updates if previous <= u[0] < row["step"]]
        previous = row["step"]
        if not window:
            assert np.isnan(row["td_loss"])
            continue
        steps = np.array([u[1] for u in window])
        for column, index in (("td_loss", 2), ("q_values", 3)):
            expected = np.sum(steps * [u[index] for u in window]) / steps.sum()
            assert row[column] == pytest.approx(expected, rel=1e-5)
    batch = trainer.buffer.sample(512)
    for i in range(512):
        truth = _find(envs.streams, batch["obs"][i])
        assert batch["actions"][i] == truth["action"]
        assert batch["returns"][i] == truth["reward"]
        assert batch["discounts"][i] == (0.0 if truth["terminal"] else np.float32(args.gamma))
        np.testing.assert_array_equal(batch["next_obs"][i], truth["next_obs"])
    assert any(
        t["terminal"] and not t["over"] for s in envs.streams for t in s.transitions.values()
    )
