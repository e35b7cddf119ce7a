"""The loop stores exactly what a NEXT_STEP vector env gave: the reset rows masked and not
counted, a lost life terminal for learning, rewards clipped for learning and not in the logged
returns, and each row's target bootstrapped from its true next state (a truncated episode's
final observation, through the reset row's acting pass)."""

from __future__ import annotations

import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from agents.pqn import loop as pqn

OBS = spaces.Box(-np.inf, np.inf, (3,), np.float32)


class ScriptedVectorEnv(VectorEnv):
    """N envs whose observation names itself: (env, episode, step). Episodes of 1-6 steps end by
    termination or truncation, lives drop now and then, rewards are -2, 0 or 3; the step after an
    episode ends only resets (NEXT_STEP). Every transition is logged by its observation."""

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int) -> None:
        self.num_envs = num_envs
        self.single_observation_space = OBS
        self.observation_space = batch_space(OBS, num_envs)
        self.single_action_space = spaces.Discrete(3)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.rng = np.random.default_rng(0)
        self.transitions: dict[tuple, dict] = {}
        self.episode_returns: list[float] = []

    def _start(self, i: int) -> None:
        self.episode[i] += 1
        self.t[i], self.lives[i], self.total[i] = 0, 3, 0.0
        self.left[i] = self.rng.integers(1, 7)

    def _obs(self) -> np.ndarray:
        ids = np.arange(self.num_envs)
        return np.stack([ids, self.episode, self.t], axis=1).astype(np.float32)

    def reset(self, *, seed=None, options=None):
        n = self.num_envs
        self.episode, self.t = np.full(n, -1), np.zeros(n, dtype=int)
        self.lives, self.left, self.total = (
            np.zeros(n, dtype=int),
            np.zeros(n, dtype=int),
            [0.0] * n,
        )
        self.restarting = np.zeros(n, dtype=bool)
        for i in range(n):
            self._start(i)
        return self._obs(), {"lives": self.lives.copy()}

    def step(self, actions):
        n = self.num_envs
        before, acting = self._obs(), ~self.restarting
        rewards = np.zeros(n, dtype=np.float32)
        terminated, truncated = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        lost = np.zeros(n, dtype=bool)
        for i in range(n):
            if self.restarting[i]:  # NEXT_STEP: this step only resets; the action is ignored
                self.restarting[i] = False
                self._start(i)
                continue
            self.left[i] -= 1
            over = self.left[i] == 0
            terminated[i] = over and self.rng.random() < 0.5
            truncated[i] = over and not terminated[i]
            lost[i] = self.lives[i] > 1 and self.rng.random() < 0.2
            self.lives[i] -= lost[i]
            rewards[i] = self.rng.choice([-2.0, 0.0, 3.0])
            self.total[i] += rewards[i]
            self.t[i] += 1
            self.restarting[i] = over
            if over:
                self.episode_returns.append(self.total[i])
        after = self._obs()
        for i in np.flatnonzero(acting):
            self.transitions[tuple(before[i])] = {
                "action": int(actions[i]),
                "reward": float(rewards[i]),
                "terminal": bool(terminated[i] or lost[i]),
                "truncated": bool(truncated[i]),
                "life_lost": bool(lost[i]),
                "next_obs": after[i].copy(),
            }
        return after, rewards, terminated, truncated, {"lives": self.lives.copy()}


def test_the_rollout_holds_the_transitions_and_each_target_its_true_next_state(
    monkeypatch, tmp_path
):
    envs = ScriptedVectorEnv(3)
    monkeypatch.setattr(pqn, "make_train_envs", lambda env_id, num_envs: envs)
    args = pqn.Args(env="CartPole-v1", num_envs=3, num_steps=5, update_epochs=1,
                    num_minibatches=3, q_lambda=0.0, gamma=0.9, total_timesteps=150,
                    log_frequency=50, mlp_hidden=(8,), seed=0)  # fmt: skip
    trainer = pqn.Trainer(args, tmp_path, torch.device("cpu"))
    checked = {"rows": 0, "reset rows": 0, "truncated": 0, "life lost": 0}
    update = trainer.learner.update

    def checked_update(rollout, returns):
        # With lambda 0 each target is r + gamma * max Q(s') of its true next state, by the
        # network that acted (it has not changed since).
        for t, n in np.ndindex(rollout.actions.shape):
            obs = rollout.obs[t, n].numpy()
            if not rollout.valid[t, n]:
                checked["reset rows"] += 1
                continue
            truth = envs.transitions[tuple(obs)]
            assert rollout.actions[t, n] == truth["action"]
            assert rollout.rewards[t, n] == np.clip(truth["reward"], -1, 1)
            assert rollout.terminations[t, n] == truth["terminal"]
            assert rollout.truncations[t, n] == truth["truncated"]
            next_value = trainer.learner.q_values(torch.from_numpy(truth["next_obs"][None])).max()
            expected = rollout.rewards[t, n] + 0.9 * (1 - truth["terminal"]) * next_value
            torch.testing.assert_close(returns[t, n], expected)
            checked["rows"] += 1
            checked["truncated"] += truth["truncated"] and not truth["terminal"]
            checked["life lost"] += truth["life_lost"]
        return update(rollout, returns)

    trainer.learner.update = checked_update
    summary = trainer.train()

    assert summary["total_steps"] == trainer.global_step == checked["rows"]
    assert len(envs.transitions) == checked["rows"]  # each transition stored once, none missing
    assert checked["reset rows"] > 10 and checked["truncated"] > 5 and checked["life lost"] > 5
    # The logged returns are whole episodes with the env's own rewards, not clipped.
    ended = envs.episode_returns[: summary["train_episodes"]]
    assert list(trainer.episodes.recent) == ended[-100:]
    assert any(abs(value) > 1 for value in ended)
