"""Super Mario Land: Nintendo's 1989 Game Boy game, played on the PyBoy emulator as a Gymnasium env.

The cartridge's own program runs in PyBoy, headless, silent and unthrottled; this module only
presses its buttons and reads its memory. The ROM is the user's, dumped from a cartridge they own:
nothing here contains or fetches it (`rom_path`, or the `DQN_ARCADE_SML_ROM` environment variable).
What the env reads of the game (the RAM map, the title-screen tiles) is PyBoy's Super Mario Land
game wrapper's (`pyboy.plugins.game_wrapper_super_mario_land`), which does the bookkeeping; start-up
is the wrapper's, with every wait bounded, and the tiles are read straight from video memory.

Start-up runs in a worker process, which the env can stop: on some bytes (an illegal opcode such as
0xD3, which a damaged dump can put in the program's way) one PyBoy `tick` never returns, holding
the interpreter lock, so no frame count, signal or thread in this process could end it. The worker
hands back the emulator's saved state, and each ROM's start-up is run once a process.

The tests and the benchmark run a stand-in ROM assembled in Python (`envs/mario_standin.py`) that
behaves like the game where the env looks, so all of it works without the game.
"""

from __future__ import annotations

import faulthandler
import hashlib
import io
import itertools
import math
import os
import signal
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from gymnasium import Env, spaces

from envs._checks import (
    checked_action,
    checked_frameskip,
    checked_obs_type,
    checked_render_mode,
    over_or_never_began,
)
from envs.window import FrameRendering

ROM_ENV_VAR = "DQN_ARCADE_SML_ROM"
CARTRIDGE_TITLE = "SUPER MARIOLAND"

# Each action is the Game Boy buttons held through the step's frames. B is run (and fire).
ACTIONS = (
    ("NOOP", ()),
    ("LEFT", ("left",)),
    ("RIGHT", ("right",)),
    ("A", ("a",)),
    ("RIGHT_A", ("right", "a")),
    ("RIGHT_B", ("right", "b")),
    ("RIGHT_A_B", ("right", "a", "b")),
    ("LEFT_A", ("left", "a")),
)
ACTION_MEANINGS = tuple(name for name, _ in ACTIONS)
NOOP, LEFT, RIGHT, A, RIGHT_A, RIGHT_B, RIGHT_A_B, LEFT_A = range(len(ACTIONS))
OBS_TYPES = ("tiles", "pixels")

GAME_BOY_FPS = 60  # 59.7, to be exact
SCREEN_SHAPE = (144, 160, 3)
GAME_AREA_SHAPE = (16, 20)  # tile rows 2-17 of the screen: all of it below the status bar
STARTUP_FRAMES = 3_600  # each wait of start-up gives up after a minute of game time
# The start-up worker's bound, its launch included (about a second; its frames take less): a ROM
# that has not reached the first playable frame by then has hung the emulator.
STARTUP_TIMEOUT_S = 60.0
TELEPORT_PIXELS_PER_FRAME = 16  # progress faster than this is a jump of the camera, not a walk

# Tilemap identifiers as PyBoy numbers them (0-383), and where the game shows them.
_START = [284, 285, 266, 283, 285]  # "START" on the title screen: columns 6-10 of row 13
_MARIO = [278, 266, 283, 274, 280]  # "MARIO" in the status bar, columns 0-4 of row 0, once playing
_ZERO = 256  # the score's last digit, column 5 of row 1, once playing

_GAME_OVER = 0x39  # in C0A4
_PLAY_STATES = (0x00, 0x0D)  # FFB3 in normal play and in auto-scrolling levels
# Where the game area's tiles lie in the 16 tilemap rows read from its top row (16 x 32 bytes),
# one (16, 20) index array for each tilemap column the area can start at (SCX // 8): built once,
# so a step gathers its tiles in one numpy call, the right edge's wrap included.
_AREA_INDICES = tuple(
    np.arange(GAME_AREA_SHAPE[0])[:, None] * 32 + (left + np.arange(GAME_AREA_SHAPE[1])) % 32
    for left in range(32)
)
_ROM_MIN_SIZE, _ROM_BANK, _ROM_MAX_SIZE = 0x8000, 0x4000, 0x800000


class RomError(ValueError):
    """A ROM that SuperMarioLand-v0 cannot play: not a Game Boy ROM, a damaged dump (a checksum
    fails, or start-up never reaches the game or hangs the emulator), or another game's."""


def header_checksum(rom: bytes) -> int:
    """The Game Boy header checksum of `rom` (over 0x134-0x14C), which byte 0x14D holds in a good
    dump; the boot ROM refuses a cartridge whose header fails it."""
    checksum = 0
    for byte in rom[0x134:0x14D]:
        checksum = (checksum - byte - 1) & 0xFF
    return checksum


def global_checksum(rom: bytes) -> int:
    """The Game Boy global checksum of `rom`: the sum of all its bytes but 0x14E-0x14F, which hold
    it (big-endian) in a good dump, modulo 2**16."""
    return (sum(rom) - rom[0x14E] - rom[0x14F]) & 0xFFFF


def cartridge_title(rom: bytes) -> str:
    """The title in a Game Boy ROM's header, up to its first NUL, as PyBoy reads it."""
    return rom[0x134:0x143].split(b"\0", 1)[0].decode("ascii", errors="replace")


def read_rom(path: str | os.PathLike) -> bytes:
    """The bytes of the Super Mario Land ROM at `path`, its checksums verified. Raises
    FileNotFoundError for a missing file, RomError (a ValueError) for one that is not a Game Boy
    ROM, fails a checksum or is another game's."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"No Super Mario Land ROM at {str(path)!r}: pass rom_path='.../your-dump.gb' or set "
            f"{ROM_ENV_VAR} to the ROM you dumped from your own cartridge."
        )
    size = path.stat().st_size
    rom = path.read_bytes() if size <= _ROM_MAX_SIZE else b""
    if len(rom) < _ROM_MIN_SIZE or len(rom) % _ROM_BANK:
        raise RomError(
            f"{str(path)!r} is not a Game Boy ROM (its size, {size} bytes, is not a multiple of "
            "16 KiB from 32 KiB to 8 MiB): SuperMarioLand-v0 needs a dump of the Super Mario Land "
            "cartridge."
        )
    if rom[0x14D] != header_checksum(rom):
        raise RomError(
            f"{str(path)!r} fails the Game Boy header checksum (byte 0x14D is "
            f"0x{rom[0x14D]:02X}, its header sums to 0x{header_checksum(rom):02X}): it is likely a "
            "damaged dump, or no Game Boy ROM at all; dump the cartridge again."
        )
    stored = int.from_bytes(rom[0x14E:0x150], "big")
    if stored != global_checksum(rom):
        raise RomError(
            f"{str(path)!r} fails the Game Boy global checksum (bytes 0x14E-0x14F hold "
            f"0x{stored:04X}, its bytes sum to 0x{global_checksum(rom):04X}): it is likely a "
            "damaged dump; dump the cartridge again."
        )
    title = cartridge_title(rom)
    if title != CARTRIDGE_TITLE:
        raise RomError(
            f"{str(path)!r} is a ROM of {title!r}, not Super Mario Land (title "
            f"{CARTRIDGE_TITLE!r}): SuperMarioLand-v0 plays only that game."
        )
    return rom


def _import_pyboy() -> Any:
    """The pyboy package, imported without the warning its SDL2 bindings give (no window is
    ever opened here)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Using SDL2 binaries", UserWarning)
        import pyboy
        import pyboy.plugins.base_plugin
        import pyboy.plugins.game_wrapper_super_mario_land
        import pyboy.utils
    return pyboy


def _tile_tables() -> tuple[bytes, bytes]:
    """What a tilemap byte is in the observation (`mapping_minimal` of PyBoy's wrapper), when the
    background takes its tiles from 0x8800 (signed bytes) and from 0x8000 (unsigned): tables for
    `bytes.translate`, which maps the game area's bytes in one go."""
    mapping_minimal = _import_pyboy().plugins.game_wrapper_super_mario_land.mapping_minimal
    byte = np.arange(256)
    signed = mapping_minimal[((byte ^ 0x80) - 128) + 256].astype(np.uint8)
    return signed.tobytes(), mapping_minimal[:256].astype(np.uint8).tobytes()


def _sprite_on_screen_tables() -> dict[int, bytes]:
    """For each sprite height, a `bytes.translate` table from an OAM y byte to 1 if a sprite there
    shows on screen (-height < y - 16 < 144, as PyBoy's sprites), else 0."""
    return {height: bytes(int(16 - height < y < 160) for y in range(256)) for height in (8, 16)}


def _checked_weight(name: str, weight: Any) -> float:
    if (
        isinstance(weight, bool)
        or not isinstance(weight, (int, float, np.integer, np.floating))
        or not math.isfinite(weight)
    ):
        raise ValueError(f"SuperMarioLand {name} must be a finite number, got {weight!r}.")
    return float(weight)


def _invalid_action(action: Any) -> ValueError:
    names = ", ".join(f"{i} ({name})" for i, name in enumerate(ACTION_MEANINGS))
    return ValueError(f"SuperMarioLand actions are the integers {names}; got {action!r}.")


# ---- Start-up: power-on to the first playable frame, in a worker process. ----

_WORKER = "from envs.mario import _start_up_worker; _start_up_worker()"
# Start-up outcomes by the SHA-256 of the ROM (see `_start_up_in_worker`), for this process.
_START_UPS: dict[bytes, tuple[str, Any]] = {}
_START_UPS_LOCK = threading.Lock()


def _emulator(rom: bytes) -> Any:
    """A headless, silent, unthrottled PyBoy on `rom`, at power-on."""
    pyboy = _import_pyboy().PyBoy(
        io.BytesIO(rom), window="null", sound_emulated=False, log_level="ERROR"
    )
    pyboy.set_emulation_speed(0)
    return pyboy


def start_up(pyboy: Any) -> str | None:
    """Plays a PyBoy at power-on through the title screen to the first playable frame of world
    1-1, as the wrapper's start_game() does but with its two unbounded waits bounded at
    STARTUP_FRAMES frames each: None once there, else the stage it never reached."""
    tiles = pyboy.tilemap_background
    if not _ticked_until(pyboy, lambda: tiles[6:11, 13] == _START):
        return "its title screen"
    pyboy.tick(3, False)
    pyboy.button("start")
    pyboy.tick(1, False)
    if not _ticked_until(pyboy, lambda: tiles[0:5, 0] == _MARIO and tiles[5, 1] == _ZERO):
        return "the start of world 1-1"
    return None


def _ticked_until(pyboy: Any, condition: Callable[[], bool]) -> bool:
    for _ in range(STARTUP_FRAMES):
        pyboy.tick(1, True)  # rendered: the saved state's screen is what reset shows
        if condition():
            return True
    return False


def _start_up_worker() -> None:
    """The worker process: reads a ROM on stdin, runs `start_up`, and writes on stdout b"S" and
    the emulator's saved state at the first playable frame, or b"T" and the stage never
    reached. It ends itself after twice its parent's bound, should its parent be gone: the
    watchdog of faulthandler runs without the interpreter lock that a hung tick holds."""
    faulthandler.dump_traceback_later(2 * float(sys.argv[1]), exit=True)
    outcome = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything else printed goes to stderr, not into the outcome
    pyboy = _emulator(sys.stdin.buffer.read())
    stuck_at = start_up(pyboy)
    if stuck_at is None:
        state = io.BytesIO()
        pyboy.save_state(state)
        outcome.write(b"S" + state.getvalue())
    else:
        outcome.write(b"T" + stuck_at.encode())
    outcome.close()


def _start_up_in_worker(rom: bytes) -> tuple[str, Any]:
    """`start_up` of `rom` in a worker process, stopped after STARTUP_TIMEOUT_S: ("started", the
    saved state), ("stuck", the stage never reached), ("hung", None) or ("crashed", why)."""
    # A fresh interpreter on this one's import path: not a fork, as this process may have threads,
    # and not a multiprocessing child, which the daemonic workers of async vector envs (Gymnasium's
    # AsyncVectorEnv, SB3's SubprocVecEnv) may not start. It runs beside this `envs` package, which
    # `-c` puts first on its path, so that no other `envs` where the user is can stand in for it.
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, filter(None, sys.path)))}
    worker = subprocess.Popen(
        [sys.executable, "-c", _WORKER, str(STARTUP_TIMEOUT_S)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=Path(__file__).resolve().parent.parent,
        env=environment,
    )
    try:
        out, err = worker.communicate(rom, timeout=STARTUP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return "hung", None
    finally:
        if worker.poll() is None:  # timed out, or this process was interrupted (Ctrl-C)
            worker.kill()
            worker.communicate()
    if worker.returncode == 0 and out[:1] == b"S":
        return "started", out[1:]
    if worker.returncode == 0 and out[:1] == b"T":
        return "stuck", out[1:].decode()
    said = err.decode(errors="replace").strip().splitlines()
    if said:
        return "crashed", said[-1]
    if worker.returncode < 0:
        return "crashed", f"killed by {signal.Signals(-worker.returncode).name}"
    return "crashed", f"exit status {worker.returncode}"


class SuperMarioLandEnv(FrameRendering, Env[np.ndarray, int]):
    """
    ## Description

    Super Mario Land (Nintendo, 1989, for the Game Boy), the cartridge itself running in the PyBoy
    emulator. Mario runs right through Sarasaland's 4 worlds of 3 levels each, past Goombas,
    Koopas and pits, against a 400-second clock, with 3 lives (more from 100 coins or a heart).
    An episode is one game, from world 1-1 to the game over.

    The ROM is yours: dump it from a cartridge you own and pass its path as `rom_path`, or set
    the environment variable `DQN_ARCADE_SML_ROM` to it. `gym.make` works without a ROM (to
    read the spaces, say); the first `reset()` needs it. PyBoy runs with no window, no sound
    and no speed limit, and renders only the frames that are observed.

    ## Action Space

    `Discrete(8)` (`get_action_meanings()`): the buttons held through a step's frames.

    | Num | Action      | Buttons          | Mario                           |
    |-----|-------------|------------------|---------------------------------|
    | 0   | `NOOP`      | none             | stands                          |
    | 1   | `LEFT`      | left             | walks left                      |
    | 2   | `RIGHT`     | right            | walks right                     |
    | 3   | `A`         | A                | jumps                           |
    | 4   | `RIGHT_A`   | right, A         | jumps right                     |
    | 5   | `RIGHT_B`   | right, B         | runs right (and throws a ball)  |
    | 6   | `RIGHT_A_B` | right, A, B      | a running jump                  |
    | 7   | `LEFT_A`    | left, A          | jumps left                      |

    A button held in two steps in a row stays down in between: A held on is one long (higher)
    jump, and jumping again takes a step without A, as on the Game Boy. Buttons the new action
    does not hold are released before its first frame. Other actions raise `ValueError`.

    ## Observation Space

    `obs_type="tiles"` (default): the game area, the 16x20 tiles of the screen below the status
    bar, following the scroll, `Box(0, 4, (16, 20), uint8)`, through PyBoy's `mapping_minimal`:

    | Value | Tiles                                                              |
    |-------|--------------------------------------------------------------------|
    | 0     | nothing: sky, background, scenery                                  |
    | 1     | Mario (and Daisy, the plane, the submarine)                        |
    | 2     | coins, mushrooms, hearts, stars, the level-end lever               |
    | 3     | ground, blocks, pipes, platforms, question blocks                  |
    | 4     | enemies and their projectiles, spikes                              |

    Sprites (Mario, enemies) are drawn over the background tiles, each at the tile its top left
    corner is in (with an 8x16 sprite's lower half one row below), as PyBoy's `game_area()`.

    `obs_type="pixels"`: the screen, `Box(0, 255, (144, 160, 3), uint8)`, RGB, PyBoy's grey
    palette.

    ## Rewards

    Each step's reward is

        progress_reward * (pixels Mario moved right, negative for left)
        - life_loss_penalty (when a life is lost: one fewer, or the game over)
        + level_bonus (when a level is finished: world or level goes up)
        - time_penalty

    Progress is PyBoy's `level_progress`: Mario's x in the level, in pixels. It earns nothing on
    the step a level changes or a life is lost, nor when it jumps by more than 16 pixels a frame
    (the camera moving, as at a respawn or through a pipe), nor unless this step and the one
    before were plain play (the screen on, no respawn timer (FFA6), the game state FFB3 in
    normal or auto-scrolling play), so only walking and running count.

    ## Starting State

    World 1-1, 400 on the clock, 2 lives to spare, on the first frame the game can be played.
    The first `reset()` starts the game up: a worker process (a fresh Python, about a second)
    boots the ROM and goes through the title screen, each wait bounded at 3,600 frames
    (`STARTUP_FRAMES`), and hands back the emulator's saved state, which the env loads into its
    own PyBoy; every `reset()` loads it again (no reboot). The worker is stopped after 60 s
    (`STARTUP_TIMEOUT_S`): on some bytes, as a damaged dump can hold, one tick of the emulator
    never returns, and no bound on frames inside this process could end it. A process starts
    each ROM once: the envs of a vector env, and any later env of the same bytes, share the
    state (or the error). The game's randomness comes from the timer's DIV register, which
    each reset sets to a value drawn from `self.np_random`: the same seed, the same game.

    ## Episode End

    Termination: game over (or, with `terminate_on_life_loss=True`, the first life lost).
    Truncation: `SuperMarioLand-v0` is registered with `max_episode_steps=10_000`, about 11
    minutes of play at 4 frames a step.

    `info` holds `world` and `level`, `progress`, `score`, `coins`, `lives` (lives to spare: 2 at
    the start, 0 on the last life) and `time_left`, as the game shows them.

    ## Arguments

    ```bash
    # Not run here: it needs your ROM.
    python -c 'import gymnasium as gym, registry
    env = gym.make("SuperMarioLand-v0", rom_path="super_mario_land.gb", obs_type="pixels")
    obs, info = env.reset(seed=0)
    print(obs.shape, info)'
    ```

    | Parameter                | Type      | Default   | Description                            |
    |--------------------------|-----------|-----------|----------------------------------------|
    | `rom_path`               | **str**   | `None`    | the ROM; `None`: `$DQN_ARCADE_SML_ROM` |
    | `frameskip`              | **int**   | `4`       | frames a step (1-3600), buttons held  |
    | `obs_type`               | **str**   | `"tiles"` | `"tiles"` (game area) or `"pixels"`    |
    | `progress_reward`        | **float** | `0.1`     | reward a pixel of progress right       |
    | `life_loss_penalty`      | **float** | `10.0`    | cost of a lost life (and game over)    |
    | `level_bonus`            | **float** | `50.0`    | reward for finishing a level           |
    | `time_penalty`           | **float** | `0.0`     | cost of every step                     |
    | `terminate_on_life_loss` | **bool**  | `False`   | end the episode at the first life lost |
    | `render_mode`            | **str**   | `None`    | `"rgb_array"` (the screen) or `"human"` |

    A missing ROM file raises `FileNotFoundError` from `gym.make`. A ROM the env cannot play
    raises `RomError`, a `ValueError` (so the agents' commands report it in one line): from
    `gym.make`, a file that is not a Game Boy ROM, one that fails the header checksum (0x14D) or
    the global checksum (0x14E-0x14F), as a damaged dump does (the error says which), or another
    game's (the error names its title); from the first `reset()`, one PyBoy cannot run, one whose
    start-up does not reach its title screen or world 1-1 within 3,600 frames, or one that hangs
    the emulator or makes its worker die. `frameskip` is at most 3,600, a minute of play a step.

    `render_mode="human"` opens a pygame window (the screen scaled 3 times) at the Game Boy's 60
    frames a second. To play: `python -m agents.human --env SuperMarioLand-v0 --rom
    FILE` (or `gymnasium.utils.play.play` on `render_mode="rgb_array"`), with the keys of
    `get_keys_to_action()`: the arrows (or A and D) walk, space is A (jump), left shift is B (run).

    ## Version History

    * v0: the cartridge on PyBoy 2. Start-up, the RAM map and the tile mapping are PyBoy's game
      wrapper's; start-up bounds every wait, and the tiles are read from video memory in one go
      (the wrapper's `game_area()` reads them one at a time), using the playfield's scroll on
      its first line for the whole game area.
    * v0, later, the game unchanged: both checksums of the ROM are verified; start-up runs in a
      worker process stopped after 60 s, once per ROM in a process; start-up failures are
      `RomError` (a `ValueError`; a ROM that never reached its title screen was a
      `RuntimeError`); `frameskip` is at most 3,600.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": GAME_BOY_FPS // 4}
    render_name, window_title, window_scale = "SuperMarioLand", "Super Mario Land", 3

    def __init__(
        self,
        rom_path: str | os.PathLike | None = None,
        frameskip: int = 4,
        obs_type: str = "tiles",
        progress_reward: float = 0.1,
        life_loss_penalty: float = 10.0,
        level_bonus: float = 50.0,
        time_penalty: float = 0.0,
        terminate_on_life_loss: bool = False,
        render_mode: str | None = None,
    ) -> None:
        self.frameskip = checked_frameskip("SuperMarioLand", frameskip)
        self.obs_type = checked_obs_type("SuperMarioLand", obs_type, OBS_TYPES)
        self.progress_reward = _checked_weight("progress_reward", progress_reward)
        self.life_loss_penalty = _checked_weight("life_loss_penalty", life_loss_penalty)
        self.level_bonus = _checked_weight("level_bonus", level_bonus)
        self.time_penalty = _checked_weight("time_penalty", time_penalty)
        self.terminate_on_life_loss = bool(terminate_on_life_loss)
        self.render_mode = checked_render_mode(
            "SuperMarioLand", render_mode, self.metadata["render_modes"]
        )
        self.metadata = {**self.metadata, "render_fps": max(1, round(GAME_BOY_FPS / frameskip))}
        self.action_space = spaces.Discrete(len(ACTIONS))
        if self.obs_type == "tiles":
            self.observation_space = spaces.Box(0, 4, shape=GAME_AREA_SHAPE, dtype=np.uint8)
        else:
            self.observation_space = spaces.Box(0, 255, shape=SCREEN_SHAPE, dtype=np.uint8)

        if rom_path is None:
            rom_path = os.environ.get(ROM_ENV_VAR) or None
        self.rom_path = rom_path
        self._rom = None if rom_path is None else read_rom(rom_path)

        self.pyboy = None  # the emulator, started by the first reset()
        self._wrapper = None
        self._tile_tables = _tile_tables()
        self._sprite_tables = _sprite_on_screen_tables()
        self._buttons = [frozenset(buttons) for _, buttons in ACTIONS]
        self._held: frozenset[str] = frozenset()
        self._render_frames = self.obs_type == "pixels" or self.render_mode is not None
        self._teleport = TELEPORT_PIXELS_PER_FRAME * self.frameskip
        self._lives = self._progress = 0
        self._world = (0, 0)
        self._over = True  # step() before reset() is refused like a step after the game

    @property
    def lives(self) -> int:
        """Lives to spare, as `info["lives"]`."""
        return self._lives

    def get_action_meanings(self) -> list[str]:
        return list(ACTION_MEANINGS)

    def get_keys_to_action(self) -> dict[tuple[int, ...], int]:
        """Keys for `gymnasium.utils.play`: the arrows or A and D walk, space is the A button
        (jump), left shift is B (run)."""
        import pygame

        keys = {
            "left": (pygame.K_LEFT, pygame.K_a),
            "right": (pygame.K_RIGHT, pygame.K_d),
            "a": (pygame.K_SPACE,),
            "b": (pygame.K_LSHIFT,),
        }
        return {
            combination: action
            for action, (_, buttons) in enumerate(ACTIONS)
            if buttons
            for combination in itertools.product(*(keys[button] for button in buttons))
        }

    # ---- Start-up: once per env, on the first reset. ----

    def _boot(self) -> None:
        if self._rom is None:
            raise FileNotFoundError(
                f"SuperMarioLand-v0 needs your own Super Mario Land ROM: pass "
                f"rom_path='.../your-dump.gb' to gym.make, or set {ROM_ENV_VAR} to its path."
            )
        pyboy_package = _import_pyboy()
        try:
            pyboy = _emulator(self._rom)
        except (pyboy_package.utils.PyBoyException, KeyError, IndexError, ValueError) as error:
            # PyBoy raises KeyError and friends for header bytes it does not know.
            raise RomError(
                f"PyBoy cannot run {str(self.rom_path)!r} ({error}): SuperMarioLand-v0 needs a "
                "dump of the Super Mario Land cartridge."
            ) from error
        try:
            pyboy.load_state(io.BytesIO(self._started_state()))
            # The base class's start_game() saves the state that reset_game() loads.
            base = pyboy_package.plugins.base_plugin.PyBoyGameWrapper
            base.start_game(pyboy.game_wrapper, timer_div=0)
        except BaseException:
            pyboy.stop(save=False)  # a half-started game is no use to the next reset()
            raise
        self.pyboy, self._wrapper = pyboy, pyboy.game_wrapper

    def _started_state(self) -> bytes:
        """The emulator's saved state at the ROM's first playable frame: this process's, if a
        start-up of the same bytes ran here before (the envs of a vector env share one), else
        a worker's. RomError if start-up failed, now or then."""
        key = hashlib.sha256(self._rom).digest()
        with _START_UPS_LOCK:
            outcome = _START_UPS.get(key)
            if outcome is None:
                outcome = _start_up_in_worker(self._rom)
                if outcome[0] != "crashed":  # a crash may be the machine's (out of memory, say)
                    _START_UPS[key] = outcome
        kind, detail = outcome
        rom = str(self.rom_path)
        if kind == "started":
            return detail
        if kind == "stuck":
            raise RomError(
                f"Super Mario Land did not reach {detail} within {STARTUP_FRAMES} frames: is "
                f"{rom!r} a good dump of the cartridge?"
            )
        if kind == "hung":
            raise RomError(
                f"{rom!r} hung the emulator during start-up (no playable frame after "
                f"{STARTUP_TIMEOUT_S:g} s, when its start-up process was stopped): it is likely a "
                "damaged dump; dump the cartridge again."
            )
        raise RomError(
            f"The start-up process of the emulator died on {rom!r} before the game's first "
            f"playable frame ({detail}): the ROM may be a damaged dump."
        )

    # ---- The Gymnasium API. ----

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if self.pyboy is None:
            self._boot()
        for button in self._held:
            self.pyboy.button_release(button)
        self._held = frozenset()
        self._wrapper.reset_game(timer_div=int(self.np_random.integers(256)))
        wrapper = self._wrapper
        self._lives, self._progress, self._world = (
            wrapper.lives_left,
            wrapper.level_progress,
            wrapper.world,
        )
        self._over = False
        self._playing = True
        if self.render_mode == "human":
            self.render()
        return self._observe(), self._info()

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        action = checked_action(action, len(ACTIONS), _invalid_action)
        if self._over:
            raise over_or_never_began("This Super Mario Land game")
        pyboy = self.pyboy
        buttons = self._buttons[action]
        if buttons is not self._held:
            for button in self._held - buttons:
                pyboy.button_release(button)
            for button in buttons - self._held:
                pyboy.button_press(button)
            self._held = buttons
        pyboy.tick(self.frameskip, self._render_frames, False)

        wrapper = self._wrapper
        lives, progress, world = wrapper.lives_left, wrapper.level_progress, wrapper.world
        memory = pyboy.memory
        game_over = memory[0xC0A4] == _GAME_OVER
        life_lost = lives < self._lives or game_over
        # Progress counts only between two steps of plain play: not while the screen is off
        # (level loads, respawns, pipes: the scroll reads 0 then), the respawn timer runs, or the
        # game is in another state (dying, a level's end, the bonus game).
        playing = bool(
            memory[0xFF40] & 0x80 and memory[0xFFA6] == 0 and memory[0xFFB3] in _PLAY_STATES
        )
        moved = progress - self._progress
        if (
            life_lost
            or world != self._world
            or abs(moved) > self._teleport
            or not (playing and self._playing)
        ):
            moved = 0
        self._playing = playing
        reward = (
            self.progress_reward * moved
            - self.life_loss_penalty * life_lost
            + self.level_bonus * (world > self._world)
            - self.time_penalty
        )
        self._lives, self._progress, self._world = lives, progress, world
        terminated = game_over or (life_lost and self.terminate_on_life_loss)
        self._over = terminated
        if self.render_mode == "human":
            self.render()
        return self._observe(), float(reward), terminated, False, self._info()

    def _info(self) -> dict[str, Any]:
        wrapper = self._wrapper
        return {
            "world": self._world[0],
            "level": self._world[1],
            "progress": self._progress,
            "score": wrapper.score,
            "coins": wrapper.coins,
            "lives": self._lives,
            "time_left": wrapper.time_left,
        }

    def _observe(self) -> np.ndarray:
        if self.obs_type == "pixels":
            return self._frame()
        return self.game_area()

    def game_area(self) -> np.ndarray:
        """The `obs_type="tiles"` observation: the (16, 20) uint8 game area, mapped."""
        pyboy = self.pyboy
        memory = pyboy.memory
        lcdc = memory[0xFF40]
        # The playfield's scroll, on its first line (the status bar above it does not scroll).
        scx, scy = pyboy.screen.tilemap_position_list[16][:2]
        tilemap = 0x9C00 if lcdc & 0x08 else 0x9800
        top = (scy // 8 + 2) % 32
        rows = GAME_AREA_SHAPE[0]
        if top + rows <= 32:
            raw = memory[tilemap + top * 32 : tilemap + (top + rows) * 32]
        else:  # the area wraps round the bottom of the 32x32 tilemap
            raw = memory[tilemap + top * 32 : tilemap + 1024]
            raw += memory[tilemap : tilemap + 32 * (top + rows - 32)]
        # bytearray() of PyBoy's list of ints: a tenth of np.array's time; translate() maps it.
        table = self._tile_tables[1] if lcdc & 0x10 else self._tile_tables[0]
        tiles = np.frombuffer(bytearray(raw).translate(table), dtype=np.uint8)
        area = tiles.take(_AREA_INDICES[scx // 8])
        if lcdc & 0x02:  # sprites on
            self._draw_sprites(area, memory, 16 if lcdc & 0x04 else 8)
        return area

    def _draw_sprites(self, area: np.ndarray, memory: Any, height: int) -> None:
        """Puts each sprite on screen over the tiles, in OAM order, as PyBoy's game_area()."""
        sprite_table = self._tile_tables[1]
        rows, columns = GAME_AREA_SHAPE
        # PyBoy reads memory a byte at a time (20 ns each): the sprites' y bytes first, and the
        # rest only of those on screen (games hide the unused ones at y = 0).
        ys = memory[0xFE00:0xFEA0:4]
        on_screen = bytearray(ys).translate(self._sprite_tables[height])
        sprite = -1
        while (sprite := on_screen.find(1, sprite + 1)) >= 0:
            oam = 0xFE00 + 4 * sprite
            x = memory[oam + 1] - 8
            if not -8 < x < 160:
                continue
            column, row = x // 8, (ys[sprite] - 16) // 8 - 2
            if not 0 <= column < columns:
                continue
            tile = memory[oam + 2]
            if 0 <= row < rows:
                area[row, column] = sprite_table[tile]
            if height == 16 and 0 <= row + 1 < rows:
                area[row + 1, column] = sprite_table[(tile + 1) & 0xFF]

    def _frame(self) -> np.ndarray:
        """A copy of PyBoy's screen as RGB (its buffer is RGBA); a saved state holds it too."""
        return cv2.cvtColor(self.pyboy.screen.ndarray, cv2.COLOR_RGBA2RGB)

    def _render_frame(self) -> np.ndarray:
        if self.pyboy is None:
            raise RuntimeError("SuperMarioLand has nothing to show before the first reset().")
        return self._frame()

    def close(self) -> None:
        super().close()
        if self.pyboy is not None:
            self.pyboy.stop(save=False)
            self.pyboy = self._wrapper = None
        self._over = True
