"""The envs an agent trains and evaluates on, built by the wrappers package's DQN pipeline.

Training envs come without reward clipping and without life loss as episode end: the agent clips
the rewards it learns from and treats a lost life as terminal itself, so the episodes it logs are
whole games with their real scores (what CleanRL and SB3 report too), and one pipeline serves
ale-py's vector env and Gymnasium's alike.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

import registry  # noqa: F401  (our ids, and ale-py's)
from agents.common.cli import UsageError
from agents.common.networks import uses_cnn
from wrappers import make_dqn_env, make_dqn_vector_env, pipeline_frameskip

# Options for the pipeline that leave reward clipping and life loss to the agent, so that the
# returns it logs and evaluates are whole games with their real scores (a `DQN/...` id gets its
# pipeline again on its game, without them: `make_dqn_env`).
_AGENT_SIDE = {"clip_rewards": False, "terminal_on_life_loss": False}


def checked_env_id(env_id: str) -> str:
    """The id Gymnasium registered `env_id` under (after `import registry`; a "module:" prefix,
    as `gym.make` takes, is imported and dropped), else a UsageError."""
    module, _, name = env_id.rpartition(":")
    try:
        if module:
            importlib.import_module(module)
        return gym.spec(name).id
    except ImportError:
        raise UsageError(f"cannot import {module!r}, named in the env id {env_id!r}") from None
    except gym.error.Error as error:
        hint = str(error).partition("Did you mean: ")[2].rstrip("?")
        hint = f"did you mean {hint}? " if hint else ""
        raise UsageError(
            f"unknown env id {env_id!r}; {hint}`python -m registry` lists ours, and ale-py "
            "provides ALE/<Game>-v5 ids such as ALE/Pong-v5"
        ) from None


@contextmanager
def usage_errors(env_id: str) -> Iterator[None]:
    """A missing optional dependency (Box2D, MuJoCo, ...), a missing file (Mario's ROM), or an
    env the DQN pipeline cannot take (a ValueError saying why) becomes a UsageError."""
    try:
        yield
    except (gym.error.DependencyNotInstalled, FileNotFoundError, ValueError) as error:
        raise UsageError(f"{env_id} cannot be used here: {error}") from None


def checked_reset(envs: Any, env_id: str, **kwargs: Any) -> Any:
    """`envs.reset(**kwargs)` (an env or a vector env), with `usage_errors`: some envs read
    their files only then (Mario's ROM)."""
    with usage_errors(env_id):
        return envs.reset(**kwargs)


def make_train_envs(env_id: str, num_envs: int) -> gym.vector.VectorEnv:
    """`num_envs` preprocessed copies of `env_id` in a vector env (autoreset on the next step)."""
    with usage_errors(env_id):
        envs = make_dqn_vector_env(
            env_id, num_envs, env_kwargs=pipeline_frameskip(env_id), **_AGENT_SIDE
        )
    return checked_discrete(env_id, envs, envs.single_action_space)


def train_spaces(env_id: str) -> tuple[spaces.Box, int]:
    """What a network for `env_id`'s training envs takes and gives: one env's observation space,
    and its number of actions."""
    envs = make_train_envs(env_id, 1)
    try:
        return envs.single_observation_space, int(envs.single_action_space.n)
    finally:
        envs.close()


def checked_discrete(env_id: str, envs: Any, action_space: spaces.Space) -> Any:
    """`envs` if `action_space` (one env's) is Discrete; else closes them, UsageError."""
    if not isinstance(action_space, spaces.Discrete):
        envs.close()
        raise UsageError(
            f"Q-learning needs a discrete action space, and {env_id} has {action_space}; "
            "pick an env with Discrete actions"
        )
    return envs


def check_env(env_id: str) -> spaces.Space:
    """The observation space an agent sees on `env_id` (through the pipeline), or a UsageError
    if it cannot train there: the env cannot be made or reset (a missing dependency or ROM), or
    its actions are not Discrete."""
    env = make_eval_env(env_id)
    checked_discrete(env_id, env, env.action_space)
    try:
        checked_reset(env, env_id, seed=0)
        return env.observation_space
    finally:
        env.close()


def is_ale(env_id: str) -> bool:
    return gym.spec(env_id).entry_point == "ale_py.env:AtariEnv"


def make_eval_env(env_id: str, render_mode: str | None = None) -> gym.Env:
    """One preprocessed `env_id` for evaluation: whole games, unclipped scores, frames skipped
    as in training (`pipeline_frameskip`)."""
    with usage_errors(env_id):
        return make_dqn_env(
            env_id,
            render_mode=render_mode,
            env_kwargs=pipeline_frameskip(env_id),
            **_AGENT_SIDE,
        )


def env_family(env_id: str) -> str:
    """Which preset suits `env_id`: "catch" for Catch, "atari" for pixel games, "mlp" for the
    rest (vector observations)."""
    if gym.spec(env_id).entry_point == "envs.catch:CatchEnv":
        return "catch"
    if is_ale(env_id):
        return "atari"
    env = make_eval_env(env_id)
    try:
        return "atari" if uses_cnn(env.observation_space) else "mlp"
    finally:
        env.close()


def vector_info(infos: dict[str, Any], key: str, num_envs: int) -> np.ndarray | None:
    """`infos[key]` of a vector env as an array over all slots, or None when no slot has it."""
    if key not in infos:
        return None
    return np.broadcast_to(np.asarray(infos[key]), (num_envs,)).copy()
