"""The envs agents train and evaluate on: an Atari game, ALE's or ours, is seen through the same
frames in both (4 frames a step, the max of the last two), as ale-py's vector env gives them."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from ale_py.vector_env import AtariVectorEnv
from gymnasium.wrappers import AtariPreprocessing

from agents.common.environments import make_eval_env, make_train_envs


def _pools_the_last_two_of_four_frames(env: gym.Env) -> bool:
    """Whether `env` is an Atari game made without its own skip under Gymnasium's
    AtariPreprocessing with a 4-frame skip, whose frames are the max of the last two."""
    skips = []
    while isinstance(env, gym.Wrapper):
        if isinstance(env, AtariPreprocessing):
            skips.append(env.frame_skip)
        env = env.env
    return skips == [4] and env.unwrapped._frameskip == 1


@pytest.mark.parametrize("env_id", ["ALE/Kaboom-v5", "Kaboom-v0"])
def test_an_atari_game_is_seen_as_ale_pools_its_frames_in_training_and_evaluation(env_id):
    """Kaboom-v0 was once trained and evaluated on its own skip's last frame, where ALE/Kaboom-v5
    was pooled: agents of either game lost most of their score on the other (docs/results.md)."""
    evaluation = make_eval_env(env_id)
    assert _pools_the_last_two_of_four_frames(evaluation)
    evaluation.close()
    training = make_train_envs(env_id, 1)
    if env_id.startswith("ALE/"):
        assert isinstance(training, AtariVectorEnv)  # it skips 4 and pools the last two itself
    else:
        assert _pools_the_last_two_of_four_frames(training.envs[0])
    training.close()


@pytest.mark.parametrize("make", [make_eval_env, lambda env_id: make_train_envs(env_id, 1)])
def test_a_preprocessed_id_plays_whole_games_with_real_scores_as_its_base_id(make):
    """DQN/Kaboom-v0 is registered with life loss and reward clipping; the agents, which clip and
    end episodes at a lost life themselves, see its game as Kaboom-v0's, step for step, and its
    episodes end only with the game."""
    ours, base = make("DQN/Kaboom-v0"), make("Kaboom-v0")
    game = (ours if isinstance(ours, gym.Env) else ours.envs[0]).unwrapped
    np.testing.assert_array_equal(ours.reset(seed=3)[0], base.reset(seed=3)[0])
    for action in np.random.default_rng(0).integers(0, 4, size=3_000):
        action = action if isinstance(ours, gym.Env) else np.array([action])
        ours_step, base_step = ours.step(action), base.step(action)
        for ours_value, base_value in zip(ours_step[:4], base_step[:4], strict=True):
            np.testing.assert_array_equal(ours_value, base_value)
        if np.any(ours_step[2]):
            break
    assert np.any(ours_step[2]) and game.ale.game_over()  # not a lost bucket: the game's end
    ours.close()
    base.close()
