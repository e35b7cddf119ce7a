"""The replay buffer rebuilds exactly the observations the env gave, at episode boundaries, across
streams and after wrapping around, and computes n-step returns as written out by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces

from agents.dqn.replay import ReplayBuffer

STACK = 4
FRAME = (2, 3)
STACKED = spaces.Box(0, 255, (STACK, *FRAME), np.uint8)


class FakeStream:
    """Episodes of numbered frames (number and stream id written into the pixels), stacked like
    FrameStackObservation (the first frame repeated as padding, or zeros), with a log of every
    transition as the env gave it."""

    def __init__(self, padding: str, ident: int = 0) -> None:
        self.padding = padding
        self.ident = ident
        self.counter = 0
        self.transitions: dict[tuple[int, int], dict] = {}

    def frame(self) -> np.ndarray:
        self.counter += 1
        frame = np.zeros(FRAME, dtype=np.uint8)
        frame[0] = self.counter % 256, self.counter // 256, self.ident
        return frame

    def reset(self) -> np.ndarray:
        first = self.frame()
        pad = first if self.padding == "reset" else np.zeros(FRAME, np.uint8)
        self.stack = np.stack([pad] * (STACK - 1) + [first])
        return self.stack.copy()

    def step(self, action: int, reward: float, terminal: bool, over: bool) -> np.ndarray:
        obs = self.stack.copy()
        self.stack = np.concatenate((self.stack[1:], self.frame()[None]))
        self.transitions[key(obs)] = {
            "obs": obs,
            "action": action,
            "reward": reward,
            "terminal": terminal,
            "over": over,
            "next_obs": self.stack.copy(),
        }
        return self.stack.copy()


def key(obs: np.ndarray) -> tuple[int, int]:
    """(stream id, number) of an observation's newest frame."""
    newest = obs[-1, 0].astype(int)
    return newest[2], newest[0] + 256 * newest[1]


def _fill(buffer: ReplayBuffer, streams: list[FakeStream], steps: int, seed: int = 0) -> None:
    """Random episodes (lengths 1..12, some ended by termination, some by truncation, some with
    a lost life inside) in every stream, fed to the buffer as the training loop feeds it."""
    rng = np.random.default_rng(seed)
    envs = np.arange(len(streams))
    buffer.start(envs, np.stack([stream.reset() for stream in streams]))
    left = rng.integers(1, 13, size=len(streams))
    for _ in range(steps):
        actions = rng.integers(4, size=len(streams))
        rewards = rng.integers(-3, 4, size=len(streams)).astype(np.float32)
        over = left == 1
        terminal = (over & (rng.random(len(streams)) < 0.7)) | (rng.random(len(streams)) < 0.05)
        next_obs = np.stack(
            [
                stream.step(int(a), float(r), bool(t), bool(o))
                for stream, a, r, t, o in zip(
                    streams, actions, rewards, terminal, over, strict=True
                )
            ]
        )
        buffer.record(envs, actions, rewards, terminal, next_obs, over)
        left -= 1
        for env in np.flatnonzero(over):
            buffer.start(np.array([env]), streams[env].reset()[None])
            left[env] = rng.integers(1, 13)


def _find(streams: list[FakeStream], obs: np.ndarray) -> dict:
    ident, _ = key(obs)
    truth = streams[ident].transitions.get(key(obs))
    assert truth is not None, f"sampled an observation the env never acted on: {key(obs)}"
    np.testing.assert_array_equal(obs, truth["obs"])
    return truth


@pytest.mark.parametrize("padding", ["reset", "zero"])
@pytest.mark.parametrize("num_envs", [1, 3])
def test_one_step_samples_are_exactly_the_transitions_the_env_gave(padding, num_envs):
    buffer = ReplayBuffer(600, num_envs, STACKED, gamma=0.9, seed=1)
    streams = [FakeStream(padding, ident) for ident in range(num_envs)]
    _fill(buffer, streams, steps=150)
    batch = buffer.sample(256)
    for i in range(256):
        truth = _find(streams, batch["obs"][i])
        assert batch["actions"][i] == truth["action"]
        assert batch["returns"][i] == pytest.approx(truth["reward"])
        assert batch["discounts"][i] == pytest.approx(0.0 if truth["terminal"] else 0.9)
        np.testing.assert_array_equal(batch["next_obs"][i], truth["next_obs"])


def test_frame_stacks_are_sampled_frame_last_in_memory_as_the_cpu_cnn_takes_them():
    buffer = ReplayBuffer(600, 2, STACKED, gamma=0.9, seed=1)
    _fill(buffer, [FakeStream("reset", ident) for ident in range(2)], steps=50)
    batch = buffer.sample(32)
    for name in ("obs", "next_obs"):
        stacks = torch.from_numpy(batch[name])
        assert stacks.shape == (32, STACK, *FRAME)
        assert stacks.is_contiguous(memory_format=torch.channels_last), name


def test_after_wrapping_around_no_stack_reaches_an_overwritten_frame():
    buffer = ReplayBuffer(40, 1, STACKED, gamma=0.9, seed=2)
    stream = FakeStream("reset")
    _fill(buffer, [stream], steps=200)
    assert len(buffer) == 40
    batch = buffer.sample(512)
    newest_held = stream.counter
    for i in range(512):
        truth = _find([stream], batch["obs"][i])
        np.testing.assert_array_equal(batch["next_obs"][i], truth["next_obs"])
        # The stack's oldest real frame is among the 40 newest entries written.
        assert key(batch["obs"][i])[1] - (STACK - 1) > newest_held - 40


def _episode(buffer: ReplayBuffer, rewards, terminals, over_at_end: bool) -> None:
    """One episode in stream 0 with frames 1, 2, ...; obs t's newest frame is t + 1."""
    buffer.start(np.array([0]), np.full((1, *buffer.obs_shape), 1, np.uint8))
    for t, (reward, terminal) in enumerate(zip(rewards, terminals, strict=True)):
        last = t == len(rewards) - 1
        next_obs = np.full((1, *buffer.obs_shape), t + 2, np.uint8)
        buffer.record(
            np.array([0]),
            np.array([t]),
            np.array([reward], np.float32),
            np.array([terminal]),
            next_obs,
            np.array([last and over_at_end]),
        )


def _transition(buffer: ReplayBuffer, first_frame: int) -> dict:
    batch = buffer.sample(400)
    (rows,) = np.nonzero(batch["obs"][:, -1, 0, 0] == first_frame)
    assert len(rows), f"no transition from frame {first_frame} was sampled"
    return {key: value[rows[0]] for key, value in batch.items()}


def test_n_step_returns_match_a_hand_computed_example():
    # rewards 1, 2, 3, 4; the episode terminates on its 4th step; gamma 0.5, n = 3.
    buffer = ReplayBuffer(100, 1, STACKED, gamma=0.5, n_step=3, seed=3)
    _episode(buffer, [1, 2, 3, 4], [False, False, False, True], over_at_end=True)
    first = _transition(buffer, 1)  # 1 + 0.5*2 + 0.25*3, bootstrap from obs 3 with 0.5^3
    assert first["returns"] == pytest.approx(2.75)
    assert first["discounts"] == pytest.approx(0.125)
    assert first["next_obs"][-1, 0, 0] == 4
    second = _transition(buffer, 2)  # 2 + 0.5*3 + 0.25*4, then terminal: no bootstrap
    assert second["returns"] == pytest.approx(4.5)
    assert second["discounts"] == 0.0
    fourth = _transition(buffer, 4)  # the terminal step alone
    assert fourth["returns"] == pytest.approx(4.0)
    assert fourth["discounts"] == 0.0
    assert fourth["next_obs"][-1, 0, 0] == 5


def test_n_step_after_truncation_bootstraps_from_the_final_observation():
    buffer = ReplayBuffer(100, 1, STACKED, gamma=0.5, n_step=3, seed=4)
    _episode(buffer, [1, 2, 3, 4], [False] * 4, over_at_end=True)  # truncated, not terminal
    third = _transition(buffer, 3)  # 3 + 0.5*4, then the final obs (frame 5) with 0.5^2
    assert third["returns"] == pytest.approx(5.0)
    assert third["discounts"] == pytest.approx(0.25)
    assert third["next_obs"][-1, 0, 0] == 5


def test_a_lost_life_cuts_the_return_but_not_the_frame_stack():
    buffer = ReplayBuffer(100, 1, STACKED, gamma=0.5, n_step=3, seed=5)
    _episode(buffer, [1, 1, 1, 1, 1, 1], [False, True, False, False, False, False], False)
    first = _transition(buffer, 1)  # 1 + 0.5*1, and the step into frame 3 was terminal
    assert first["returns"] == pytest.approx(1.5)
    assert first["discounts"] == 0.0
    after = _transition(buffer, 4)  # the stack after the lost life still holds frames 1..4
    np.testing.assert_array_equal(after["obs"][:, 0, 0], [1, 2, 3, 4])


def test_the_newest_steps_wait_until_their_n_step_window_is_complete():
    buffer = ReplayBuffer(100, 1, STACKED, gamma=0.5, n_step=3, seed=6)
    _episode(buffer, [1, 1, 1, 1], [False] * 4, over_at_end=False)  # the episode goes on
    starts = set(buffer.sample(400)["obs"][:, -1, 0, 0])
    assert starts == {1, 2}  # from frames 3 and 4 fewer than 3 steps are known yet


def test_vector_observations_are_stored_whole():
    space = spaces.Box(-1, 1, (5,), np.float32)
    buffer = ReplayBuffer(50, 2, space, gamma=0.99, seed=7)
    assert buffer.stack == 1
    obs = np.random.default_rng(0).uniform(-1, 1, (2, 5)).astype(np.float32)
    buffer.start(np.arange(2), obs)
    next_obs = obs * 0.5
    buffer.record(
        np.arange(2),
        np.array([1, 2]),
        np.array([1.0, -1.0], np.float32),
        np.array([False, True]),
        next_obs,
        np.array([False, True]),
    )
    batch = buffer.sample(64)
    for i in range(64):
        env = int(np.argmin(np.abs(obs - batch["obs"][i]).sum(axis=1)))
        np.testing.assert_array_equal(batch["obs"][i], obs[env])
        np.testing.assert_array_equal(batch["next_obs"][i], next_obs[env])
        assert batch["discounts"][i] == pytest.approx([0.99, 0.0][env])


def test_a_million_atari_transitions_fit_in_8_gib():
    atari = spaces.Box(0, 255, (4, 84, 84), np.uint8)
    buffer = ReplayBuffer(1_000_000, 1, atari, gamma=0.99)  # numpy allocates lazily
    assert buffer.nbytes <= 8 * 2**30
    assert buffer.bytes_per_transition == pytest.approx(84 * 84 + 10)  # one frame + 10 bytes
    assert buffer.bytes_per_transition < 2 * 4 * 84 * 84 / 4  # < 1/4 of storing obs + next_obs


def test_sampling_an_empty_buffer_is_a_clear_error():
    buffer = ReplayBuffer(100, 1, STACKED, gamma=0.9)
    with pytest.raises(RuntimeError, match="no complete transition"):
        buffer.sample(8)


ARRAYS = ("frames", "kinds", "actions", "rewards", "terminals", "positions")


def _assert_same_buffer(buffer: ReplayBuffer, copy: ReplayBuffer) -> None:
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(copy, name), getattr(buffer, name), err_msg=name)
    for _ in range(3):  # the same rng state draws the same batches
        first, second = buffer.sample(32), copy.sample(32)
        for key in first:
            np.testing.assert_array_equal(first[key], second[key], err_msg=key)


# 2 streams of 60 entries; the streams' lengths differ (each episode start writes 3 PADs).
@pytest.mark.parametrize(
    ("steps", "wrapped"), [(20, 0), (38, 1), (150, 2)], ids=["partly-filled", "one-wrapped", "full"]
)
def test_save_and_load_round_trip(steps, wrapped, tmp_path):
    buffer = ReplayBuffer(120, 2, STACKED, gamma=0.9, n_step=2, seed=8)
    _fill(buffer, [FakeStream("reset", 0), FakeStream("reset", 1)], steps=steps)
    assert np.sum(buffer.positions >= buffer.stream_capacity) == wrapped
    buffer.save(tmp_path / "replay.npz")
    copy = ReplayBuffer(120, 2, STACKED, gamma=0.9, n_step=2, seed=99)
    _fill(copy, [FakeStream("zero", 0), FakeStream("zero", 1)], steps=200, seed=1)  # to replace
    copy.load(tmp_path / "replay.npz")
    _assert_same_buffer(buffer, copy)


def test_a_checkpoint_holds_only_the_entries_written(tmp_path):
    buffer = ReplayBuffer(1_000_000, 2, STACKED, gamma=0.9, seed=9)  # 16 MB, allocated lazily
    _fill(buffer, [FakeStream("reset", 0), FakeStream("reset", 1)], steps=500)
    buffer.save(tmp_path / "replay.npz")
    assert (tmp_path / "replay.npz").stat().st_size < buffer.nbytes / 100
    copy = ReplayBuffer(1_000_000, 2, STACKED, gamma=0.9)
    copy.load(tmp_path / "replay.npz")
    _assert_same_buffer(buffer, copy)


def test_a_replay_file_is_read_without_pickle(tmp_path):
    """A file whose arrays are pickled objects (which could run code when loaded) is refused,
    and so is one that is not a replay file at all; the buffer is left as it was."""
    buffer = ReplayBuffer(120, 2, STACKED, gamma=0.9, seed=10)
    _fill(buffer, [FakeStream("reset", 0), FakeStream("reset", 1)], steps=20)
    arrays = {name: getattr(buffer, name) for name in ARRAYS}
    rng = np.array(buffer.rng.bit_generator.state, dtype=object)  # pickled when saved
    np.savez(tmp_path / "pickled.npz", **arrays, shape=np.array(buffer.frames.shape), rng=rng)
    (tmp_path / "damaged.npz").write_bytes(b"PK\x03\x04 not a zip")
    copy = ReplayBuffer(120, 2, STACKED, gamma=0.9)
    for name in ("pickled.npz", "damaged.npz"):
        with pytest.raises(ValueError, match="is not a readable replay buffer"):
            copy.load(tmp_path / name)
        assert not copy.positions.any()


def test_a_buffer_larger_than_the_machine_is_refused_before_it_is_allocated():
    with pytest.raises(ValueError, match=r"more than the .* GiB this machine has"):
        ReplayBuffer(10**11, 1, STACKED, gamma=0.9)


VECTOR = spaces.Box(-1, 1, (5,), np.float32)


@pytest.mark.parametrize(
    ("saved", "loading"),
    [
        ((300, 2, STACKED), (300, 3, STACKED)),
        ((300, 2, STACKED), (200, 2, STACKED)),
        ((300, 2, STACKED), (300, 2, spaces.Box(0, 255, (STACK, 3, 3), np.uint8))),
        ((300, 2, VECTOR), (300, 2, spaces.Box(-1, 1, (5,), np.float64))),
    ],
    ids=["num-envs", "capacity", "frame-shape", "dtype"],
)
def test_loading_a_buffer_of_another_shape_is_refused(saved, loading, tmp_path):
    capacity, num_envs, space = saved
    buffer = ReplayBuffer(capacity, num_envs, space, gamma=0.9)
    buffer.start(np.arange(num_envs), np.zeros((num_envs, *space.shape), space.dtype))
    buffer.save(tmp_path / "replay.npz")
    other = ReplayBuffer(*loading, gamma=0.9)
    with pytest.raises(ValueError, match="another shape"):
        other.load(tmp_path / "replay.npz")
    assert not other.positions.any()
