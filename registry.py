"""The catalog of dqn-arcade: the one table of everything the package provides.

Importing this module registers every env below with Gymnasium and makes ale-py's `ALE/...` ids
available:

    import gymnasium as gym
    import registry

    env = gym.make("Catch-v0")

Gymnasium also imports it for you from a module-prefixed id, `gym.make("registry:Catch-v0")`,
which is what worker processes of `make_vec(..., vectorization_mode="async")` rely on.
Registration is idempotent: re-importing, `importlib.reload` and worker processes register each
id once and warn about nothing. `python -m registry` prints the catalog.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ale_py
import gymnasium as gym
from gymnasium.envs import registration
from gymnasium.envs.registration import EnvSpec, load_env_creator, namespace

from wrappers.pipeline import dqn_wrapper_specs


@dataclass(frozen=True)
class EnvEntry:
    """One env of the catalog: the arguments of `gymnasium.register`, plus a summary line."""

    id: str
    entry_point: str
    summary: str
    vector_entry_point: str | None = None
    max_episode_steps: int | None = None
    reward_threshold: float | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    dqn_preprocessed: bool = False
    """The spec carries the DQN pipeline (`wrappers.make_dqn_env`) as its additional_wrappers."""

    def spec(self) -> EnvSpec:
        additional_wrappers = ()
        if self.dqn_preprocessed:
            base = load_env_creator(self.entry_point)(**self.kwargs)
            additional_wrappers = dqn_wrapper_specs(base)
            base.close()
        return EnvSpec(
            id=self.id,
            entry_point=self.entry_point,
            # gym.make_vec cannot put additional wrappers on a batched vector env.
            vector_entry_point=None if self.dqn_preprocessed else self.vector_entry_point,
            max_episode_steps=self.max_episode_steps,
            reward_threshold=self.reward_threshold,
            kwargs=dict(self.kwargs),
            additional_wrappers=additional_wrappers,
        )


@dataclass(frozen=True)
class WrapperEntry:
    """One wrapper or pipeline function of the catalog."""

    name: str
    entry_point: str
    summary: str


ENVS: tuple[EnvEntry, ...] = (
    EnvEntry(
        id="Catch-v0",
        entry_point="envs.catch:CatchEnv",
        vector_entry_point="envs.catch:CatchVectorEnv",
        reward_threshold=0.9,
        summary="catch the falling fruit with a 3-cell basket; +1 caught, -1 missed, 9 steps",
    ),
    EnvEntry(
        id="DQN/Catch-v0",
        entry_point="envs.catch:CatchEnv",
        kwargs={"obs_type": "pixels"},
        dqn_preprocessed=True,
        reward_threshold=0.9,
        summary="Catch-v0 pixels through the DQN pipeline: 4 stacked 84x84 grayscale frames",
    ),
    EnvEntry(
        id="Kaboom-v0",
        entry_point="envs.kaboom:KaboomEnv",
        # ALE v5's cap, counted in frames as ALE does, so it holds at any frameskip (a
        # max_episode_steps would count steps, and change with the frameskip).
        kwargs={"max_num_frames_per_episode": 108_000},
        summary="Kaboom!: catch the Mad Bomber's bombs in 3 buckets; ALE/Kaboom-v5's interface",
    ),
    EnvEntry(
        id="KaboomNoFrameskip-v0",
        entry_point="envs.kaboom:KaboomEnv",
        # As ALE's *NoFrameskip-v4 ids: the frame skip and the rest are the wrappers' business.
        kwargs={
            "frameskip": 1,
            "repeat_action_probability": 0.0,
            "max_num_frames_per_episode": 108_000,
        },
        summary="Kaboom-v0 as ALE's NoFrameskip-v4 ids: 1 frame a step, no sticky actions",
    ),
    EnvEntry(
        id="DQN/Kaboom-v0",
        entry_point="envs.kaboom:KaboomEnv",
        # Made with frameskip=1, the pipeline skips 4 frames with a max over the last two, as
        # ale-py's vector env does for ALE/Kaboom-v5 (`wrappers.pipeline_frameskip`).
        kwargs={"obs_type": "grayscale", "frameskip": 1, "max_num_frames_per_episode": 108_000},
        dqn_preprocessed=True,
        summary="Kaboom-v0 through the DQN pipeline (make_dqn_env): 4 stacked 84x84 ALE grayscale",
    ),
    EnvEntry(
        id="SuperMarioLand-v0",
        entry_point="envs.mario:SuperMarioLandEnv",
        # The ROM is the user's own: rom_path=..., or the DQN_ARCADE_SML_ROM variable.
        max_episode_steps=10_000,
        summary="Super Mario Land on PyBoy (your ROM, $DQN_ARCADE_SML_ROM): run right, 16x20 tiles",
    ),
)

WRAPPERS: tuple[WrapperEntry, ...] = (
    WrapperEntry(
        "make_dqn_env",
        "wrappers.pipeline:make_dqn_env",
        "gym.make + the DQN pipeline picked for the env: pixels -> uint8 (4, 84, 84)",
    ),
    WrapperEntry(
        "dqn_preprocessing",
        "wrappers.pipeline:dqn_preprocessing",
        "the same pipeline around an env you already have",
    ),
    WrapperEntry(
        "make_dqn_vector_env",
        "wrappers.pipeline:make_dqn_vector_env",
        "N preprocessed envs: ale-py's C++ AtariVectorEnv for ALE ids, else gym.make_vec",
    ),
    WrapperEntry(
        "NoopReset",
        "wrappers.resets:NoopReset",
        "1..noop_max NOOP actions after each reset (any env whose action 0 is NOOP)",
    ),
    WrapperEntry("FireReset", "wrappers.resets:FireReset", "press FIRE after each reset"),
    WrapperEntry(
        "EpisodicLife",
        "wrappers.resets:EpisodicLife",
        "a lost life (info['lives']) ends the training episode; the game resets at game over",
    ),
    WrapperEntry(
        "Resize",
        "wrappers.pipeline:Resize",
        "Gymnasium's ResizeObservation, rebuildable from a JSON spec",
    ),
)


@dataclass(frozen=True)
class AgentEntry:
    """One agent: `entry_point` names a `main(argv: list[str] | None) -> int` (see docs/agents.md,
    "Plugin agents", for what it must accept and write)."""

    name: str
    entry_point: str
    summary: str


AGENTS: tuple[AgentEntry, ...] = (
    AgentEntry("dqn", "agents.dqn:main", "the hand-written PyTorch DQN (Double, dueling, n-step)"),
    AgentEntry("sb3_dqn", "agents.sb3_dqn:main", "Stable-Baselines3's DQN, the baseline"),
    AgentEntry(
        "pqn",
        "agents.pqn:main",
        "Parallelised Q-learning (PQN): LayerNorm Q-network, Q(lambda), no replay",
    ),
)
AGENT_PLUGIN_GROUP = "dqn_arcade.agents"
"""The entry-point group where other packages declare agents: `name = "module:main"`."""


def agents() -> dict[str, AgentEntry]:
    """Every agent: ours (`AGENTS`), then those installed packages declare in
    `AGENT_PLUGIN_GROUP` (ours win a name clash)."""
    found = {entry.name: entry for entry in AGENTS}
    for point in importlib.metadata.entry_points(group=AGENT_PLUGIN_GROUP):
        source = point.dist.name if point.dist else "an entry point"
        found.setdefault(point.name, AgentEntry(point.name, point.value, f"plugin from {source}"))
    return found


def load_agent(name: str) -> Callable[[list[str] | None], int]:
    """The `main` of agent `name`: KeyError (naming the agents there are) if there is none,
    ImportError (naming the entry point) if it cannot be loaded."""
    entry = agents().get(name)
    if entry is None:
        raise KeyError(f"no agent named {name!r}; the agents are {sorted(agents())}")
    try:
        return importlib.metadata.EntryPoint(name, entry.entry_point, AGENT_PLUGIN_GROUP).load()
    except (ImportError, AttributeError, ValueError) as error:
        raise ImportError(
            f"agent {name!r} ({entry.entry_point}) cannot be loaded: {error}"
        ) from None


def register_envs() -> None:
    """Registers every env of `ENVS` that Gymnasium does not already hold with the same spec."""
    gym.register_envs(ale_py)  # importing ale_py registered the ALE ids; this marks it as used
    for entry in ENVS:
        spec = entry.spec()
        if gym.registry.get(spec.id) == spec:
            continue
        gym.register(
            id=spec.id,
            entry_point=spec.entry_point,
            vector_entry_point=spec.vector_entry_point,
            max_episode_steps=spec.max_episode_steps,
            reward_threshold=spec.reward_threshold,
            kwargs=spec.kwargs,
            additional_wrappers=spec.additional_wrappers,
        )


ENV_PLUGIN_GROUP = "gymnasium.envs"
"""The entry-point group where env packages register their envs, which Gymnasium 1.x no longer
loads itself: `load_env_plugins` does."""
_loaded_plugins: set[str] = globals().get("_loaded_plugins", set())
"""The entry points run already: kept over `importlib.reload(registry)`, which runs none twice."""


def load_env_plugins() -> None:
    """Runs each installed distribution's `gymnasium.envs` entry point once, as Gymnasium 0.26-0.29
    did at import: in the namespace of its name, or in the root one for `__root__`. One that
    fails is reported in one warning line and skipped. Ours (`registry:register_envs`) is this
    module's own registration, done already."""
    for point in importlib.metadata.entry_points(group=ENV_PLUGIN_GROUP):
        if point.value == "registry:register_envs" or point.value in _loaded_plugins:
            continue
        _loaded_plugins.add(point.value)
        source = point.dist.name if point.dist else point.value
        # Gymnasium's `namespace` does not put the namespace back when its block raises, and
        # every later `gym.register` would land in the broken plugin's.
        outer = registration.current_namespace
        try:
            register = point.load()
            if point.name in ("__root__", "__internal__"):
                register()
            else:
                with namespace(point.name):
                    register()
        except Exception as error:  # a broken plugin must not break ours, nor fill the screen
            registration.current_namespace = outer
            print(
                f"warning: the gymnasium.envs entry point {point.name} = {point.value} of "
                f"{source} failed ({type(error).__name__}: {error}); its envs are not registered",
                file=sys.stderr,
            )


register_envs()
load_env_plugins()


def catalog() -> str:
    """The catalog as text: each env with its spaces, then the Atari ids ale-py provides."""
    lines = ["Environments (gym.make(id) after `import registry`, or gym.make('registry:' + id))"]
    for entry in ENVS:
        env = gym.make(entry.id)
        try:
            lines.append(f"  {entry.id}  {entry.summary}")
            lines.append(f"    observation: {env.observation_space}")
            lines.append(f"    action:      {env.action_space}")
            spec = gym.spec(entry.id)
            vector = "yes (gym.make_vec uses it)" if spec.vector_entry_point else "no"
            lines.append(f"    entry point: {entry.entry_point}; batched vector env: {vector}")
            if spec.additional_wrappers:
                names = " > ".join(w.name for w in spec.additional_wrappers)
                lines.append(f"    wrappers:    {names}")
        finally:
            env.close()
    lines.append("Wrappers (import wrappers)")
    for wrapper in WRAPPERS:
        lines.append(f"  {wrapper.name:<20} {wrapper.summary}")
    atari = sorted(env_id for env_id in gym.registry if env_id.startswith("ALE/"))
    lines.append(f"Atari, from ale-py: {len(atari)} ids, e.g. ALE/Pong-v5, ALE/Kaboom-v5")
    lines.append(f"Agents (python -m agents NAME; plugins: entry-point group {AGENT_PLUGIN_GROUP})")
    for entry in agents().values():
        lines.append(f"  {entry.name:<20} {entry.entry_point:<20} {entry.summary}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(catalog())
