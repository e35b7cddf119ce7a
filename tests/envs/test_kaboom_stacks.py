"""Kaboom-v0 in the Atari stacks people use, the real ones: Stable-Baselines3's `make_atari_env`
(its `AtariWrapper`, as rl-zoo3 runs every Atari game) with `VecFrameStack` and `DQN("CnnPolicy")`,
and Gymnasium's `AtariPreprocessing`; each beside the same stack on ALE/Kaboom-v5."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation
from stable_baselines3 import DQN
from stable_baselines3.common.atari_wrappers import AtariWrapper
from stable_baselines3.common.env_util import make_atari_env
from stable_baselines3.common.vec_env import VecFrameStack

from envs.kaboom import FIRE, NOOP
from wrappers import make_dqn_env

# What ALE's NoFrameskip-v4 ids pass, which a user gives ALE/Kaboom-v5 and Kaboom-v0 alike.
NO_FRAMESKIP = {"frameskip": 1, "repeat_action_probability": 0.0}
GAMES = ["ALE/Kaboom-v5", "Kaboom-v0"]


@pytest.fixture
def one_torch_thread():
    """One torch thread while a CNN trains: on a machine of two shared cores a second thread that
    waits for a busy core makes each update many times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_sb3_dqn_cnn_trains_on_kaboom_noframeskip(one_torch_thread):
    envs = VecFrameStack(make_atari_env("KaboomNoFrameskip-v0", n_envs=1, seed=0), n_stack=4)
    assert envs.observation_space == gym.spaces.Box(0, 255, (84, 84, 4), np.uint8)
    model = DQN(
        "CnnPolicy",
        envs,
        buffer_size=500,
        learning_starts=100,
        train_freq=4,
        batch_size=16,
        device="cpu",
        seed=0,
    )
    model.learn(total_timesteps=300)
    assert model.num_timesteps == 300 and model._n_updates >= 40  # gradient steps were taken
    action, _ = model.predict(envs.reset(), deterministic=True)
    assert envs.action_space.contains(int(action[0]))
    envs.close()


def test_sb3_atari_wrapper_ends_a_training_episode_at_a_lost_bucket_and_the_game_goes_on():
    # The call of the report: make_atari_env on Kaboom-v0 made without frame skip.
    envs = make_atari_env("Kaboom-v0", n_envs=1, seed=0, env_kwargs=NO_FRAMESKIP)
    game = envs.envs[0].unwrapped
    envs.reset()
    assert game.ale.lives() == 3
    lives_at_ends, frames_at_ends = [], []
    for _ in range(3_000):  # about 1,000 steps with the fix; without it, waiting for FIRE
        # The buckets stand still and miss; the wrapper's FIRE on reset starts each group.
        _, _, dones, infos = envs.step(np.array([NOOP]))
        if dones[0]:
            # Monitor, under AtariWrapper, reports an episode only when the whole game ends.
            lives_at_ends.append(0 if "episode" in infos[0] else game.ale.lives())
            frames_at_ends.append(game.ale.getEpisodeFrameNumber())
            if len(lives_at_ends) == 3:
                break
    # A bucket lost ends a training episode; the reset after it plays on (a NOOP, then FIRE) until
    # the last bucket goes, and only then is the game reset.
    assert lives_at_ends == [2, 1, 0]
    assert frames_at_ends[0] < frames_at_ends[1]
    assert game.ale.lives() == 3 and game.ale.getEpisodeFrameNumber() < frames_at_ends[1]
    envs.close()


def test_sb3_atari_wrapper_reads_lives_from_ale_as_info_reports_them():
    env = AtariWrapper(gym.make("KaboomNoFrameskip-v0"), noop_max=0)
    _, info = env.reset(seed=0)
    terminated = False
    while not terminated:
        _, _, terminated, truncated, info = env.step(FIRE)
        assert not truncated
    assert info["lives"] == env.unwrapped.ale.lives() == 2 and not env.unwrapped.ale.game_over()


def test_gymnasium_atari_preprocessing_gives_84x84_uint8_frames():
    env = AtariPreprocessing(gym.make("Kaboom-v0", frameskip=1))  # the call of the report
    assert env.observation_space == gym.spaces.Box(0, 255, (84, 84), np.uint8)
    obs, info = env.reset(seed=0)
    assert obs.shape == (84, 84) and obs.dtype == np.uint8
    assert 1 <= info["episode_frame_number"] <= 30  # its no-op starts
    _, _, _, _, after = env.step(FIRE)
    assert after["episode_frame_number"] - info["episode_frame_number"] == 4  # its frame skip
    obs, *_ = env.step(NOOP)
    assert env.observation_space.contains(obs)


def test_gymnasium_terminal_on_life_loss_ends_the_episode_at_a_lost_bucket():
    env = AtariPreprocessing(gym.make("Kaboom-v0", frameskip=1), terminal_on_life_loss=True)
    env.reset(seed=0)
    terminated = False
    while not terminated:
        _, _, terminated, truncated, info = env.step(FIRE)
        assert not truncated
    ale = env.unwrapped.ale
    assert info["lives"] == ale.lives() == 2 and not ale.game_over()  # the game would go on
    # Gymnasium's wrapper, on ALE's games as here, starts a new game at the next reset.
    _, info = env.reset()
    assert info["lives"] == 3 and ale.getEpisodeFrameNumber() <= 30


def _sb3_stack(env_id: str):
    envs = VecFrameStack(make_atari_env(env_id, seed=0, env_kwargs=NO_FRAMESKIP), n_stack=4)
    return envs, envs.reset(), envs.envs[0].unwrapped


def _gymnasium_stack(env_id: str):
    env = FrameStackObservation(AtariPreprocessing(gym.make(env_id, frameskip=1)), 4)
    return env, env.reset(seed=0)[0], env.unwrapped


def _dqn_arcade_stack(env_id: str):
    env = make_dqn_env(env_id)
    return env, env.reset(seed=0)[0], env.unwrapped


# Each stack, and how to take its newest frame out of an observation.
STACKS = {
    "sb3 make_atari_env + VecFrameStack": (_sb3_stack, lambda obs: obs[0, ..., -1]),
    "gymnasium AtariPreprocessing + FrameStackObservation": (_gymnasium_stack, lambda obs: obs[-1]),
    "dqn-arcade make_dqn_env": (_dqn_arcade_stack, lambda obs: obs[-1]),
}


@pytest.mark.parametrize("stack", list(STACKS))
def test_the_same_stack_on_ales_kaboom_and_ours_observes_and_acts_alike(stack):
    """Spaces, observation shape, dtype and range, action meanings, and the frame after reset where
    the games' screens are the same: the border, wall and score (rows 0 to 18 of the screen, rows
    0 to 6 of the 84x84 frame), pixel for pixel.

    Left out, as the games depart there: the rest of the frame (ALE's reset starts play, ours
    waits for FIRE, so after the pipeline's no-ops the bomber and bombs stand elsewhere: KaboomEnv's
    Version History) and the rows under the playfield (ALE's Activision logo, left out here)."""
    make, newest_frame = STACKS[stack]
    (theirs, their_obs, their_game), (ours, our_obs, our_game) = (make(game) for game in GAMES)
    assert ours.observation_space == theirs.observation_space
    assert our_obs.shape == their_obs.shape and our_obs.dtype == their_obs.dtype == np.uint8
    assert ours.observation_space.contains(our_obs[0] if our_obs.ndim == 4 else our_obs)
    assert our_game.get_action_meanings() == their_game.get_action_meanings()
    np.testing.assert_array_equal(newest_frame(our_obs)[:7], newest_frame(their_obs)[:7])
    assert newest_frame(our_obs).max() > 100 and newest_frame(our_obs).min() == 0  # not blank
    ours.close()
    theirs.close()
