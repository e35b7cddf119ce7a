"""Preprocessing wrappers: the DQN pipeline for pixel games, ours and Atari's.

    from wrappers import make_dqn_env
    env = make_dqn_env("ALE/Pong-v5")  # observations: uint8 (4, 84, 84)

`make_dqn_env(env_id, **options)` makes and wraps an env, `dqn_preprocessing(env, **options)` wraps
one you have, `make_dqn_vector_env(env_id, num_envs, **options)` makes N of them (ale-py's C++
vector env for ALE ids). They take ids as `gym.make` does: dqn-arcade's are registered by
`import registry` (or named "registry:Catch-v0"). `wrappers.resets` holds the wrappers Gymnasium
lacks.
"""

from wrappers.pipeline import (
    dqn_preprocessing,
    dqn_wrapper_plan,
    dqn_wrapper_specs,
    is_frame_stack,
    make_dqn_env,
    make_dqn_vector_env,
    pipeline_frameskip,
)
from wrappers.resets import EpisodicLife, FireReset, NoopReset

__all__ = [
    "EpisodicLife",
    "FireReset",
    "NoopReset",
    "dqn_preprocessing",
    "dqn_wrapper_plan",
    "dqn_wrapper_specs",
    "is_frame_stack",
    "make_dqn_env",
    "make_dqn_vector_env",
    "pipeline_frameskip",
]
