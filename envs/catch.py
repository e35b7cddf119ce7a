"""Catch: the falling-fruit game of the well-known Keras DQN example, as a Gymnasium env.

A fruit falls from the top row of a square board, one row per step; the player moves a basket three
cells wide along the bottom row to catch it. The rules are the original Keras example's, with
its two asymmetries fixed; `CatchEnv`'s Version History lists
every departure. `CatchVectorEnv` steps N games in one batched numpy call and, seeded alike,
reproduces N `CatchEnv`s exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import Env, spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from envs._checks import (
    checked_obs_type,
    checked_render_mode,
    integer_action,
    is_int,
    over_or_never_began,
)
from envs.window import FrameRendering

ACTION_MEANINGS = ("LEFT", "STAY", "RIGHT")
LEFT, STAY, RIGHT = range(3)
OBS_TYPES = ("grid", "pixels")
RENDER_FPS = 8
PIXELS_PER_CELL = 8  # obs_type="pixels": the default 10x10 board is an 80x80 image, close to 84x84
RENDER_PIXELS_PER_CELL = 32
MIN_GRID_SIZE = 5
# At 128 a rendered frame is 4096x4096 pixels (48 MiB) and a pixel observation 1024x1024: a board
# of 10**5 cells a side would take the machine's memory before its first frame.
MAX_GRID_SIZE = 128
# CatchVectorEnv: each sub-env keeps a block of starts and a generator (about 3 KB), and a batch
# of observations (with rendered frames, if any) is held at most MAX_BATCH_BYTES.
MAX_NUM_ENVS = 65_536
MAX_BATCH_BYTES = 2 << 30

# Cell codes of a drawing board, and their colours. Fruit and basket stay distinct in grayscale.
_EMPTY, _FRUIT, _BASKET = 0, 1, 2
_PALETTE = np.array([[0, 0, 0], [230, 80, 60], [235, 235, 235]], dtype=np.uint8)

# Each sub-env of CatchVectorEnv draws its episode starts from its own generator this many at a
# time: one call per block instead of one Python call per episode.
_START_BLOCK = 256


def _checked_grid_size(grid_size: Any) -> int:
    if not is_int(grid_size):
        raise ValueError(
            f"Catch grid_size must be an int, got {grid_size!r} ({type(grid_size).__name__})."
        )
    if not MIN_GRID_SIZE <= grid_size <= MAX_GRID_SIZE:
        raise ValueError(
            f"Catch grid_size must be from {MIN_GRID_SIZE} to {MAX_GRID_SIZE} (at "
            f"{MAX_GRID_SIZE} a rendered frame is {MAX_GRID_SIZE * RENDER_PIXELS_PER_CELL} pixels "
            f"a side), got {grid_size}; use the default 10 or any int in that range."
        )
    return int(grid_size)


def _checked_batch(num_envs: int, observation: spaces.Box, render_mode: str | None) -> None:
    """A ValueError if `num_envs` observations (and rendered frames) would pass MAX_BATCH_BYTES."""
    per_env = int(np.prod(observation.shape))
    if render_mode is not None:
        side = observation.shape[0] // (1 if len(observation.shape) == 2 else PIXELS_PER_CELL)
        per_env += (side * RENDER_PIXELS_PER_CELL) ** 2 * 3
    total = num_envs * per_env
    if total > MAX_BATCH_BYTES:
        what = "observations and rendered frames" if render_mode else "observations"
        raise ValueError(
            f"CatchVectorEnv's {what} for num_envs={num_envs} would take {total / 2**30:.1f} GiB "
            f"a batch, over the {MAX_BATCH_BYTES >> 30} GiB it allows: use fewer envs, a smaller "
            "grid_size or obs_type='grid'."
        )


def _observation_space(grid_size: int, obs_type: str) -> spaces.Box:
    if obs_type == "grid":
        return spaces.Box(0, 1, shape=(grid_size, grid_size), dtype=np.uint8)
    side = grid_size * PIXELS_PER_CELL
    return spaces.Box(0, 255, shape=(side, side, 3), dtype=np.uint8)


def _basket_boards(grid_size: int) -> np.ndarray:
    """Board number `c` is an empty grid with the basket centred on column `c` of the last row."""
    boards = np.zeros((grid_size, grid_size, grid_size), dtype=np.uint8)
    for centre in range(1, grid_size - 1):
        boards[centre, -1, centre - 1 : centre + 2] = 1
    return boards


def _decode_start(start, grid_size: int):
    """Splits one uniform draw from [0, grid_size * (grid_size - 2)) into (fruit column, basket
    centre): the fruit in any column, the basket centred anywhere it fits whole.

    One draw per episode (rather than two) is what lets the vector env pre-draw a block of starts
    per sub-env and still match a scalar env's stream exactly.
    """
    return start // (grid_size - 2), 1 + start % (grid_size - 2)


def draw_boards(boards: np.ndarray, pixels_per_cell: int) -> np.ndarray:
    """Turns boards of cell codes, shape (..., g, g), into RGB images (..., g*p, g*p, 3)."""
    cells = np.repeat(np.repeat(boards, pixels_per_cell, axis=-2), pixels_per_cell, axis=-1)
    return _PALETTE[cells]


def _invalid_action(action: Any) -> ValueError:
    return ValueError(
        f"Catch actions are the integers 0 (LEFT), 1 (STAY) and 2 (RIGHT); got {action!r}."
    )


class CatchEnv(FrameRendering, Env[np.ndarray, int]):
    """
    ## Description

    Catch is the "hello world" of deep Q-learning, from the well-known Keras DQN example (and the
    course notebooks built on it). A fruit appears in a random column of the top row of a square
    board and falls one row per step. The player moves a basket three cells wide along the bottom
    row and scores +1 for catching the fruit and -1 for missing it. An agent that sees the board can
    always catch the fruit, so the optimal return is +1 in every episode.

    ## Action Space

    `Discrete(3)`; `ACTION_MEANINGS` in this module names them:

    | Num | Action | Basket centre moves |
    |-----|--------|---------------------|
    | 0   | LEFT   | one column left     |
    | 1   | STAY   | nowhere             |
    | 2   | RIGHT  | one column right    |

    The basket centre is clamped to columns 1 .. grid_size-2, so all three basket cells are always
    on the board. Any other action raises a `ValueError`.

    ## Observation Space

    `obs_type="grid"` (default): the board, `Box(0, 1, (grid_size, grid_size), uint8)`.

    | Cell value | Meaning                                            |
    |------------|----------------------------------------------------|
    | 0          | empty                                              |
    | 1          | the fruit, or one of the three basket cells (last row) |

    `obs_type="pixels"`: the same board drawn as an RGB image, `Box(0, 255, (8g, 8g, 3), uint8)`
    (80x80x3 by default), 8x8 pixels a cell: black background, red fruit, white basket. The DQN
    preprocessing (grayscale, resize to 84x84, frame stack) takes it like an Atari frame.

    ## Rewards

    0 while the fruit falls. On the step the fruit reaches the bottom row: +1 if it lands on one of
    the three basket cells (`|fruit column - basket centre| <= 1`), else -1.

    ## Starting State

    The fruit is in row 0, in a column drawn uniformly from 0 .. grid_size-1; the basket centre is
    drawn uniformly from 1 .. grid_size-2. Both come from `self.np_random`.

    ## Episode End

    Termination: the fruit reaches the bottom row, which is always after exactly `grid_size - 1`
    steps (9 by default). There is no truncation of its own; a `max_episode_steps` given to
    `gymnasium.make` truncates as usual.

    ## Arguments

    ```python
    >>> import gymnasium as gym
    >>> import registry
    >>> env = gym.make("Catch-v0", grid_size=10, obs_type="grid", render_mode="rgb_array")
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, obs.dtype
    ((10, 10), dtype('uint8'))

    ```

    | Parameter     | Type    | Default  | Description                                        |
    |---------------|---------|----------|----------------------------------------------------|
    | `grid_size`   | **int** | `10`     | board side: an int, 5 to 128; else `ValueError`    |
    | `obs_type`    | **str** | `"grid"` | `"grid"` (the board) or `"pixels"` (an RGB image)  |
    | `render_mode` | **str** | `None`   | `"rgb_array"` (32 pixels a cell) or `"human"`      |

    `render_mode="human"` opens a pygame window, drawn at `metadata["render_fps"]` frames a second.
    To play it: `python -m agents.human --env Catch-v0`, with the keys of `get_keys_to_action()`:
    the left and right arrows (or A and D) move the basket, and no key held is STAY (with
    `gymnasium.utils.play.play`, which takes action 0 for no key, pass `noop=1`).

    ## Vectorized environment

    `gym.make_vec("Catch-v0", num_envs=N)` builds `CatchVectorEnv`, which steps all N games in one
    numpy call. `reset(seed=s)` seeds sub-env i with `s + i`, as `SyncVectorEnv` does, and it then
    reproduces N seeded `CatchEnv`s exactly. It also takes `autoreset_mode` (Gymnasium's
    `AutoresetMode`, default `NEXT_STEP`) and `max_episode_steps`. N is at most 65,536, and a batch
    of observations (with `render_mode`, and the frames `render()` returns) at most 2 GiB, else a
    `ValueError` saying how big it would be.

    ## Version History

    * v0: the original game, with these departures:
        - The fruit spawns in any column 0 .. grid_size-1; the original drew from 0 .. grid_size-2,
          so the last column never had a fruit.
        - The basket centre is clamped to 1 .. grid_size-2; the original clamped it to
          1 .. grid_size-1, so at the right edge one basket cell hung off the board while at the
          left edge the basket stopped whole. The start centre is drawn from 1 .. grid_size-2
          (the original: 1 .. grid_size-3).
        - The observation is the (grid_size, grid_size) uint8 board (the original: a float board
          flattened to shape (1, grid_size**2)); `obs_type="pixels"` is new.
        - Gymnasium's API: the bottom-row step is `terminated=True`; randomness comes from
          `self.np_random` (the original used numpy's global generator).
    * v0, later, the game unchanged: `grid_size` is at most 128 (a larger board took the
      machine's memory), and `CatchVectorEnv` takes at most 65,536 envs and a 2 GiB batch.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": RENDER_FPS}
    render_name = window_title = "Catch"

    def __init__(
        self, grid_size: int = 10, obs_type: str = "grid", render_mode: str | None = None
    ) -> None:
        self.grid_size = _checked_grid_size(grid_size)
        self.obs_type = checked_obs_type("Catch", obs_type, OBS_TYPES)
        self.render_mode = checked_render_mode("Catch", render_mode, self.metadata["render_modes"])
        self.action_space = spaces.Discrete(3)
        self.observation_space = _observation_space(self.grid_size, self.obs_type)

        self._last_row = self.grid_size - 1
        self._num_starts = self.grid_size * (self.grid_size - 2)
        self._basket_boards = _basket_boards(self.grid_size)
        self._observe = self._grid if self.obs_type == "grid" else self._pixels
        # The fruit starts on the bottom row: step() before reset() is refused like a step after
        # the end of an episode.
        self._fruit_row, self._fruit_col, self._basket = self._last_row, 0, 1

    def get_action_meanings(self) -> list[str]:
        return list(ACTION_MEANINGS)

    def get_keys_to_action(self) -> dict[tuple[int, ...], int]:
        """Keys for playing by hand: the left arrow or A is LEFT, the right arrow or D is RIGHT
        (no key held is STAY)."""
        import pygame

        return {
            (pygame.K_LEFT,): LEFT,
            (pygame.K_a,): LEFT,
            (pygame.K_RIGHT,): RIGHT,
            (pygame.K_d,): RIGHT,
        }

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        start = int(self.np_random.integers(self._num_starts))
        self._fruit_col, self._basket = _decode_start(start, self.grid_size)
        self._fruit_row = 0
        if self.render_mode == "human":
            self.render()
        return self._observe(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        # This is the hot path of every agent on Catch: plain ints and comparisons, no space checks,
        # and checked_action written out, as a call is a visible part of this step's cost.
        if action.__class__ is not int:
            action = integer_action(action, _invalid_action)
        if action < 0 or action > 2:
            raise _invalid_action(action)
        if self._fruit_row >= self._last_row:
            raise over_or_never_began("This Catch episode")

        basket = self._basket + action - 1
        if basket < 1:
            basket = 1
        elif basket >= self._last_row:
            basket = self._last_row - 1
        self._basket = basket
        self._fruit_row += 1
        terminated = self._fruit_row == self._last_row
        reward = (1.0 if abs(self._fruit_col - basket) <= 1 else -1.0) if terminated else 0.0

        if self.render_mode == "human":
            self.render()
        return self._observe(), reward, terminated, False, {}

    def _grid(self) -> np.ndarray:
        board = self._basket_boards[self._basket].copy()
        board[self._fruit_row, self._fruit_col] = 1
        return board

    def _board(self) -> np.ndarray:
        board = self._basket_boards[self._basket] * _BASKET
        board[self._fruit_row, self._fruit_col] = _FRUIT
        return board

    def _pixels(self) -> np.ndarray:
        return draw_boards(self._board(), PIXELS_PER_CELL)

    def _render_frame(self) -> np.ndarray:
        return draw_boards(self._board(), RENDER_PIXELS_PER_CELL)


def _generator(state: dict[str, Any]) -> np.random.Generator:
    """A generator in `state`, a `bit_generator.state` of one."""
    generator = np.random.Generator(getattr(np.random, state["bit_generator"])())
    generator.bit_generator.state = state
    return generator


class CatchVectorEnv(VectorEnv):
    """N games of Catch stepped together in numpy; the rules and arguments of `CatchEnv`.

    Sub-env i owns a generator seeded exactly as a scalar `CatchEnv` would be (`s + i` for
    `reset(seed=s)`, or a list of N seeds), so a seeded `CatchVectorEnv` reproduces
    `SyncVectorEnv` over N `CatchEnv`s observation for observation. `autoreset_mode` is any of
    Gymnasium's: `NEXT_STEP` (default; the step after an episode ends returns the first
    observation of the next, with reward 0), `SAME_STEP` (the ending step already returns the next
    episode's first observation and puts the last one in `info["final_obs"]`) or `DISABLED` (reset
    ended games with `reset(options={"reset_mask": mask})`). `max_episode_steps`, when given,
    truncates episodes as `TimeLimit` would. Render mode: `rgb_array` (a tuple of N frames).
    `get_state` and `set_state` save and restore the N games exactly (for an agent's checkpoint).
    """

    metadata = {
        "render_modes": ["rgb_array"],
        "render_fps": RENDER_FPS,
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(
        self,
        num_envs: int = 1,
        grid_size: int = 10,
        obs_type: str = "grid",
        render_mode: str | None = None,
        max_episode_steps: int | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
    ) -> None:
        if (
            isinstance(num_envs, bool)
            or not isinstance(num_envs, int)
            or not 1 <= num_envs <= MAX_NUM_ENVS
        ):
            raise ValueError(
                f"CatchVectorEnv num_envs must be an int from 1 to {MAX_NUM_ENVS}, got "
                f"{num_envs!r}."
            )
        if max_episode_steps is not None and (
            not isinstance(max_episode_steps, int) or max_episode_steps < 1
        ):
            raise ValueError(
                f"max_episode_steps must be None or a positive int, got {max_episode_steps!r}."
            )
        try:
            self.autoreset_mode = AutoresetMode(autoreset_mode)
        except ValueError:
            modes = [mode.value for mode in AutoresetMode]
            raise ValueError(
                f"autoreset_mode must be one of {modes}, got {autoreset_mode!r}."
            ) from None
        self.metadata = {**self.metadata, "autoreset_mode": self.autoreset_mode}
        self.num_envs = num_envs
        self.grid_size = _checked_grid_size(grid_size)
        self.obs_type = checked_obs_type("Catch", obs_type, OBS_TYPES)
        self.render_mode = checked_render_mode("Catch", render_mode, self.metadata["render_modes"])
        self.max_episode_steps = max_episode_steps

        self.single_action_space = spaces.Discrete(3)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.single_observation_space = _observation_space(self.grid_size, self.obs_type)
        _checked_batch(num_envs, self.single_observation_space, self.render_mode)
        self.observation_space = batch_space(self.single_observation_space, num_envs)

        g = self.grid_size
        self._num_starts = g * (g - 2)
        self._basket_boards = _basket_boards(g)
        self._env_index = np.arange(num_envs)
        self._fruit_row = np.full(num_envs, g - 1, dtype=np.int64)
        self._fruit_col = np.zeros(num_envs, dtype=np.int64)
        self._basket = np.ones(num_envs, dtype=np.int64)
        self._elapsed = np.zeros(num_envs, dtype=np.int64)
        self._needs_reset = np.ones(num_envs, dtype=bool)
        self._rngs: list[np.random.Generator | None] = [None] * num_envs
        self._starts = np.zeros((num_envs, _START_BLOCK), dtype=np.int64)
        self._cursor = np.full(num_envs, _START_BLOCK, dtype=np.int64)
        self._started = False

    def reset(
        self,
        *,
        seed: int | list[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[np.ndarray, dict[str, Any]]:
        mask = self._reset_mask(options)
        for i, env_seed in zip(np.flatnonzero(mask), self._per_env_seeds(seed)[mask], strict=True):
            if env_seed is not None or self._rngs[i] is None:
                self._rngs[i], _ = seeding.np_random(env_seed)
                self._cursor[i] = _START_BLOCK  # the next start comes from the new generator
        if isinstance(seed, int):
            self._np_random, self._np_random_seed = seeding.np_random(seed)
        self._start_episodes(np.flatnonzero(mask))
        self._started = True
        return self._observe(), {}

    def _per_env_seeds(self, seed: int | list[int | None] | None) -> np.ndarray:
        if seed is None:
            seeds = [None] * self.num_envs
        elif isinstance(seed, int):
            seeds = [seed + i for i in range(self.num_envs)]
        else:
            seeds = list(seed)
            if len(seeds) != self.num_envs:
                raise ValueError(
                    f"reset(seed=...) takes an int or a list of num_envs={self.num_envs} seeds, "
                    f"got a list of {len(seeds)}."
                )
        return np.array(seeds, dtype=object)

    def _reset_mask(self, options: dict[str, Any] | None) -> np.ndarray:
        if options is None or "reset_mask" not in options:
            return np.ones(self.num_envs, dtype=bool)
        mask = options["reset_mask"]
        if (
            not isinstance(mask, np.ndarray)
            or mask.dtype != np.bool_
            or mask.shape != (self.num_envs,)
        ):
            raise ValueError(
                f"options['reset_mask'] must be a numpy bool array of shape ({self.num_envs},)."
            )
        if not self._started and not mask.all():
            raise ValueError("The first reset() of a vector env must reset every sub-env.")
        return mask

    def _take_starts(self, envs: np.ndarray) -> np.ndarray:
        """The next episode start of each sub-env in `envs` (distinct indices)."""
        exhausted = envs[self._cursor[envs] == _START_BLOCK]
        for i in exhausted:
            self._starts[i] = self._rngs[i].integers(self._num_starts, size=_START_BLOCK)
        self._cursor[exhausted] = 0
        cursor = self._cursor[envs]
        self._cursor[envs] = cursor + 1
        return self._starts[envs, cursor]

    def _start_episodes(self, envs: np.ndarray) -> None:
        self._fruit_col[envs], self._basket[envs] = _decode_start(
            self._take_starts(envs), self.grid_size
        )
        self._fruit_row[envs] = 0
        self._elapsed[envs] = 0
        self._needs_reset[envs] = False

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        actions = np.asarray(actions)
        if (
            actions.shape != (self.num_envs,)
            or actions.dtype.kind not in "iu"
            # As unsigned, a negative action is huge: one comparison checks both bounds.
            or (actions.astype(np.uint64) > 2).any()
        ):
            raise ValueError(
                f"CatchVectorEnv.step takes an integer array of shape ({self.num_envs},) with "
                f"values 0 (LEFT), 1 (STAY) or 2 (RIGHT); got {actions!r}."
            )
        if not self._started:
            raise RuntimeError("Call reset() before step() on CatchVectorEnv.")
        resetting = self._needs_reset
        if self.autoreset_mode == AutoresetMode.DISABLED and resetting.any():
            raise RuntimeError(
                "With autoreset_mode DISABLED, reset ended sub-envs with "
                "reset(options={'reset_mask': mask}) before stepping them again."
            )

        last_row = self.grid_size - 1
        self._basket += actions.astype(np.int64, copy=False) - 1
        # np.maximum and np.minimum rather than np.clip, which costs more for small batches.
        np.maximum(self._basket, 1, out=self._basket)
        np.minimum(self._basket, last_row - 1, out=self._basket)
        self._fruit_row += 1
        self._elapsed += 1
        if resetting.any():  # NEXT_STEP: these sub-envs start a new episode instead of stepping
            self._start_episodes(np.flatnonzero(resetting))
        terminated = self._fruit_row == last_row
        caught = np.abs(self._fruit_col - self._basket) <= 1
        rewards = np.where(terminated, np.where(caught, 1.0, -1.0), 0.0).astype(np.float32)
        if self.max_episode_steps is None:
            truncated = np.zeros(self.num_envs, dtype=bool)
        else:
            # As TimeLimit: truncated at the limit, whether or not the episode also terminated.
            truncated = self._elapsed >= self.max_episode_steps
        done = terminated | truncated

        infos: dict[str, Any] = {}
        if self.autoreset_mode == AutoresetMode.SAME_STEP and done.any():
            final_obs = np.full(self.num_envs, None, dtype=object)
            ended = np.flatnonzero(done)
            final_obs[ended] = list(self._observe()[ended])
            infos = {
                "final_obs": final_obs,
                "_final_obs": done.copy(),
                "final_info": {},
                "_final_info": done.copy(),
            }
            self._start_episodes(ended)
        else:
            self._needs_reset = done
        return self._observe(), rewards, terminated, truncated, infos

    def get_state(self) -> dict[str, Any]:
        """Everything the games' future depends on (boards, clocks, generators, the episode
        starts drawn ahead), as plain Python data (lists, ints, dicts), so that any serialiser can
        keep it; `set_state` on an env made with the same arguments continues exactly."""
        arrays = ("_fruit_row", "_fruit_col", "_basket", "_elapsed", "_needs_reset", "_starts")
        state: dict[str, Any] = {name: getattr(self, name).tolist() for name in arrays}
        state["_cursor"] = self._cursor.tolist()
        state["_started"] = self._started
        state["rngs"] = [None if rng is None else rng.bit_generator.state for rng in self._rngs]
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        """Restores a `get_state` of an env of the same `num_envs`."""
        if len(state["rngs"]) != self.num_envs:
            raise ValueError(
                f"the state is of {len(state['rngs'])} sub-envs, and this env has {self.num_envs}."
            )
        for name, value in state.items():
            if name not in ("rngs", "_started"):
                getattr(self, name)[...] = value
        self._started = state["_started"]
        self._rngs = [None if saved is None else _generator(saved) for saved in state["rngs"]]

    def _boards(self, fruit_code: int, basket_code: int) -> np.ndarray:
        g = self.grid_size
        boards = self._basket_boards[self._basket]
        if basket_code != 1:
            boards *= basket_code
        boards.reshape(self.num_envs, g * g)[
            self._env_index, self._fruit_row * g + self._fruit_col
        ] = fruit_code
        return boards

    def _observe(self) -> np.ndarray:
        if self.obs_type == "grid":
            return self._boards(1, 1)
        return draw_boards(self._boards(_FRUIT, _BASKET), PIXELS_PER_CELL)

    def render(self) -> tuple[np.ndarray, ...] | None:
        if self.render_mode is None:
            raise RuntimeError(
                'CatchVectorEnv was made without a render_mode: pass render_mode="rgb_array".'
            )
        return tuple(draw_boards(self._boards(_FRUIT, _BASKET), RENDER_PIXELS_PER_CELL))


def follow_fruit(grid_obs: np.ndarray) -> np.ndarray:
    """The scripted policy that always catches: move the basket toward the fruit's column.

    Takes grid observations of shape (..., g, g) and returns actions of shape (...). Useful as a
    baseline and as an oracle in tests.
    """
    grid_obs = np.asarray(grid_obs)
    fruit_col = grid_obs[..., :-1, :].max(axis=-2).argmax(axis=-1)
    basket_centre = grid_obs[..., -1, :].argmax(axis=-1) + 1
    return np.sign(fruit_col - basket_centre) + 1
