"""The envs agents train and evaluate on: an Atari game, ALE's or ours, is seen through the same
frames in both (4 frames a step, the max of the last two), as ale-py's vector env gives them."""

from __future__ import annotations

import gymnasium as gym
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
