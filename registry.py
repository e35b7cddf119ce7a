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

from dataclasses import dataclass, field
from typing import Any

import ale_py
import gymnasium as gym
from gymnasium.envs.registration import EnvSpec


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

    def spec(self) -> EnvSpec:
        return EnvSpec(
            id=self.id,
            entry_point=self.entry_point,
            vector_entry_point=self.vector_entry_point,
            max_episode_steps=self.max_episode_steps,
            reward_threshold=self.reward_threshold,
            kwargs=dict(self.kwargs),
        )


ENVS: tuple[EnvEntry, ...] = (
    EnvEntry(
        id="Catch-v0",
        entry_point="envs.catch:CatchEnv",
        vector_entry_point="envs.catch:CatchVectorEnv",
        reward_threshold=0.9,
        summary="catch the falling fruit with a 3-cell basket; +1 caught, -1 missed, 9 steps",
    ),
)


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
        )


register_envs()


def catalog() -> str:
    """The catalog as text: each env with its spaces, then the Atari ids ale-py provides."""
    lines = ["Environments (gym.make(id) after `import registry`, or gym.make('registry:' + id))"]
    for entry in ENVS:
        env = gym.make(entry.id)
        try:
            lines.append(f"  {entry.id}  {entry.summary}")
            lines.append(f"    observation: {env.observation_space}")
            lines.append(f"    action:      {env.action_space}")
            vector = "yes (gym.make_vec uses it)" if entry.vector_entry_point else "no"
            lines.append(f"    entry point: {entry.entry_point}; batched vector env: {vector}")
        finally:
            env.close()
    atari = sorted(env_id for env_id in gym.registry if env_id.startswith("ALE/"))
    lines.append(f"Atari, from ale-py: {len(atari)} ids, e.g. ALE/Pong-v5, ALE/Kaboom-v5")
    return "\n".join(lines)


if __name__ == "__main__":
    print(catalog())
