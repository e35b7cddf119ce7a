"""A replay buffer that stores each frame once and rebuilds frame stacks by index.

A naive DQN buffer keeps `obs` and `next_obs` for every transition: two (4, 84, 84) stacks, 56 KB,
for what is one new 84x84 frame (7 KB). This buffer keeps one stream of entries per vector-env
slot, laid out in time order in preallocated numpy arrays. An entry holds the newest frame of an
observation, and, once the agent has acted on it, the action, the reward and whether that step
was terminal. The stack of entry `t` is simply frames `t - k + 1 .. t` of its stream: when an
episode starts, the k - 1 older frames of its first observation (the padding the frame-stack
wrapper put there, whatever its kind) are written first as `PAD` entries, so a stack never reaches
into the previous episode. An episode's last observation is a `FINAL` entry: never a transition's
start, only its end.

Observations that are not frame stacks (a Catch grid, a state vector) are stored whole, k = 1.

n-step returns are read off the stream at sampling time: from entry t, rewards are summed until a
terminal step (no bootstrap), the episode's `FINAL` entry (a truncation: bootstrap from it), or n
steps; the sampled transition carries the discounted return, the discount to apply to the
bootstrap value (0 after a terminal step), and the observation to bootstrap from.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from gymnasium import spaces

from agents.common.files import atomic_write
from wrappers import is_frame_stack

# Entry kinds.
EMPTY, PAD, CURRENT, STEP, FINAL = 0, 1, 2, 3, 4
"""EMPTY: never written; PAD: an older frame of an episode's first stack; CURRENT: the observation
the agent is about to act on; STEP: an observation acted on (its action, reward and terminal flag
are set); FINAL: an episode's last observation."""


def frame_stack_of(space: spaces.Box) -> int:
    """How many frames each observation of `space` stacks: k for the DQN pipeline's frame stacks
    (`wrappers.is_frame_stack`), else 1 (the observation is stored whole)."""
    return space.shape[0] if is_frame_stack(space) else 1


def physical_memory() -> int | None:
    """Bytes of memory this machine has (None where the platform does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


class ReplayBuffer:
    """Transitions from `num_envs` parallel episode streams, `capacity` entries in all.

    Feed it what a Gymnasium vector env returns: `start` with the first observation of episodes,
    then `record` with each step's action, reward, terminal flag, next observation and whether
    the episode ended there. `sample` draws uniformly among the stored transitions whose
    n-step window is complete.
    """

    def __init__(
        self,
        capacity: int,
        num_envs: int,
        observation_space: spaces.Box,
        *,
        gamma: float,
        n_step: int = 1,
        seed: int | np.random.SeedSequence | None = None,
    ) -> None:
        if capacity < num_envs:
            raise ValueError(f"a replay buffer of {capacity} cannot hold {num_envs} streams")
        self.num_envs = num_envs
        self.stack = frame_stack_of(observation_space)
        self.frame_shape = (
            observation_space.shape[1:] if self.stack > 1 else observation_space.shape
        )
        self.obs_shape = observation_space.shape
        self.gamma = gamma
        self.n_step = n_step
        self.stream_capacity = -(-capacity // num_envs)
        shape = (num_envs, self.stream_capacity)
        # numpy allocates the pages as they are written: a buffer past the machine's memory would
        # fail hours into a run. (Per entry: a frame, kind, action, reward and terminal flag.)
        entry = np.prod(self.frame_shape) * observation_space.dtype.itemsize + 1 + 4 + 4 + 1
        needed, memory = int(entry) * num_envs * self.stream_capacity, physical_memory()
        if memory is not None and needed > memory:
            raise ValueError(
                f"a replay buffer of {capacity:,} transitions of {observation_space.shape} "
                f"observations takes {needed / 2**30:,.1f} GiB, more than the "
                f"{memory / 2**30:,.1f} GiB this machine has"
            )
        self.frames = np.zeros(shape + tuple(self.frame_shape), dtype=observation_space.dtype)
        self.kinds = np.zeros(shape, dtype=np.uint8)
        self.actions = np.zeros(shape, dtype=np.int32)
        self.rewards = np.zeros(shape, dtype=np.float32)
        self.terminals = np.zeros(shape, dtype=bool)
        self.positions = np.zeros(num_envs, dtype=np.int64)  # entries written, per stream
        self.rng = np.random.default_rng(seed)
        self._ready = False

    @property
    def nbytes(self) -> int:
        return sum(array.nbytes for array in self._arrays().values()) + self.positions.nbytes

    @property
    def bytes_per_transition(self) -> float:
        return self.nbytes / (self.num_envs * self.stream_capacity)

    def __len__(self) -> int:
        """Entries held (written and not yet overwritten)."""
        return int(np.minimum(self.positions, self.stream_capacity).sum())

    def _write(self, envs: np.ndarray, frames: np.ndarray, kind: int) -> None:
        slots = self.positions[envs] % self.stream_capacity
        self.frames[envs, slots] = frames
        self.kinds[envs, slots] = kind
        self.positions[envs] += 1

    def start(self, envs: np.ndarray, observations: np.ndarray) -> None:
        """New episodes in streams `envs`, with their first observations."""
        envs = np.asarray(envs, dtype=np.int64)
        if self.stack == 1:
            self._write(envs, observations, CURRENT)
            return
        for age in range(self.stack - 1):
            self._write(envs, observations[:, age], PAD)
        self._write(envs, observations[:, -1], CURRENT)

    def record(
        self,
        envs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        terminals: np.ndarray,
        next_observations: np.ndarray,
        episode_over: np.ndarray,
    ) -> None:
        """One step in streams `envs`: the action taken on their current observation, its reward,
        whether it was terminal (nothing to bootstrap from), the next observation, and whether the
        episode ended there (terminated or truncated)."""
        envs = np.asarray(envs, dtype=np.int64)
        slots = (self.positions[envs] - 1) % self.stream_capacity
        self.actions[envs, slots] = actions
        self.rewards[envs, slots] = rewards
        self.terminals[envs, slots] = terminals
        self.kinds[envs, slots] = STEP
        newest = next_observations if self.stack == 1 else next_observations[:, -1]
        slots = self.positions[envs] % self.stream_capacity
        self.frames[envs, slots] = newest
        self.kinds[envs, slots] = np.where(episode_over, FINAL, CURRENT)
        self.positions[envs] += 1

    def _window(self, envs: np.ndarray, starts: np.ndarray) -> dict[str, np.ndarray]:
        """The n-step return of the transitions at absolute positions `starts`, and whether each is
        complete (every entry it reads is written and current)."""
        n = self.n_step
        positions = self.positions[envs]
        in_window = starts - self.stack + 1 >= positions - self.stream_capacity
        if n == 1:  # the common case, without the (batch, n) arrays
            slots = starts % self.stream_capacity
            terminal = self.terminals[envs, slots]
            return {
                "valid": (self.kinds[envs, slots] == STEP) & (starts + 1 < positions) & in_window,
                "returns": self.rewards[envs, slots],
                "discounts": np.where(terminal, np.float32(0), np.float32(self.gamma)),
                "next": starts + 1,
            }
        ahead = starts[:, None] + np.arange(n + 1)  # entries t .. t + n
        slots = ahead % self.stream_capacity
        rows = envs[:, None]
        kinds = self.kinds[rows, slots]
        terminals = self.terminals[rows, slots[:, :n]]
        # Stop after step k when it was terminal, the next entry ends the episode, or k = n - 1.
        stop = terminals | (kinds[:, 1:] == FINAL)
        stop[:, -1] = True
        steps = stop.argmax(axis=1) + 1  # rewards summed, 1..n
        taken = np.arange(n) < steps[:, None]
        valid = (
            np.all(~taken | (kinds[:, :n] == STEP), axis=1)
            & (starts + steps < positions)
            & in_window
        )
        rewards = self.rewards[rows, slots[:, :n]]
        returns = np.sum(np.where(taken, rewards * self.gamma ** np.arange(n), 0.0), axis=1)
        terminal = terminals[np.arange(len(starts)), steps - 1]
        discounts = np.where(terminal, 0.0, self.gamma**steps)
        return {
            "valid": valid,
            "returns": returns.astype(np.float32),
            "discounts": discounts.astype(np.float32),
            "next": starts + steps,
        }

    def _stacks(self, envs: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Observations of the entries at absolute positions `ends`.

        Frame stacks come back in their shape, (batch, k, height, width), laid out frame-last in
        memory: the strides of a channels-last tensor, the layout the Nature CNN computes in on
        the CPU (`agents.common.networks.NatureCNN.forward`), so torch need not transpose them.
        np.stack builds that layout about 3x faster than torch's uint8 channels-last copy (0.32
        against 0.92 ms for a batch of 32 stacks of 4 84x84 frames, on one core)."""
        if self.stack == 1:
            return self.frames[envs, ends % self.stream_capacity]
        slots = (ends[:, None] + np.arange(1 - self.stack, 1)) % self.stream_capacity
        frames = [self.frames[envs, slots[:, age]] for age in range(self.stack)]
        return np.stack(frames, axis=-1).transpose(0, 3, 1, 2)

    def can_sample(self) -> bool:
        """Whether some transition is complete (once true, it stays true)."""
        self._ready = self._ready or bool(np.any(self.positions >= self.stack + self.n_step))
        return self._ready

    def sample(self, batch_size: int) -> dict[str, np.ndarray]:
        """`batch_size` transitions drawn uniformly among complete ones: `obs`, `actions`,
        `returns` (n-step, discounted), `discounts` (for the bootstrap value; 0 if terminal) and
        `next_obs`."""
        if not self.can_sample():
            raise RuntimeError("the replay buffer holds no complete transition yet")
        held = np.minimum(self.positions, self.stream_capacity)
        offsets = np.concatenate(([0], np.cumsum(held)))
        envs, starts = np.empty(0, np.int64), np.empty(0, np.int64)
        # Rejection sampling: draw entries uniformly, keep the complete transitions. Most entries
        # are (PAD, FINAL and the newest entries are the exceptions), so one round usually does.
        for _ in range(1000):
            flat = self.rng.integers(offsets[-1], size=batch_size + batch_size // 4)
            drawn_envs = np.searchsorted(offsets, flat, side="right") - 1
            drawn = self.positions[drawn_envs] - held[drawn_envs] + flat - offsets[drawn_envs]
            window = self._window(drawn_envs, drawn)
            kept = np.flatnonzero(window["valid"])
            if not len(envs) and len(kept) >= batch_size:  # the common case: one round
                kept = kept[:batch_size]
                envs, starts = drawn_envs[kept], drawn[kept]
                window = {name: values[kept] for name, values in window.items()}
                break
            envs = np.concatenate((envs, drawn_envs[kept]))
            starts = np.concatenate((starts, drawn[kept]))
            if len(envs) >= batch_size:
                envs, starts = envs[:batch_size], starts[:batch_size]
                window = self._window(envs, starts)
                break
        else:
            raise RuntimeError("the replay buffer holds too few complete transitions to sample")
        return {
            "obs": self._stacks(envs, starts),
            "actions": self.actions[envs, starts % self.stream_capacity].astype(np.int64),
            "returns": window["returns"],
            "discounts": window["discounts"],
            "next_obs": self._stacks(envs, window["next"]),
        }

    def _arrays(self) -> dict[str, np.ndarray]:
        """The per-stream arrays, (num_envs, stream_capacity, ...)."""
        return {
            "frames": self.frames,
            "kinds": self.kinds,
            "actions": self.actions,
            "rewards": self.rewards,
            "terminals": self.terminals,
        }

    def save(self, path: Path) -> None:
        """Writes the entries written so far (uncompressed .npz, no pickled objects) atomically."""
        # Streams fill in time order from slot 0 and only wrap once full, so the first `filled`
        # slots of every stream hold all it has written (then EMPTY ones, in a shorter stream).
        filled = min(int(self.positions.max()), self.stream_capacity)
        arrays = {name: array[:, :filled] for name, array in self._arrays().items()}
        atomic_write(
            path,
            lambda file: np.savez(
                file,
                **arrays,
                positions=self.positions,
                shape=np.array(self.frames.shape),  # the buffer's, to refuse another's file
                rng=np.array(json.dumps(self.rng.bit_generator.state)),
            ),
        )

    def load(self, path: Path) -> None:
        """Restores a buffer written by `save` from a run with the same buffer settings (streams,
        capacity, observation shape and dtype); the entries the file lacks are left EMPTY.
        ValueError if the file is not such a buffer (another shape, damaged, not a replay file)."""
        try:
            with np.load(path, allow_pickle=False) as saved:
                arrays = {name: saved[name] for name in self._arrays()}
                shape, positions = tuple(saved["shape"].tolist()), saved["positions"]
                rng_state = json.loads(saved["rng"].item())
        except Exception as error:  # np.load raises many kinds (BadZipFile, KeyError, a
            # ValueError for a pickled array with allow_pickle=False) for a damaged or foreign file
            raise ValueError(f"{path} is not a readable replay buffer ({error})") from None
        found = (shape, arrays["frames"].dtype)
        expected = (self.frames.shape, self.frames.dtype)
        if found != expected or positions.shape != self.positions.shape:
            raise ValueError(
                f"{path} holds a replay buffer of another shape (frames: {found[0]} {found[1]}, "
                f"expected {expected[0]} {expected[1]})"
            )
        filled = arrays["frames"].shape[1]
        # Past `filled`, only slots this buffer has written need clearing: writing the others
        # would allocate the pages numpy has not (a big buffer's zeros are allocated lazily).
        written = min(int(self.positions.max()), self.stream_capacity)
        for name, array in self._arrays().items():
            array[:, :filled] = arrays[name]
            array[:, filled:written] = 0
        self.positions[...] = positions
        self.rng.bit_generator.state = rng_state
        self._ready = False
