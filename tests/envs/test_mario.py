"""SuperMarioLand-v0 against the stand-in ROM (`envs/mario_standin.py`): start-up, its worker and
its errors (down to the agents' commands), the buttons, reward and episode end, both observations
against PyBoy's own, seeded resets, the DQN pipeline; and, for those who have the game, one run on
the real ROM."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from helpers import REPO_ROOT, run_python

import envs.mario
from envs._checks import MAX_FRAMESKIP
from envs.mario import (
    ACTION_MEANINGS,
    LEFT,
    NOOP,
    OBS_TYPES,
    RIGHT,
    RIGHT_A,
    ROM_ENV_VAR,
    A,
    RomError,
    SuperMarioLandEnv,
    global_checksum,
    header_checksum,
    start_up,
)
from envs.mario_standin import (
    GOAL_BLOCK,
    LEFT_EDGE,
    START_X,
    stand_in_rom,
    with_checksums,
    write_stand_in_rom,
)
from wrappers import make_dqn_env
from wrappers.resets import EpisodicLife, FireReset

STEPS_TO_THE_EDGE = -(-(START_X - LEFT_EDGE) // 4)  # LEFT steps from the start to a fall


@pytest.fixture
def make(mario_rom):
    """Makes SuperMarioLandEnvs on the stand-in ROM and closes them after the test."""
    envs = []

    def make_env(**kwargs) -> SuperMarioLandEnv:
        env = SuperMarioLandEnv(rom_path=mario_rom, **kwargs)
        envs.append(env)
        return env

    yield make_env
    for env in envs:
        env.close()


def _steps(env: SuperMarioLandEnv, action: int, count: int) -> list[tuple]:
    return [env.step(action) for _ in range(count)]


@pytest.mark.parametrize("obs_type", OBS_TYPES)
@pytest.mark.parametrize("render_mode", [None, "rgb_array", "human"])
def test_check_env(mario_rom, obs_type, render_mode):
    env = gym.make(
        "SuperMarioLand-v0", rom_path=mario_rom, obs_type=obs_type, render_mode=render_mode
    )
    check_env(env.unwrapped, skip_render_check=False)
    env.close()


def test_reset_starts_world_1_1_with_the_game_running(make):
    env = make()
    obs, info = env.reset(seed=0)
    assert obs.shape == (16, 20) and obs.dtype == np.uint8
    assert info == {
        "world": 1,
        "level": 1,
        "progress": START_X,
        "score": 0,
        "coins": 0,
        "lives": 2,
        "time_left": 400,
    }
    assert env.lives == 2
    assert env.get_action_meanings() == list(ACTION_MEANINGS)
    assert ACTION_MEANINGS[:3] == ("NOOP", "LEFT", "RIGHT")


def test_right_earns_progress_and_left_costs_it(make):
    env = make(progress_reward=0.5)
    env.reset(seed=0)
    walked = _steps(env, RIGHT, 20)
    progress = [info["progress"] for _, _, _, _, info in walked]
    # A pixel a frame, 4 frames a step (the first step shows 3: the screen scrolled on its last
    # frame is drawn on the next), half a point a pixel.
    assert np.diff(progress).tolist() == [4] * 19
    assert [reward for _, reward, _, _, _ in walked] == pytest.approx(
        0.5 * np.diff([START_X, *progress])
    )
    _, reward, _, _, info = env.step(LEFT)
    assert reward < 0 and info["progress"] < progress[-1]


def test_buttons_are_held_through_the_frames_of_a_step_and_released_after(make):
    env = make(frameskip=3)
    env.reset(seed=0)

    def scroll_after(action: int) -> int:
        env.step(action)
        return env.pyboy.memory[0xFF43]  # SCX: the stand-in scrolls a pixel a frame RIGHT is down

    first = env.pyboy.memory[0xFF43]
    assert scroll_after(RIGHT) == first + 3
    assert scroll_after(RIGHT_A) == first + 6  # right still down, A with it
    assert scroll_after(NOOP) == first + 6  # both let go
    assert scroll_after(A) == first + 6
    assert scroll_after(RIGHT) == first + 9


def test_a_lost_life_costs_the_penalty_and_earns_no_progress(make):
    env = make(life_loss_penalty=7.0)
    env.reset(seed=0)
    results = _steps(env, LEFT, STEPS_TO_THE_EDGE)
    _, reward, terminated, _, info = results[-1]
    assert info["lives"] == 1 and env.lives == 1
    assert reward == -7.0  # the jump back to the level's start is no progress
    assert not terminated
    assert all(r < 0 and r > -7.0 for _, r, _, _, _ in results[:-1])


def test_terminate_on_life_loss_ends_the_episode_at_the_first_life_lost(make):
    env = make(terminate_on_life_loss=True)
    env.reset(seed=0)
    results = _steps(env, LEFT, STEPS_TO_THE_EDGE)
    assert [terminated for _, _, terminated, _, _ in results] == [False] * (
        STEPS_TO_THE_EDGE - 1
    ) + [True]
    with pytest.raises(RuntimeError, match="reset"):
        env.step(NOOP)


def test_time_running_out_loses_a_life(make):
    env = make()
    env.reset(seed=0)
    env.pyboy.memory[0xDA01], env.pyboy.memory[0xDA02] = 0x01, 0x00  # one unit on the clock
    lives = [info["lives"] for _, _, _, _, info in _steps(env, NOOP, 4)]
    assert lives[0] == 2 and lives[-1] == 1  # the clock runs down every 8 frames
    assert env.step(NOOP)[4]["time_left"] > 390  # a full clock for the next life


def test_game_over_terminates(make):
    env = make(life_loss_penalty=1.0)
    env.reset(seed=0)
    rewards = []
    for _ in range(3):  # 2 lives to spare, then the last
        results = _steps(env, LEFT, STEPS_TO_THE_EDGE)
        rewards.append(results[-1][1])
    _, _, terminated, truncated, info = results[-1]
    assert terminated and not truncated
    assert rewards == [-1.0, -1.0, -1.0]
    assert info["lives"] == 0
    with pytest.raises(RuntimeError, match="reset"):
        env.step(NOOP)
    assert env.reset(seed=0)[1]["lives"] == 2


def test_finishing_a_level_earns_the_bonus(make):
    env = make(level_bonus=5.0, progress_reward=0.0)
    env.reset(seed=0)
    rewards = []
    while True:
        _, reward, _, _, info = env.step(RIGHT)
        rewards.append(reward)
        if info["level"] == 2:
            break
        assert len(rewards) < GOAL_BLOCK * 16 // 4 + 20
    assert rewards[-1] == 5.0 and sum(rewards) == 5.0
    assert info["world"] == 1 and info["progress"] < 64


def test_time_penalty_is_taken_every_step(make):
    env = make(time_penalty=0.25, progress_reward=0.0)
    env.reset(seed=0)
    assert [r for _, r, _, _, _ in _steps(env, NOOP, 3)] == [-0.25] * 3


def test_tiles_are_pybyos_game_area_through_mapping_minimal(make):
    env = make()
    env.reset(seed=0)
    wrapper = env.pyboy.game_wrapper
    wrapper.game_area_mapping(wrapper.mapping_minimal, 0)
    rng = np.random.default_rng(0)
    seen = set()
    for action in [RIGHT] * 60 + rng.integers(0, 8, size=60).tolist():
        obs, _, terminated, _, _ = env.step(action)
        np.testing.assert_array_equal(obs, wrapper.game_area())
        seen |= set(np.unique(obs).tolist())
        if terminated:
            env.reset()
    assert seen == {0, 1, 3}  # sky, Mario (a sprite) and the ground of the stand-in
    assert (obs[-2:] == 3).all()


def test_tiles_read_in_one_go_are_pyboys_game_area_for_any_video_state(make):
    """The stand-in never scrolls up or down, swaps tilemaps or tile data, nor shows more than
    one sprite: here video memory and registers are set at random, so that the game area wraps
    round both edges of the tilemap and sprites of both heights fall on and off it."""
    env = make()
    env.reset(seed=0)
    wrapper = env.pyboy.game_wrapper
    wrapper.game_area_mapping(wrapper.mapping_minimal, 0)
    memory = env.pyboy.memory
    rng = np.random.default_rng(0)
    scrolls = [(0, 0), (255, 255), (96, 0), (104, 120), (248, 136)]
    scrolls += rng.integers(256, size=(35, 2)).tolist()
    for i, (scx, scy) in enumerate(scrolls):
        if i % 8 == 0:
            for address, tile in enumerate(rng.integers(256, size=0x800).tolist(), 0x9800):
                memory[address] = tile
        # Sprites on (as the wrapper always draws them), window off, the rest at random.
        memory[0xFF40] = 0x83 | int(rng.choice([0, 0x04])) | int(rng.choice([0, 0x08, 0x10, 0x18]))
        memory[0xFF43], memory[0xFF42] = scx, scy
        oam = rng.integers(256, size=(40, 4))
        oam[rng.random(40) < 0.5, 0] = 0  # hidden, as games hide unused sprites
        oam[:, 2] %= 255  # tile 255's lower half is tile 0 here, tile 256 to the wrapper
        oam[:, 3] = 0
        for address, byte in enumerate(oam.ravel().tolist(), 0xFE00):
            memory[address] = byte
        obs, *_ = env.step(NOOP)
        np.testing.assert_array_equal(obs, wrapper.game_area(), err_msg=f"scroll {scx, scy}")


def test_pixels_are_the_rgb_screen(make):
    env = make(obs_type="pixels", render_mode="rgb_array")
    first, _ = env.reset(seed=0)
    assert first.shape == (144, 160, 3) and first.dtype == np.uint8
    obs = env.step(RIGHT)[0]
    np.testing.assert_array_equal(obs, env.render())
    np.testing.assert_array_equal(obs[..., 0], env.pyboy.screen.ndarray[..., 0])
    assert obs.flags.c_contiguous and not np.shares_memory(obs, env.pyboy.screen.ndarray)
    _steps(env, RIGHT, 30)
    assert not np.array_equal(env.render(), first)  # the screen scrolled
    np.testing.assert_array_equal(env.reset(seed=1)[0], first)  # and a reset brings it back


def test_reset_is_fast_and_seeds_the_timer(make):
    env = make()
    env.reset(seed=0)
    start = time.perf_counter()
    for _ in range(10):
        env.reset()
    assert (time.perf_counter() - start) / 10 < 0.05
    divs = set()
    for seed in range(8):
        env.reset(seed=seed)
        div = env.pyboy.memory[0xFF04]
        env.reset(seed=seed)
        assert env.pyboy.memory[0xFF04] == div
        divs.add(div)
    assert len(divs) > 4


@pytest.mark.parametrize("obs_type", OBS_TYPES)
def test_same_seed_same_game(make, obs_type):
    actions = np.random.default_rng(1).integers(0, 8, size=300).tolist()

    def play(env: SuperMarioLandEnv) -> list:
        obs, info = env.reset(seed=5)
        trace = [(obs.tobytes(), info)]
        for action in actions:
            obs, reward, terminated, _, info = env.step(action)
            trace.append((obs.tobytes(), reward, terminated, info))
            if terminated:
                obs, info = env.reset()
                trace.append((obs.tobytes(), info))
        return trace

    first, second = make(obs_type=obs_type), make(obs_type=obs_type)
    assert play(first) == play(second)
    assert play(first) == play(second)  # and again, after resets of a running game


def test_no_rom_makes_the_env_and_its_first_reset_says_how_to_pass_one(monkeypatch):
    monkeypatch.delenv(ROM_ENV_VAR, raising=False)
    env = gym.make("SuperMarioLand-v0")
    assert env.observation_space.shape == (16, 20)
    with pytest.raises(FileNotFoundError, match=f"rom_path=.*{ROM_ENV_VAR}"):
        env.reset(seed=0)
    env.close()


def test_the_rom_comes_from_the_variable_else_the_argument(monkeypatch, mario_rom, tmp_path):
    monkeypatch.setenv(ROM_ENV_VAR, str(mario_rom))
    env = gym.make("SuperMarioLand-v0")
    assert env.reset(seed=0)[1]["lives"] == 2
    env.close()
    with pytest.raises(FileNotFoundError, match="nowhere"):
        gym.make("SuperMarioLand-v0", rom_path=tmp_path / "nowhere.gb")


def test_a_missing_rom_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"missing.gb.*rom_path=.*{ROM_ENV_VAR}"):
        SuperMarioLandEnv(rom_path=tmp_path / "missing.gb")


@pytest.mark.parametrize(
    "content",
    [b"", b"not a rom" * 100, bytes(0x8001), bytes(0x4000)],
    ids=["empty", "text", "odd-size", "one-bank"],
)
def test_a_file_that_is_not_a_game_boy_rom_is_a_rom_error(tmp_path, content):
    path = tmp_path / "bad.gb"
    path.write_bytes(content)
    with pytest.raises(RomError, match="is not a Game Boy ROM \\(its size"):
        SuperMarioLandEnv(rom_path=path)


def test_the_stand_in_passes_both_checksums_as_a_good_dump_does():
    rom = stand_in_rom()
    assert rom[0x14D] == header_checksum(rom)
    assert int.from_bytes(rom[0x14E:0x150], "big") == global_checksum(rom) != 0


@pytest.mark.parametrize(
    ("damage", "checksum"),
    [
        ({0x14D: 0x00}, "header checksum \\(byte 0x14D is 0x00"),
        ({0x137: 0x00}, "header checksum"),  # a byte of the title
        ({0x14E: 0x00, 0x14F: 0x00}, "global checksum \\(bytes 0x14E-0x14F hold 0x0000"),
        ({0x200: 0x76}, "global checksum"),  # a byte of the program
        ({0x7FFF: 0x01}, "global checksum"),  # the last byte
    ],
)
def test_a_rom_failing_a_checksum_is_a_rom_error_saying_which(tmp_path, damage, checksum):
    rom = bytearray(stand_in_rom())
    for address, byte in damage.items():
        rom[address] = byte
    path = tmp_path / "damaged.gb"
    path.write_bytes(rom)
    with pytest.raises(RomError, match=f"fails the Game Boy {checksum}.*likely a damaged dump"):
        SuperMarioLandEnv(rom_path=path)


def test_an_all_zero_file_of_a_roms_size_fails_the_header_checksum(tmp_path):
    path = tmp_path / "zeros.gb"
    path.write_bytes(bytes(0x8000))
    with pytest.raises(RomError, match=r"header checksum.*or no Game Boy ROM at all"):
        SuperMarioLandEnv(rom_path=path)


def test_rom_errors_are_value_errors():
    assert issubclass(RomError, ValueError)  # what the agents' commands report in one line


def test_a_rom_pyboy_cannot_run_is_a_rom_error(tmp_path):
    rom = bytearray(stand_in_rom())
    rom[0x147] = 0xEE  # a cartridge type there is none of
    (tmp_path / "odd.gb").write_bytes(with_checksums(rom))
    env = SuperMarioLandEnv(rom_path=tmp_path / "odd.gb")
    with pytest.raises(RomError, match="PyBoy cannot run"):
        env.reset(seed=0)


def test_another_games_rom_is_a_rom_error_naming_its_title(tmp_path):
    path = write_stand_in_rom(tmp_path / "tetris.gb", title="TETRIS")
    with pytest.raises(RomError, match="'TETRIS', not Super Mario Land"):
        SuperMarioLandEnv(rom_path=path)


@pytest.mark.parametrize(
    ("kwargs", "stage"),
    [
        ({"shows_title_screen": False}, "its title screen"),
        ({"starts": False}, "the start of world 1-1"),
    ],
)
def test_start_up_gives_up_on_a_rom_that_never_gets_there(tmp_path, kwargs, stage):
    env = SuperMarioLandEnv(rom_path=write_stand_in_rom(tmp_path / "stuck.gb", **kwargs))
    with pytest.raises(RomError, match=f"did not reach {stage} within 3600 frames"):
        env.reset(seed=0)
    with pytest.raises(RomError, match=f"did not reach {stage}"):  # again, not PyBoy's error
        env.reset(seed=0)
    env.close()


def test_a_rom_with_a_ram_size_pyboy_does_not_know_is_a_rom_error(tmp_path):
    rom = bytearray(stand_in_rom())
    rom[0x149] = 9  # no such RAM size
    path = tmp_path / "odd.gb"
    path.write_bytes(with_checksums(rom))
    env = SuperMarioLandEnv(rom_path=path)
    with pytest.raises(RomError, match="PyBoy cannot run"):
        env.reset(seed=0)
    env.close()


def test_a_rom_that_hangs_the_emulator_is_stopped_and_is_a_rom_error(tmp_path, monkeypatch):
    """The stand-in's entry point is an illegal opcode, on which one PyBoy tick never returns:
    start-up's worker is stopped at its bound (lowered here) and killed."""
    monkeypatch.setattr(envs.mario, "STARTUP_TIMEOUT_S", 3.0)
    monkeypatch.setattr(envs.mario, "_START_UPS", {})  # start-ups run in this process so far
    workers = []

    class RecordedPopen(subprocess.Popen):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            workers.append(self)

    monkeypatch.setattr(subprocess, "Popen", RecordedPopen)
    env = SuperMarioLandEnv(rom_path=write_stand_in_rom(tmp_path / "hangs.gb", hangs=True))
    with pytest.raises(RomError, match=r"'.*hangs\.gb' hung the emulator during start-up"):
        env.reset(seed=0)
    assert len(workers) == 1 and workers[0].returncode is not None  # stopped, and reaped
    with pytest.raises(RomError, match="hung the emulator"):  # known now: no second wait
        SuperMarioLandEnv(rom_path=tmp_path / "hangs.gb").reset(seed=0)
    assert len(workers) == 1
    env.close()


def test_an_interrupted_start_up_leaves_no_worker_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(envs.mario, "_START_UPS", {})
    workers = []

    class InterruptedPopen(subprocess.Popen):
        def communicate(self, input=None, timeout=None):
            if timeout is not None:  # the wait for the worker's outcome: Ctrl-C in it
                workers.append(self)
                raise KeyboardInterrupt
            return super().communicate(input, timeout)

    monkeypatch.setattr(subprocess, "Popen", InterruptedPopen)
    env = SuperMarioLandEnv(rom_path=write_stand_in_rom(tmp_path / "hangs.gb", hangs=True))
    with pytest.raises(KeyboardInterrupt):
        env.reset(seed=0)
    assert len(workers) == 1 and workers[0].returncode is not None  # killed, and reaped
    env.close()


def test_a_worker_whose_parent_is_gone_ends_itself_on_a_hung_emulator():
    """Run alone, as if its parent had been killed: bound 1 s, it ends itself at 2 s."""
    worker = subprocess.run(
        [sys.executable, "-c", envs.mario._WORKER, "1"],
        input=stand_in_rom(hangs=True),
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        timeout=120,  # a safety net for this test only, far over the 2 s
    )
    assert worker.returncode != 0 and worker.stdout == b""
    assert b"Timeout" in worker.stderr  # faulthandler's watchdog ended it


def test_the_worker_imports_this_envs_package_wherever_the_user_is(tmp_path, monkeypatch):
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "__init__.py").write_text("raise ImportError('another envs package')")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(envs.mario, "_START_UPS", {})
    rom = write_stand_in_rom(tmp_path / "game.gb")
    assert SuperMarioLandEnv(rom_path=rom).reset(seed=0)[1]["lives"] == 2


def test_the_workers_start_up_is_the_same_as_one_run_here(mario_rom):
    rom = mario_rom.read_bytes()
    pyboy = envs.mario._emulator(rom)
    assert start_up(pyboy) is None
    here = io.BytesIO()
    pyboy.save_state(here)
    pyboy.stop(save=False)
    assert envs.mario._start_up_in_worker(rom) == ("started", here.getvalue())


def test_envs_of_one_rom_share_one_start_up(tmp_path, monkeypatch, mario_rom):
    """A vector env's copies of a ROM (the same bytes, from any path) pay for the worker once."""
    monkeypatch.setattr(envs.mario, "_START_UPS", {})
    started = []
    worker = envs.mario._start_up_in_worker
    monkeypatch.setattr(
        envs.mario, "_start_up_in_worker", lambda rom: started.append(rom) or worker(rom)
    )
    vector = gym.make_vec("SuperMarioLand-v0", 3, vectorization_mode="sync", rom_path=mario_rom)
    vector.reset(seed=0)
    copy = tmp_path / "copy.gb"
    copy.write_bytes(mario_rom.read_bytes())
    assert SuperMarioLandEnv(rom_path=copy).reset(seed=0)[1]["lives"] == 2
    assert len(started) == 1
    other = bytearray(mario_rom.read_bytes())
    other[0x7000] = 0xFF  # a byte the program never reads: another ROM, as good
    (tmp_path / "other.gb").write_bytes(with_checksums(other))
    assert SuperMarioLandEnv(rom_path=tmp_path / "other.gb").reset(seed=0)[1]["lives"] == 2
    assert len(started) == 2
    vector.close()


@pytest.mark.parametrize(
    "command",
    [
        ["-m", "agents.dqn", "--env", "SuperMarioLand-v0", "--total-timesteps", "100"],
        ["-m", "agents.human", "--env", "SuperMarioLand-v0", "--rom", "{rom}"],
    ],
    ids=["dqn", "human"],
)
def test_the_commands_report_a_rom_that_never_boots_in_one_line(tmp_path, monkeypatch, command):
    rom = write_stand_in_rom(tmp_path / "never_boots.gb", shows_title_screen=False)
    monkeypatch.setenv(ROM_ENV_VAR, str(rom))
    result = run_python(*(part.format(rom=rom) for part in command), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "error: SuperMarioLand-v0 cannot" in line
    assert "did not reach its title screen within 3600 frames" in line


def test_no_progress_is_earned_while_the_screen_is_off(mario_rom):
    env = SuperMarioLandEnv(rom_path=mario_rom)
    env.reset(seed=0)
    _steps(env, RIGHT, 30)  # walking and scrolling right
    lcdc = env.pyboy.memory[0xFF40]
    env.pyboy.memory[0xFF40] = lcdc & 0x7F  # the game turns the screen off (a level load, say)
    off = env.step(NOOP)[1]
    env.pyboy.memory[0xFF40] = lcdc
    back = env.step(NOOP)[1]
    assert off == 0.0 and back == 0.0  # the scroll reads 0 with the screen off: no fake progress
    assert env.step(RIGHT)[1] > 0  # plain play again
    env.close()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"frameskip": 0}, "frameskip must be an int from 1 to 3600 \\(a minute of play"),
        ({"frameskip": 2.0}, "frameskip must be an int from 1 to 3600"),
        ({"frameskip": MAX_FRAMESKIP + 1}, "frameskip must be an int from 1 to 3600"),
        ({"frameskip": 10**12}, "frameskip must be an int from 1 to 3600"),
        ({"obs_type": "rgb"}, "obs_type must be one of"),
        ({"render_mode": "ansi"}, "render_mode must be None or one of"),
        ({"progress_reward": float("nan")}, "progress_reward must be a finite number"),
        ({"life_loss_penalty": "10"}, "life_loss_penalty must be a finite number"),
        ({"level_bonus": True}, "level_bonus must be a finite number"),
        ({"time_penalty": float("inf")}, "time_penalty must be a finite number"),
    ],
)
def test_bad_arguments_are_value_errors(mario_rom, kwargs, match):
    with pytest.raises(ValueError, match=match):
        SuperMarioLandEnv(rom_path=mario_rom, **kwargs)


def test_bad_actions_and_steps_out_of_turn(make):
    env = make(render_mode="rgb_array")
    with pytest.raises(RuntimeError, match="before the first reset"):
        env.render()
    with pytest.raises(RuntimeError, match="reset"):
        env.step(NOOP)
    env.reset(seed=0)
    for action in (-1, 8, 1.0, "RIGHT", np.array([2])):
        with pytest.raises(ValueError, match="actions are the integers 0 \\(NOOP\\)"):
            env.step(action)
    assert env.step(np.int64(RIGHT))[4]["progress"] > START_X
    with pytest.raises(RuntimeError, match="without a render_mode"):
        make().render()


def test_keys_to_action_cover_every_action():
    import pygame

    keys = SuperMarioLandEnv().get_keys_to_action()
    assert set(keys.values()) == set(range(1, len(ACTION_MEANINGS)))
    assert keys[(pygame.K_RIGHT,)] == RIGHT and keys[(pygame.K_a,)] == LEFT
    assert keys[(pygame.K_d, pygame.K_SPACE)] == RIGHT_A


def test_dqn_pipeline_stacks_84x84_frames_of_the_pixels(mario_rom):
    env = make_dqn_env(
        "SuperMarioLand-v0", env_kwargs={"rom_path": str(mario_rom), "obs_type": "pixels"}
    )
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4, 84, 84) and obs.dtype == np.uint8
    wrappers = []
    layer = env
    while isinstance(layer, gym.Wrapper):
        wrappers.append(type(layer))
        layer = layer.env
    assert EpisodicLife in wrappers and FireReset not in wrappers
    assert "MaxAndSkipObservation" not in {w.__name__ for w in wrappers}  # it skips 4 itself
    obs, reward, *_ = env.step(RIGHT)
    assert obs.shape == (4, 84, 84) and reward > 0
    env.close()


def test_registered_with_a_step_limit():
    spec = gym.spec("SuperMarioLand-v0")
    assert spec.max_episode_steps == 10_000 and spec.kwargs == {}


@pytest.mark.skipif(
    not os.environ.get(ROM_ENV_VAR), reason=f"needs the real game: set {ROM_ENV_VAR}"
)
def test_the_real_game_starts_and_running_right_makes_progress():
    env = gym.make("SuperMarioLand-v0")
    obs, info = env.reset(seed=0)
    assert (info["world"], info["level"], info["lives"]) == (1, 1, 2)
    assert info["time_left"] == 400
    start, furthest = info["progress"], 0
    for _ in range(200):
        obs, _, terminated, truncated, info = env.step(RIGHT)
        assert obs.shape == (16, 20)
        furthest = max(furthest, info["progress"])
        if terminated or truncated:
            break
    assert furthest > start + 100  # a Goomba may end the run: its furthest point counts
    env.close()
