"""A game in a pygame window, played by a person at the keyboard or by a policy: the one loop
behind `python -m agents.human` and `--evaluate ... --render human`.

The window (`envs.window.PygameWindow`) shows the env's `render()` frame (so the env is made with
`render_mode="rgb_array"`), scaled up, at the env's `render_fps`, with a line of text over it: the
score (the episode's return so far), the lives when `info["lives"]` has them, and the episode.
Esc or closing the window quits, P pauses, R restarts the episode.

This is not `gymnasium.utils.play.play`, which cannot do it through its callback: play() owns its
event loop and handles only Esc and closing (no pause, no restart, no hook for other keys); it
draws and flips the frame after the callback has run, so nothing drawn there survives (no
overlay); it takes actions only from the keyboard (no policy to watch); it has no step or episode
bound (tests and `--episodes` need one); it reads the keys held from KEYDOWN and KEYUP events but
resets every episode with the same seed, so a seeded session replays one game; and importing it
switches matplotlib to the TkAgg backend. What it does that is kept here: the keys of the env's
`get_keys_to_action()`, read as play() reads them (characters become key codes, a combination is
its sorted tuple), and the keys held tracked from events (`PygameWindow.held`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.wrappers import AtariPreprocessing

from agents.common.cli import UsageError
from agents.common.files import atomic_write
from agents.common.policy import Policy
from envs.window import PygameWindow


def _env_name(env: gym.Env) -> str:
    return env.spec.id if env.spec is not None else type(env.unwrapped).__name__


def steps_per_second(env: gym.Env) -> float:
    """The steps a second that play `env` at its real speed: the env's `render_fps`; for ALE's
    interface (ALE's games, Kaboom's), whose metadata says 30 whatever the frame skip, the Atari's
    60 frames a second over the frames a step takes: the game's own skip times that of any
    `AtariPreprocessing` over it (the agents' evaluation envs skip there, the game 1 frame a
    step)."""
    skip = getattr(env.unwrapped, "_frameskip", None)
    if not (isinstance(skip, int) and skip > 0):
        return env.metadata.get("render_fps", 30)
    layer = env
    while isinstance(layer, gym.Wrapper):
        if isinstance(layer, AtariPreprocessing):
            skip *= layer.frame_skip
        layer = layer.env
    return 60 / skip


def keys_to_action(env: gym.Env) -> dict[tuple[int, ...], int]:
    """The env's `get_keys_to_action()` with each key as a pygame key code (ALE's are characters)
    and each combination as a sorted tuple; a UsageError when the env has none."""
    if not env.has_wrapper_attr("get_keys_to_action"):
        raise UsageError(
            f"{_env_name(env)} has no key mapping (no get_keys_to_action()), so it cannot be "
            "played by hand; play Catch-v0, Kaboom-v0, SuperMarioLand-v0 or an ALE/... id, or "
            "watch an agent on it with --agent RUN_DIR"
        )
    mapping = {}
    for combination, action in env.get_wrapper_attr("get_keys_to_action")().items():
        keys = (combination,) if isinstance(combination, int) else tuple(combination)
        codes = tuple(sorted(ord(key) if isinstance(key, str) else int(key) for key in keys))
        mapping[codes] = int(action)
    return mapping


def idle_action(env: gym.Env) -> int:
    """The action of a player who holds no key: the one the env calls NOOP (Atari, Kaboom,
    Mario) or STAY (Catch), else 0."""
    if env.has_wrapper_attr("get_action_meanings"):
        meanings = list(env.get_wrapper_attr("get_action_meanings")())
        for idle in ("NOOP", "STAY"):
            if idle in meanings:
                return meanings.index(idle)
    return 0


class Keyboard:
    """A person's policy: the action of the keys held in `window`, and of those tapped (pressed
    and released) since the last step, so a quick tap between two steps still acts on the next
    one, as on an arcade machine. Keys map by the env's key mapping; no key, or a combination the
    mapping does not have, is the idle action. Where the mapping moves with W, A, S and D and has
    no arrow keys (ALE's), the arrows stand in for them."""

    def __init__(self, env: gym.Env, window: PygameWindow) -> None:
        import pygame

        self.window = window
        self.mapping = keys_to_action(env)
        self.relevant = set().union(*self.mapping)
        self.idle = idle_action(env)
        self.arrows = {pygame.K_UP: pygame.K_w, pygame.K_LEFT: pygame.K_a,
                       pygame.K_DOWN: pygame.K_s, pygame.K_RIGHT: pygame.K_d}  # fmt: skip
        if self.relevant & self.arrows.keys():
            self.arrows = {}
        self.tapped: set[int] = set()

    def pressed(self, keys: list[int]) -> None:
        """Keys pressed since the last poll of the window (`PygameWindow.poll`)."""
        self.tapped.update(keys)

    def act(self, _obs: np.ndarray) -> int:
        keys = {self.arrows.get(key, key) for key in self.window.held | self.tapped}
        self.tapped.clear()
        return self.mapping.get(tuple(sorted(keys & self.relevant)), self.idle)


class Recording:
    """The steps of a session, saved by `save` as a compressed .npz of these arrays (N steps, E
    episodes with at least one step):

    - `observations` (N + E, ...): each episode's first observation, then the one after each of
      its steps; step i acts on `observations[i + episode[i]]` and leads to the next one
    - `actions` (N,) int64, `rewards` (N,) float64, `terminated` (N,) and `truncated` (N,) bool
      (an episode cut short by R or by quitting ends on a step with both False)
    - `episode` (N,) int64: the episode of each step, 0, 1, ...
    - `env_id`: the env's id, a string
    """

    def __init__(self) -> None:
        self.observations: list[np.ndarray] = []
        self.steps: dict[str, list[Any]] = {
            name: [] for name in ("actions", "rewards", "terminated", "truncated", "episode")
        }
        self.episodes = 0
        self._first: np.ndarray | None = None

    def start_episode(self, obs: np.ndarray) -> None:
        self._first = obs

    def step(
        self, action: int, obs: np.ndarray, reward: float, terminated: bool, truncated: bool
    ) -> None:
        if self._first is not None:  # the episode's first step: keep its first observation
            self.observations.append(self._first)
            self._first = None
            self.episodes += 1
        self.observations.append(obs)
        for name, value in zip(
            self.steps, (action, reward, terminated, truncated, self.episodes - 1), strict=True
        ):
            self.steps[name].append(value)

    @property
    def steps_taken(self) -> int:
        return len(self.steps["actions"])

    def save(self, path: str | Path, env_id: str) -> None:
        """Writes the session to `path` atomically."""
        dtypes = {"actions": np.int64, "rewards": np.float64, "episode": np.int64}
        arrays = {
            name: np.asarray(values, dtype=dtypes.get(name, bool))
            for name, values in self.steps.items()
        }
        atomic_write(
            Path(path),
            lambda file: np.savez_compressed(
                file,
                observations=np.asarray(self.observations),
                env_id=np.asarray(env_id),
                **arrays,
            ),
        )


@dataclass
class Played:
    """What `play` hands back."""

    returns: list[float] = field(default_factory=list)
    """the returns of the episodes played to their end"""
    unfinished_return: float | None = None
    """the return so far of the episode the session stopped in, if it had steps"""
    steps: int = 0


class _Game:
    """The env between steps: its observation and info, the episode's score and number."""

    def __init__(self, env: gym.Env, seed: int | None, recording: Recording | None) -> None:
        self.env, self.seed, self.recording = env, seed, recording
        self.episode = -1  # the number of the episode under way, from 0
        self.score, self.steps, self.ended = 0.0, 0, False

    def new_episode(self) -> None:
        self.episode += 1
        seed = None if self.seed is None else self.seed + self.episode
        self.obs, self.info = self.env.reset(seed=seed)
        self.score, self.steps, self.ended = 0.0, 0, False
        if self.recording is not None:
            self.recording.start_episode(self.obs)
        self.frame = self.env.render()

    def step(self, action: int) -> bool:
        """Takes `action`; whether the episode ended."""
        self.obs, reward, terminated, truncated, self.info = self.env.step(action)
        self.score += float(reward)
        self.steps += 1
        if self.recording is not None:
            self.recording.step(action, self.obs, float(reward), terminated, truncated)
        self.frame = self.env.render()
        self.ended = terminated or truncated
        return self.ended

    def status(self, paused: bool) -> str:
        parts = [f"score {self.score:g}"]
        if "lives" in self.info:
            parts.append(f"lives {int(self.info['lives'])}")
        parts.append(f"episode {self.episode + 1}")
        if paused:
            parts.append("PAUSED (P)")
        return "   ".join(parts)


def play(
    env: gym.Env,
    policy: Policy | None = None,
    *,
    episodes: int | None = None,
    max_steps: int | None = None,
    seed: int | None = None,
    fps: float | None = None,
    scale: int | None = None,
    recording: Recording | None = None,
) -> Played:
    """Plays `env` (made with `render_mode="rgb_array"`) in a window: `policy` picks the actions,
    or with None the keys held and tapped (`Keyboard`), by the env's `get_keys_to_action()`. Runs
    until the window closes (Esc or its close button), `episodes` episodes end or `max_steps`
    steps are taken; P pauses, R restarts the episode. Episode k (R starts a new one) is reset
    with `seed + k` when `seed` is given, as `agents.common.evaluation.run_episodes` does. `fps`
    defaults to the env's `render_fps`, `scale` to the largest that fits
    `envs.window.FIT_HEIGHT`."""
    import pygame

    window = PygameWindow(_env_name(env), fps or steps_per_second(env), scale)
    keyboard = Keyboard(env, window) if policy is None else None
    act = policy or keyboard.act
    game, played, paused = _Game(env, seed, recording), Played(), False
    try:
        game.new_episode()
        while True:
            window.show(game.frame, game.status(paused))
            keys = window.poll()
            if window.closed or pygame.K_ESCAPE in keys:
                break
            if pygame.K_p in keys:
                paused = not paused
            if pygame.K_r in keys:
                game.new_episode()
                paused = False
                continue
            if paused:
                continue
            if keyboard is not None:
                keyboard.pressed(keys)
            if max_steps is not None and played.steps >= max_steps:
                break
            ended = game.step(act(game.obs))
            played.steps += 1
            if ended:
                played.returns.append(game.score)
                window.show(game.frame, game.status(paused))  # the episode's last frame
                if episodes is not None and len(played.returns) >= episodes:
                    break
                game.new_episode()
    except KeyboardInterrupt:  # Ctrl-C in the terminal ends the session as Esc does
        pass
    finally:
        window.close()
    if game.steps and not game.ended:
        played.unfinished_return = game.score
    return played
