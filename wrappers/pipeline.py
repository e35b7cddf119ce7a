"""The DQN preprocessing pipeline: one function picks the right wrapper stack for any env.

Pixel envs (ALE's and ours) come out as uint8 frame stacks of shape (4, 84, 84), channel first;
vector observations (Catch's grid) pass through untouched but for their dtype (float32). The stack
is the standard one (Mnih et al. 2015, as CleanRL and SB3 apply it): random no-op starts, a 4-frame
skip with a max over the last two frames, a lost life ends the training episode, FIRE on reset where
the game has FIRE, grayscale, 84x84, rewards clipped to [-1, 1], 4 frames stacked. Gymnasium's
wrappers do the work wherever they can; `wrappers.resets` adds what it lacks.

Frame skip is never applied twice: ALE's v5 ids (and Kaboom-v0) already skip 4 frames inside the
emulator, so they get no wrapper skip (and no max-pooling: make them with `frameskip=1`,
`env_kwargs=pipeline_frameskip(env_id)`, to have both from the pipeline, as the agents do); ids
without skip (`*NoFrameskip-v4`, `KaboomNoFrameskip-v0`) get `AtariPreprocessing`'s. Kaboom-v0
has ALE's interface (`KaboomEnv.ale`, ALE's grayscale), so everything here treats it as an ALE env.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import gymnasium as gym
import numpy as np
from ale_py import AtariEnv
from gymnasium import spaces
from gymnasium.envs.registration import EnvSpec, WrapperSpec, load_env_creator
from gymnasium.utils import RecordConstructorArgs
from gymnasium.wrappers import (
    AtariPreprocessing,
    ClipReward,
    DtypeObservation,
    FrameStackObservation,
    GrayscaleObservation,
    MaxAndSkipObservation,
    ResizeObservation,
)

from wrappers.resets import EpisodicLife, FireReset, NoopReset, action_meanings, env_name

SCREEN_SIZE = 84
FRAME_STACK = 4
FRAME_SKIP = 4
NOOP_MAX = 30

# The ALE env arguments that make_dqn_vector_env hands on to AtariVectorEnv.
_ATARI_VECTOR_ENV_KWARGS = {
    "repeat_action_probability",
    "max_num_frames_per_episode",
    "full_action_space",
}

Plan = list[tuple[type[gym.Wrapper], dict[str, Any]]]


class Resize(ResizeObservation):
    """Gymnasium's `ResizeObservation`, but its spec survives JSON: an EnvSpec read back from JSON
    has lists where it had tuples, and Gymnasium's refuses a list `shape`. This one takes either
    and records a list, so a spec equals its own JSON round trip."""

    def __init__(self, env: gym.Env, shape: tuple[int, int] | list[int]) -> None:
        super().__init__(env, tuple(shape))
        RecordConstructorArgs.__init__(self, shape=list(shape))


def _internal_frameskip(env: gym.Env) -> int:
    """Frames the env itself advances per step (ALE's `_frameskip`, our games' `frameskip`)."""
    unwrapped = env.unwrapped
    skip = getattr(unwrapped, "_frameskip", getattr(unwrapped, "frameskip", 1))
    return skip if isinstance(skip, int) else 1


def _plays_in_frames(env: gym.Env) -> bool:
    """Whether the env is an Atari game, ALE's or ours (Kaboom-v0): one with a frame skip, played
    4 frames a step. Catch has no frames to skip."""
    unwrapped = env.unwrapped
    return isinstance(unwrapped, AtariEnv) or hasattr(unwrapped, "frameskip")


def _speaks_ale(env_or_class: Any) -> bool:
    """Whether an unwrapped env, or an env class, has ALE's interface: ale-py's `AtariEnv`, or one
    with an `ale` of its own like Kaboom's, which also takes ALE's `obs_type="grayscale"`."""
    is_atari_class = isinstance(env_or_class, type) and issubclass(env_or_class, AtariEnv)
    return is_atari_class or hasattr(env_or_class, "ale")


def _has_lives(env: gym.Env) -> bool:
    unwrapped = env.unwrapped
    if isinstance(unwrapped, AtariEnv):
        return unwrapped.ale.lives() > 0
    return hasattr(unwrapped, "lives")


def _is_image(space: spaces.Box, ale: bool) -> bool:
    """Whether an env's own observations are frames for the pipeline to preprocess: RGB frames
    (H, W, 3), and 2-D uint8 boxes only for the grayscale obs_type of ALE or Kaboom (a Catch grid
    is 2-D uint8 too, and must not be resized)."""
    shape = space.shape
    if space.dtype != np.uint8:
        return False
    return (len(shape) == 3 and shape[-1] == 3) or (ale and len(shape) == 2)


def is_frame_stack(space: spaces.Space) -> bool:
    """Whether `space` is what the pipeline makes of frames: uint8 stacks (k, height, width), the
    oldest frame first. Agents pick a CNN for them, and replay buffers store each frame once."""
    return isinstance(space, spaces.Box) and space.dtype == np.uint8 and len(space.shape) == 3


def dqn_wrapper_plan(
    env: gym.Env,
    *,
    noop_max: int = NOOP_MAX,
    frame_skip: int | None = None,
    screen_size: int | None = None,
    frame_stack: int = FRAME_STACK,
    terminal_on_life_loss: bool = True,
    fire_reset: bool | None = None,
    clip_rewards: bool = True,
) -> Plan:
    """The wrappers (class, kwargs), innermost first, that `dqn_preprocessing` applies to `env`.

    `None` means "what suits the env": `frame_skip` 4 for an Atari game (ALE's or Kaboom-v0) that
    does not skip, else 1; `screen_size` 84; `fire_reset` when action 1 is FIRE. Raises ValueError
    for what cannot apply.
    """
    name = env_name(env)
    space = env.observation_space
    if not isinstance(space, spaces.Box):
        raise ValueError(
            f"DQN preprocessing needs a Box observation space; {name} has {space}. "
            "Flatten or select its observation first."
        )
    ale = _speaks_ale(env.unwrapped)
    if not _is_image(space, ale):
        pixel_options = {"frame_skip": frame_skip, "screen_size": screen_size}
        given = [option for option, value in pixel_options.items() if value is not None]
        if given:
            raise ValueError(
                f"{', '.join(given)} applies to image observations, and {name} observes a "
                f"{space.dtype} array of shape {space.shape}: drop {', '.join(given)}, or make "
                "the env with image observations (Catch: obs_type='pixels')."
            )
        return [(DtypeObservation, {"dtype": "float32"})]

    meanings = action_meanings(env)
    size = SCREEN_SIZE if screen_size is None else screen_size
    internal_skip = _internal_frameskip(env)
    if frame_skip is None:
        frame_skip = FRAME_SKIP if _plays_in_frames(env) and internal_skip == 1 else 1
    elif frame_skip > 1 and internal_skip > 1:
        raise ValueError(
            f"{name} already skips {internal_skip} frames a step; frame_skip={frame_skip} on top "
            f"would make it {internal_skip * frame_skip}. Drop frame_skip, or make the env with "
            "frameskip=1."
        )
    if fire_reset is None:
        fire_reset = meanings[1:2] == ["FIRE"] and len(meanings) >= 3

    # An env with ALE's interface that does not skip gets Gymnasium's AtariPreprocessing for the
    # frame work.
    atari_preprocessing = ale and internal_skip == 1
    plan: Plan = []
    if atari_preprocessing:
        # Gymnasium's own: no-op starts, skip with a max over the last two frames, grayscale
        # straight from the emulator and resize, in one wrapper. Its life-loss option resets the
        # whole game, so EpisodicLife does that part.
        plan.append(
            (
                AtariPreprocessing,
                {
                    "noop_max": noop_max,
                    "frame_skip": frame_skip,
                    "screen_size": size,
                    "terminal_on_life_loss": False,
                    "grayscale_obs": True,
                    "scale_obs": False,
                },
            )
        )
    else:
        if noop_max > 0 and meanings[:1] == ["NOOP"]:
            plan.append((NoopReset, {"noop_max": noop_max}))
        if frame_skip > 1:
            plan.append((MaxAndSkipObservation, {"skip": frame_skip}))
    if terminal_on_life_loss and _has_lives(env):
        plan.append((EpisodicLife, {}))
    if fire_reset:
        plan.append((FireReset, {}))
    if not atari_preprocessing:
        if len(space.shape) == 3:
            plan.append((GrayscaleObservation, {"keep_dim": False}))
        if space.shape[:2] != (size, size):
            plan.append((Resize, {"shape": [size, size]}))
    if clip_rewards:
        plan.append((ClipReward, {"min_reward": -1.0, "max_reward": 1.0}))
    plan.append((FrameStackObservation, {"stack_size": frame_stack, "padding_type": "reset"}))
    return plan


def dqn_preprocessing(env: gym.Env, **options: Any) -> gym.Env:
    """Wraps an env you already have in the DQN pipeline; options as for `dqn_wrapper_plan`."""
    for wrapper, kwargs in dqn_wrapper_plan(env, **options):
        env = wrapper(env, **kwargs)
    return env


def dqn_wrapper_specs(env: gym.Env, **options: Any) -> tuple[WrapperSpec, ...]:
    """The pipeline for `env` as `WrapperSpec`s, for an EnvSpec's `additional_wrappers`."""
    return tuple(
        WrapperSpec(wrapper.__name__, f"{wrapper.__module__}:{wrapper.__name__}", kwargs)
        for wrapper, kwargs in dqn_wrapper_plan(env, **options)
    )


def _spec(env_id: str | EnvSpec) -> EnvSpec:
    """`gym.spec(env_id)`, or a ValueError that adds how dqn-arcade's ids get registered."""
    if isinstance(env_id, EnvSpec):
        return env_id
    try:
        return gym.spec(env_id)
    except gym.error.Error as error:
        raise ValueError(
            f"{error} dqn-arcade's ids are registered by `import registry` (or pass "
            f"'registry:{env_id}'); ale-py's ALE/... ids by `import ale_py`."
        ) from None


def _as_made(env_id: str, options: dict[str, Any]) -> tuple[str | EnvSpec, bool]:
    """What to make for `env_id` with `options`, and whether it comes preprocessed. An id
    registered with the pipeline (the `DQN/...` ids) comes as registered; given options, its
    pipeline is built again, with them, on the same game: its spec without the wrappers."""
    spec = _spec(env_id)
    if not spec.additional_wrappers:
        return env_id, False
    if not options:
        return env_id, True
    return dataclasses.replace(spec, additional_wrappers=()), False


def make_dqn_env(
    env_id: str,
    *,
    render_mode: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
    episode_statistics: bool = False,
    **options: Any,
) -> gym.Env:
    """`gym.make(env_id)` wrapped in the DQN pipeline (options as for `dqn_wrapper_plan`).

    ALE envs, and Kaboom's, are made with `obs_type="grayscale"` (the game's own grayscale, ALE's,
    costs less than converting RGB) unless `env_kwargs` or the id's registration names an
    obs_type. Ids registered preprocessed (`DQN/...`) are made as they are, or given options, as
    their base game (the same kwargs) through the pipeline with those options. With
    `episode_statistics`, Gymnasium's RecordEpisodeStatistics goes under the pipeline, so
    `info["episode"]` reports whole games with unclipped scores (for `DQN/...` ids, whose
    pipeline is fixed, it goes on top).
    """
    kwargs = dict(env_kwargs or {})
    env_id, preprocessed = _as_made(env_id, options)
    if preprocessed:
        env = gym.make(env_id, render_mode=render_mode, **kwargs)
        return gym.wrappers.RecordEpisodeStatistics(env) if episode_statistics else env
    env = gym.make(env_id, render_mode=render_mode, **_with_ale_grayscale(env_id, kwargs))
    if episode_statistics:
        env = gym.wrappers.RecordEpisodeStatistics(env)
    return dqn_preprocessing(env, **options)


def pipeline_frameskip(env_id: str) -> dict[str, Any]:
    """env_kwargs that leave an Atari game's frame skip to the pipeline: `{"frameskip": 1}` for an
    id with ALE's interface (ale-py's, Kaboom-v0) that is not registered preprocessed, else `{}`.

    Made so, `make_dqn_env` gives it `AtariPreprocessing`'s 4-frame skip with a max over the last
    two frames, the frames ale-py's `AtariVectorEnv` gives in `make_dqn_vector_env` (which takes
    this too); the game's own skip would show the last frame alone. An agent trained on one of
    these frames and evaluated on the other loses most of its score (docs/results.md, Kaboom)."""
    spec = _spec(env_id)
    return {"frameskip": 1} if _registers_ale(spec) and not spec.additional_wrappers else {}


def _with_ale_grayscale(env_id: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """`kwargs` with `obs_type="grayscale"` for an env with ALE's interface, unless they or the
    id's registration name an obs_type (an id registered with `obs_type="state"` keeps it)."""
    spec = _spec(env_id)
    if "obs_type" in kwargs or "obs_type" in spec.kwargs:
        return kwargs
    return {"obs_type": "grayscale", **kwargs} if _registers_ale(spec) else kwargs


def _registers_ale(spec: EnvSpec) -> bool:
    """Whether the env class `spec` registers has ALE's interface (`_speaks_ale`)."""
    entry_point = spec.entry_point
    return isinstance(entry_point, str) and _speaks_ale(load_env_creator(entry_point))


def make_dqn_vector_env(
    env_id: str,
    num_envs: int,
    *,
    vectorization_mode: str = "sync",
    env_kwargs: dict[str, Any] | None = None,
    **options: Any,
) -> gym.vector.VectorEnv:
    """N preprocessed envs stepped together, with the contract of `make_dqn_env`.

    ALE ids run in ale-py's C++ `AtariVectorEnv` (threads, preprocessing built in) rather than N
    Python envs. Envs with a batched vector env and vector observations (Catch's grid) use it, with
    the dtype conversion; others are `gym.make_vec` (`vectorization_mode` "sync" or "async") with
    the pipeline on each env.
    """
    from ale_py.vector_env import AtariVectorEnv

    spec = _spec(env_id)
    kwargs = dict(env_kwargs or {})
    unknown = sorted(set(options) - set(inspect.signature(dqn_wrapper_plan).parameters))
    if unknown:
        raise ValueError(f"Unknown DQN preprocessing options {unknown}; see dqn_wrapper_plan.")
    if spec.entry_point == "ale_py.env:AtariEnv":
        if kwargs.get("frameskip") == 1:  # `pipeline_frameskip`'s: AtariVectorEnv skips with a max
            del kwargs["frameskip"]
        unsupported = sorted(set(kwargs) - _ATARI_VECTOR_ENV_KWARGS)
        if unsupported:
            raise ValueError(
                f"ale-py's AtariVectorEnv cannot take env_kwargs {unsupported} for {env_id}; "
                f"it takes {sorted(_ATARI_VECTOR_ENV_KWARGS)}."
            )
        ale_kwargs = {**spec.kwargs, **kwargs}
        screen_size = options.get("screen_size") or SCREEN_SIZE
        return AtariVectorEnv(
            ale_kwargs["game"],
            num_envs,
            # An agent step is 4 frames for v5 and NoFrameskip-v4 ids alike, as in make_dqn_env.
            frameskip=options.get("frame_skip") or FRAME_SKIP,
            repeat_action_probability=ale_kwargs["repeat_action_probability"],
            max_num_frames_per_episode=ale_kwargs["max_num_frames_per_episode"],
            full_action_space=ale_kwargs["full_action_space"],
            noop_max=options.get("noop_max", NOOP_MAX),
            episodic_life=options.get("terminal_on_life_loss", True),
            reward_clipping=options.get("clip_rewards", True),
            # AtariVectorEnv presses FIRE only in games that have it.
            use_fire_reset=options.get("fire_reset") is not False,
            stack_num=options.get("frame_stack", FRAME_STACK),
            img_height=screen_size,
            img_width=screen_size,
        )
    env_id, preprocessed = _as_made(env_id, options)
    if preprocessed:
        return gym.make_vec(env_id, num_envs, vectorization_mode=vectorization_mode, **kwargs)
    kwargs = _with_ale_grayscale(env_id, kwargs)
    probe = gym.make(env_id, **kwargs)
    plan = dqn_wrapper_plan(probe, **options)
    probe.close()
    if spec.vector_entry_point is not None and plan == [(DtypeObservation, {"dtype": "float32"})]:
        envs = gym.make_vec(env_id, num_envs=num_envs, **kwargs)
        # Gymnasium's vector DtypeObservation converts sub-env by sub-env and stacks the results
        # again, a cost per sub-env per step; one astype on the batch is one call.
        single = envs.single_observation_space
        return gym.wrappers.vector.TransformObservation(
            envs,
            lambda obs: obs.astype(np.float32),
            single_observation_space=spaces.Box(single.low, single.high, single.shape, np.float32),
        )
    return gym.make_vec(
        env_id,
        num_envs=num_envs,
        vectorization_mode=vectorization_mode,
        wrappers=[lambda env: dqn_preprocessing(env, **options)],
        **kwargs,
    )
