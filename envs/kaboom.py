"""Kaboom!: Activision's 1981 Atari 2600 game, rebuilt in Python as a Gymnasium env.

The Mad Bomber runs along the top of a wall dropping bombs; the player catches them in a stack of
water buckets. The rules are the cartridge's (its manual, and play on `ALE/Kaboom-v5`); the screen
copies the frames ALE makes of it (`ALE/Kaboom-v5`: the same 210x160 layout, sprites and colours,
measured from its frames), and so does the interface (actions, frame skip, sticky actions, the
108,000-frame cap), so code written for `ALE/Kaboom-v5` drives `Kaboom-v0` unchanged, over ten times
faster. `KaboomEnv`'s Version History lists where it departs from the cartridge.

Positions are integers: whole pixels of the 210x160 frame, or 1/16 pixel (fixed point) for bomb
heights and the bomber, so a game is exact and replays identically from its seed.
"""

from __future__ import annotations

import copy
import functools
import math
from dataclasses import dataclass, field
from typing import Any

import ale_py
import numpy as np
from gymnasium import Env, spaces

from envs._checks import (
    checked_action,
    checked_frameskip,
    checked_obs_type,
    checked_render_mode,
    is_int,
    over_or_never_began,
)
from envs.window import FrameRendering

ACTION_MEANINGS = ("NOOP", "FIRE", "RIGHT", "LEFT")
NOOP, FIRE, RIGHT, LEFT = range(4)
# The cartridge reads a paddle and its button, which can be worked at once: ALE's legal actions
# RIGHTFIRE and LEFTFIRE (through `KaboomEnv.ale.act`) give these two inputs besides the actions.
RIGHT_FIRE, LEFT_FIRE = 4, 5
OBS_TYPES = ("rgb", "grayscale", "state")

ATARI_FPS = 60
MAX_FRAMES_PER_EPISODE = 108_000  # ALE's v5 cap: 30 minutes of play
MAX_SCORE = 999_999
MAX_BUCKETS = 3
BONUS_BUCKET_EVERY = 1_000
SUBPIXELS = 16  # bomb heights and the bomber's position are in 1/16 pixel

# The frame, in pixels (row, column; ranges are [start, stop)). Measured on ALE's frames.
SCREEN_SHAPE = (210, 160, 3)
PLAYFIELD_LEFT, PLAYFIELD_RIGHT = 8, 152
WALL_TOP, GROUND_TOP, GROUND_BOTTOM = 7, 47, 189  # the wall is [7, 47), the ground [47, 189)
BOMBER_TOP, BOMBER_HEIGHT, BOMBER_WIDTH = 19, 32, 7  # 32 rows: with a bomb in hand
BOMBER_MIN_X, BOMBER_MAX_X = 17, 136  # the bomber's left column
# Where every game of ALE's starts him (his hat's centre at column 27), running right. The
# cartridge's randomness starts alike at every game: his path is the same in every game until the
# player's play (catches, misses, when FIRE comes) sets it apart (`KaboomEnv`'s `bomber_seed`).
BOMBER_START_X = 24
# The default `bomber_seed`: the first of seeds 0 to 399 whose opening is ALE's, its first ten bombs
# falling within 13 pixels of ALE's, bomb by bomb (`python benchmarks/kaboom_diagnosis.py opening`).
# How a game opens decides whether DQN learns it as it learns ALE's (docs/results.md).
BOMBER_SEED = 353
# After the opening, ALE's games part as the play sets them apart: under sticky actions, the
# scripted player's games (8 of them) drop their first 7 bombs alike and part from the 8th, about
# 30 pixels apart; without sticky actions every game is the same. Ours part so from the last catch
# of group 1 on: each catch reseeds the bomber's turns with where the buckets caught it
# (`_parted_turns`), so the same play still gives the same game
# (`test_after_the_opening_the_play_sets_games_apart_as_on_ale`).
OPENING_GROUPS = 1
BOMB_HEIGHT, BOMB_WIDTH = 13, 5  # fuse and body
BOMB_HAND_TOP = 38  # a bomb in the bomber's hand, and where a dropped one starts
BOMB_GROUND_TOP = GROUND_BOTTOM - BOMB_HEIGHT  # a bomb below this has hit the ground
BUCKET_HEIGHT, BUCKET_WIDTH = 8, 14
BUCKET_TOPS = (148, 164, 180)  # the stack, top bucket first; a miss costs the bottom one
BUCKET_MIN_X, BUCKET_MAX_X = 18, 126  # the stack's left column
BUCKET_START_X = 73
# ALE turns the cartridge's paddle at a steady rate while LEFT or RIGHT is held, and the buckets
# follow it: a frame late, halving the gap each frame (at least a pixel), 5 pixels a frame at full
# speed and a coast of about 11 after release. Fitted to ALE's frames: within 0.5 pixel on average
# (tests/envs/test_kaboom.py compares the two under random play).
PADDLE_SPEED = 84  # 1/16 pixel a frame (5.25 pixels) while LEFT or RIGHT is held
PADDLE_BEYOND = 32  # pixels the paddle turns past either end of the buckets' way
SCORE_TOP, SCORE_RIGHT, DIGIT_PITCH = 8, 98, 8  # right-aligned, 6x8 digits 8 pixels apart

# After a miss the bombs on screen blow up one by one from the lowest, then the screen flashes.
EXPLOSION_STAGGER = 6  # frames between two bombs going off
EXPLOSION_FRAMES = 12  # frames one explosion shows
FLASH_FRAMES = 16
FLASH_PERIOD = 4  # frames each flash colour shows

WAITING, PLAYING, EXPLODING = 0, 1, 2  # KaboomState.phase

# Uniform draws come from a generator in blocks: one generator call per few hundred steps.
_UNIFORM_BLOCK = 4096


class _Uniforms:
    """Uniform draws in [0, 1) from `source`, pre-drawn in blocks (`take`)."""

    def __init__(self, source: np.random.Generator) -> None:
        self.source = source
        self._values: list[float] = []
        self._index = 0

    def take(self, count: int) -> tuple[list[float], int]:
        """The pre-drawn values and the index of the `count` this call may use."""
        i = self._index
        if i + count > len(self._values):
            self._values = self.source.random(max(_UNIFORM_BLOCK, count)).tolist()
            i = 0
        self._index = i + count
        return self._values, i

    def put_back(self, count: int) -> None:
        """Returns the last `count` values the last `take` gave, unused: the next take starts
        with them."""
        self._index -= count


def _parted_turns(bomber_seed: int, state: KaboomState) -> _Uniforms:
    """The bomber's turns after a catch past the opening: from his seed, the score and where
    the buckets stand."""
    return _Uniforms(np.random.default_rng((bomber_seed, state.score, state.bucket_x)))


@dataclass(frozen=True)
class GroupRules:
    """How one group of bombs plays."""

    points: int
    """points for each bomb caught"""
    bombs: int
    """bombs in the group"""
    fall_speed: int
    """how far a bomb falls each frame, in 1/16 pixel"""
    drop_interval: int
    """frames between two bombs leaving the bomber's hand"""
    bomber_speed: int
    """how far the bomber runs each frame, in 1/16 pixel"""
    turn_chance: float
    """chance each frame that the bomber turns round: his erratic running"""
    halt_every: int = 0
    """with `halt_frames`: he halts the last `halt_frames` frames of every `halt_every` he plays
    (neither running nor turning), counted from FIRE; 0: he never halts"""
    halt_frames: int = 0


# Points and bombs are the cartridge's. Speeds are measured on ALE's frames for groups 1 to 6 and
# carried on for 7 and 8: bombs fall 1, 1.125, 2, 2.125, 3, 3.125, ... pixels a frame and leave the
# bomber's hand 36 pixels apart in odd groups, about 19 in even ones; the bomber runs about 1, 1.5,
# 2.5, 3, 3.5, 4 pixels a frame on average. His turns are measured on ALE's frames for groups 1 to
# 4 (a turn every 15 to 20 frames of running: he keeps near where he is) and carried on. Group 8
# repeats forever. ALE's bomber runs in a rhythm ours does not keep: 1, 2, 3, 4 pixels a frame in
# groups 1 to 4, halting 3 frames in 18 (groups 1, 2) or 1 in 9 (3, 4), a bomb leaving his hand 2
# frames after a halt; ours runs steadily at about his mean speed (docs/results.md, `python
# benchmarks/kaboom_diagnosis.py groups`).
GROUPS = tuple(
    GroupRules(*row)
    for row in (
        # points, bombs, fall_speed, drop_interval, bomber_speed, turn_chance
        (1, 10, 16, 36, 16, 0.064),
        (2, 20, 18, 18, 24, 0.051),
        (3, 30, 32, 18, 40, 0.059),
        (4, 40, 34, 9, 48, 0.068),
        (5, 50, 48, 12, 56, 0.065),
        (6, 75, 50, 6, 64, 0.065),
        (7, 100, 64, 9, 64, 0.065),
        (8, 150, 66, 5, 72, 0.065),
    )
)


def group_rules(group: int) -> GroupRules:
    """The rules of group `group` (1, 2, ...; from 8 on, group 8's)."""
    return GROUPS[min(group, len(GROUPS)) - 1]


def _bombs_on_screen_at_most() -> int:
    """The most bombs that can be falling at once: those dropped while the first one falls."""
    most = 0
    for rules in GROUPS:
        fall_frames = math.ceil(
            (BOMB_GROUND_TOP + 1 - BOMB_HAND_TOP) * SUBPIXELS / rules.fall_speed
        )
        most = max(most, fall_frames // rules.drop_interval + 1)
    return most


STATE_BOMB_SLOTS = _bombs_on_screen_at_most()
STATE_FIELDS = (
    "bucket_x",
    "buckets",
    "bomber_x",
    "bomber_direction",
    "group",
    "bombs_to_drop",
    "waiting",
    "exploding",
    "paddle_x",
    *(f"bomb{i}_{part}" for i in range(STATE_BOMB_SLOTS) for part in ("x", "y", "present")),
)


@dataclass(slots=True)
class KaboomState:
    """Everything a game of Kaboom! is at one frame; `KaboomEnv.state` is the live one.

    Positions are the left column and top row of a sprite in the 210x160 frame. Tests may set
    fields between steps (a bomb just above the buckets, a score just under 1,000).
    """

    score: int = 0
    buckets: int = MAX_BUCKETS
    group: int = 1
    bombs_to_drop: int = GROUPS[0].bombs
    """bombs of this group the bomber has not dropped yet"""
    phase: int = WAITING
    """WAITING for FIRE, PLAYING a group, or EXPLODING after a miss"""
    bucket_x: int = BUCKET_START_X
    bomber_x: int = (BOMBER_MIN_X + BOMBER_MAX_X) // 2 * SUBPIXELS
    """the bomber's left column, in 1/16 pixel"""
    bomber_direction: int = 1
    drop_timer: int = 0
    """frames until the next bomb drops"""
    run_clock: int = 0
    """frames played since FIRE started play: where the bomber is in his halts' cycle"""
    bombs: list[list[int]] = field(default_factory=list)
    """the falling bombs, each [left column, top row in 1/16 pixel], oldest (lowest) first"""
    explosion: list[tuple[int, int]] = field(default_factory=list)
    """after a miss: the bombs that blow up, each (left column, top row), lowest first"""
    explosion_timer: int = 0
    frame: int = 0
    """frames since the episode began"""
    last_action: int = NOOP
    """the action of the last frame, which a sticky action repeats"""
    paddle: int = BUCKET_START_X * SUBPIXELS + SUBPIXELS // 2
    """where the paddle is turned to: the buckets' left column it leads them to, in 1/16 pixel
    (past the ends of their way by up to `PADDLE_BEYOND` pixels). Set it with `bucket_x`."""


def _explosion_length(num_bombs: int) -> int:
    return EXPLOSION_STAGGER * (num_bombs - 1) + EXPLOSION_FRAMES + FLASH_FRAMES


# ---- Sprites: pixel art measured on ALE's frames, one character a pixel, "." transparent. ----

_PALETTE = {
    "k": (0, 0, 0),
    "h": (72, 72, 0),  # hat
    "o": (105, 105, 15),  # hat band, bucket rims
    "O": (134, 134, 29),
    "d": (74, 74, 74),  # greys: mask, stripes, bomb
    "m": (111, 111, 111),
    "g": (142, 142, 142),
    "l": (170, 170, 170),  # fuse
    "w": (214, 214, 214),  # stripes
    "f": (227, 151, 89),  # skin
    "r": (213, 130, 74),
    "y": (162, 162, 42),  # bucket
    "b": (84, 92, 214),  # water
    "s": (252, 144, 144),  # sparks on the fuse
    "S": (252, 252, 84),
    "Y": (210, 210, 64),  # score
    "1": (163, 57, 21),  # explosion colours, in turn
    "2": (187, 187, 53),
    "3": (149, 111, 227),
    "4": (198, 108, 58),
}
WALL_COLOUR, GROUND_COLOUR = (142, 142, 142), (82, 126, 45)
# The screen flashes these (wall, ground) colours after the last bomb blew up, as the cartridge.
_FLASH_COLOURS = (
    ((252, 252, 84), (128, 232, 128)),
    ((170, 170, 170), (158, 208, 101)),
    ((214, 214, 214), (200, 252, 132)),
    ((74, 74, 74), (20, 60, 0)),
)

_BOMBER_HEAD = ("..hhh..", ".ooooo.", ".OOOOO.", ".ddddd.", "dd.d.dd", "ddddddd", "rrr.rrr")
_BOMBER_FACES = (
    (".ff.ff.", ".fffff.", ".ff.ff.", ".f.f.f.", "..fff.."),  # while bombs fall
    (".ff.ff.", ".fffff.", ".f.f.f.", ".ff.ff.", "..fff.."),  # grinning at a miss
)
_BOMBER_BODY = (
    "..rrr..",
    "..ddd..",
    ".wwwww.",
    *("ddddddd", "wwwwwww") * 2,
    "ddddddd",
    *("w.www.w", "dd.d.dd") * 3,
    "w.www.w",
    "f.....f",
    "f.....f",
    ".f...f.",
    ".......",
    ".......",
)
_BOMB = (".s...", ".l...", "..l..", "...l.", "...l.", "..k..", ".ddd.", ".mmm.", "ggggg", "ggggg")
_BOMB_BOTTOM = (".mmm.", ".ddd.", "..k..")
_EXPLOSION = (".XX.", "XXXX", "XXXX", ".XX.", "XXXX", "XXXX", ".XX.")
_BUCKET = (
    "..yyyyyyyyyy..",
    "..bbbbbbbb....",
    "yy..yy..yy..yy",
    "yy..yy..yy..yy",
    "OO..OO..OO..OO",
    "OO..OO..OO..OO",
    "oo..oo..oo..oo",
    "oooooooooooooo",
)
_DIGITS = (
    (".YYYY.", "YY..YY", "YY..YY", "YY..YY", "YY..YY", "YY..YY", "YY..YY", ".YYYY."),
    ("..YY..", ".YYY..", "..YY..", "..YY..", "..YY..", "..YY..", "..YY..", ".YYYY."),
    (".YYYY.", "Y...YY", "....YY", "....YY", ".YYYY.", "YY....", "YY....", "YYYYYY"),
    (".YYYY.", "Y...YY", "....YY", "...YY.", "...YY.", "....YY", "Y...YY", ".YYYY."),
    ("...YY.", "..YYY.", ".Y.YY.", "Y..YY.", "YYYYYY", "...YY.", "...YY.", "...YY."),
    ("YYYYYY", "YY....", "YY....", "YYYYY.", "....YY", "....YY", "Y...YY", "YYYYY."),
    (".YYYY.", "YY...Y", "YY....", "YYYYY.", "YY..YY", "YY..YY", "YY..YY", ".YYYY."),
    ("YYYYYY", "Y....Y", "....YY", "...YY.", "..YY..", "..YY..", "..YY..", "..YY.."),
    (".YYYY.", "YY..YY", "YY..YY", ".YYYY.", ".YYYY.", "YY..YY", "YY..YY", ".YYYY."),
    (".YYYY.", "YY..YY", "YY..YY", "YY..YY", ".YYYYY", "....YY", "Y...YY", ".YYYY."),
)


def to_ale_grayscale(rgb: np.ndarray) -> np.ndarray:
    """ALE's grayscale of RGB pixels, shape (..., 3) uint8 to (...) uint8: each colour's
    luminance 0.2989 R + 0.5870 G + 0.1140 B, rounded, as ale-py's `getScreenGrayscale` gives it.

    ALE keeps a grayscale value beside each colour of its NTSC palette and reads the screen through
    that table. The table's values are this formula, the one ALE's `ColourPalette` applies to a
    user's palette: 117 of the 128 colours, seen across twenty games, agree with it, and
    `tests/envs/test_kaboom.py` checks it pixel for pixel on ALE's Kaboom frames. The frames here
    use ALE's colours only, so this is their grayscale exactly.
    """
    r, g, b = (rgb[..., channel].astype(np.float64) for channel in range(3))
    return np.floor(r * 0.2989 + g * 0.5870 + b * 0.1140 + 0.5).astype(np.uint8)


@dataclass(frozen=True)
class _Sprite:
    """Pixel art as pixels, RGB (h, w, 3) or grayscale (h, w), and the mask of its opaque ones,
    (h, w, 1) or (h, w) to match."""

    pixels: np.ndarray
    mask: np.ndarray

    @classmethod
    def from_art(cls, art: tuple[str, ...]) -> _Sprite:
        rgb = np.array(
            [[(0, 0, 0) if c == "." else _PALETTE[c] for c in row] for row in art], np.uint8
        )
        return cls(rgb, np.array([[c != "." for c in row] for row in art])[..., None])

    @property
    def height(self) -> int:
        return self.pixels.shape[0]

    def over(self, backdrop_rows: np.ndarray) -> np.ndarray:
        """The RGB sprite drawn opaque over a backdrop of one colour a row, shape (height, 3)."""
        return np.where(self.mask, self.pixels, backdrop_rows[:, None, :])

    def under(self, other: _Sprite, y: int, x: int) -> _Sprite:
        """This sprite with `other` drawn over it, its top left corner at (y, x)."""
        pixels, mask = self.pixels.copy(), self.mask.copy()
        region = (slice(y, y + other.pixels.shape[0]), slice(x, x + other.pixels.shape[1]))
        np.copyto(pixels[region], other.pixels, where=other.mask)
        mask[region] |= other.mask
        return _Sprite(pixels, mask)

    def in_grayscale(self) -> _Sprite:
        return _Sprite(to_ale_grayscale(self.pixels), self.mask[..., 0])


_BOMBERS = tuple(_Sprite.from_art(_BOMBER_HEAD + face + _BOMBER_BODY) for face in _BOMBER_FACES)
_BOMBS = (
    _Sprite.from_art(_BOMB + _BOMB_BOTTOM),
    _Sprite.from_art((_BOMB[0].replace("s", "S"), *_BOMB[1:], *_BOMB_BOTTOM)),  # the fuse sparks
)
_BOMB_IN_HAND = _Sprite.from_art((".....", *_BOMB[1:], *_BOMB_BOTTOM))  # lit when he lets go
_EXPLOSIONS = tuple(
    _Sprite.from_art(tuple(row.replace("X", colour) for row in _EXPLOSION)) for colour in "1234"
)
_EXPLOSION_DROP = BOMB_HEIGHT - len(_EXPLOSION)  # an explosion fills the bottom of its bomb's place
_GAP = ("." * BUCKET_WIDTH,) * (BUCKET_TOPS[1] - BUCKET_TOPS[0] - BUCKET_HEIGHT)
_BUCKET_STACKS = tuple(
    _Sprite.from_art(_BUCKET + (_GAP + _BUCKET) * (count - 1))
    for count in range(1, MAX_BUCKETS + 1)
)
_DIGIT_SPRITES = tuple(_Sprite.from_art(digit) for digit in _DIGITS)
DIGIT_WIDTH = _DIGIT_SPRITES[0].pixels.shape[1]
# A bomb whose top is at or below this row is clear of the bomber and the wall, on the plain
# ground: it is drawn as an opaque rectangle. Higher up it is drawn through its mask.
_CLEAR_OF_BOMBER = BOMBER_TOP + BOMBER_HEIGHT


def _backdrop(wall: tuple[int, int, int], ground: tuple[int, int, int]) -> np.ndarray:
    frame = np.zeros(SCREEN_SHAPE, dtype=np.uint8)
    frame[WALL_TOP:GROUND_TOP, PLAYFIELD_LEFT:PLAYFIELD_RIGHT] = wall
    frame[GROUND_TOP:GROUND_BOTTOM, PLAYFIELD_LEFT:PLAYFIELD_RIGHT] = ground
    return frame


class _Skin:
    """A backdrop (the usual one, or a flash) with every sprite pre-drawn opaque over it.

    The backdrop is one colour a row across the playfield, so a sprite drawn over it at given rows
    looks the same in every column: it is drawn once here, then copied into the frame as a plain
    rectangle, the cheapest write numpy has.
    """

    def __init__(self, wall: tuple[int, int, int], ground: tuple[int, int, int]) -> None:
        self.frame = _backdrop(wall, ground)
        rows = self.frame[:, PLAYFIELD_LEFT]

        def opaque(sprite: _Sprite, top: int) -> np.ndarray:
            return sprite.over(rows[top : top + sprite.height])

        hand = (BOMB_HAND_TOP - BOMBER_TOP, 1)
        # bomber[grinning][holding a bomb]
        self.bomber = [
            [opaque(bomber, BOMBER_TOP), opaque(bomber.under(_BOMB_IN_HAND, *hand), BOMBER_TOP)]
            for bomber in _BOMBERS
        ]
        self.buckets = [opaque(stack, BUCKET_TOPS[0]) for stack in _BUCKET_STACKS]
        self.digits = [opaque(digit, SCORE_TOP) for digit in _DIGIT_SPRITES]
        self.bombs = [opaque(bomb, _CLEAR_OF_BOMBER) for bomb in _BOMBS]
        self.explosions = [opaque(explosion, _CLEAR_OF_BOMBER) for explosion in _EXPLOSIONS]
        # Near the top, bombs and explosions are drawn through their masks.
        self.masked_bombs, self.masked_explosions = _BOMBS, _EXPLOSIONS

    def in_grayscale(self) -> _Skin:
        """This skin as ALE's grayscale screen shows it (`to_ale_grayscale`)."""
        gray = copy.copy(self)
        gray.frame = to_ale_grayscale(self.frame)
        gray.bomber = [[to_ale_grayscale(image) for image in images] for images in self.bomber]
        for name in ("buckets", "digits", "bombs", "explosions"):
            setattr(gray, name, [to_ale_grayscale(image) for image in getattr(self, name)])
        gray.masked_bombs = tuple(sprite.in_grayscale() for sprite in self.masked_bombs)
        gray.masked_explosions = tuple(sprite.in_grayscale() for sprite in self.masked_explosions)
        return gray


def _skin_index(state: KaboomState) -> int:
    """Which skin the frame shows: 0, or 1, 2, ... in turn while the screen flashes."""
    if state.phase != EXPLODING:
        return 0
    flashing = state.explosion_timer - (_explosion_length(len(state.explosion)) - FLASH_FRAMES)
    if flashing < 0:
        return 0
    return 1 + (flashing // FLASH_PERIOD) % len(_FLASH_COLOURS)


@functools.cache
def _skins(grayscale: bool = False) -> tuple[_Skin, ...]:
    """The usual skin, then one for each flash colour, in RGB or in ALE's grayscale; made once,
    for every game."""
    if grayscale:
        return tuple(skin.in_grayscale() for skin in _skins())
    flashes = (_Skin(wall, ground) for wall, ground in _FLASH_COLOURS)
    return (_Skin(WALL_COLOUR, GROUND_COLOUR), *flashes)


_Rect = tuple[slice, slice]


class _Screen:
    """The frame of one game, RGB or in ALE's grayscale, kept between draws and redrawn only
    where it changed.

    A draw puts the backdrop back under what the last draw drew and has moved since, then copies
    in the sprites pre-drawn over the backdrop (`_Skin`): a few small rectangle copies, not a whole
    frame. Bombs move every frame, so they are always redrawn; the bomber, the buckets and the
    score only when they changed.
    """

    def __init__(self, grayscale: bool = False) -> None:
        self._skins = _skins(grayscale)
        self.frame = np.empty(SCREEN_SHAPE[:2] if grayscale else SCREEN_SHAPE, dtype=np.uint8)
        self._skin = -1  # no skin drawn yet: the first draw paints the whole frame
        self._bomb_rects: list[_Rect] = []
        self._bomber: tuple[int, bool, bool] | None = None  # (x, grinning, holding) as drawn
        self._buckets: tuple[int, int] | None = None  # (x, count) as drawn
        self._score: int | None = None

    def draw(self, state: KaboomState) -> np.ndarray:
        """Brings the frame up to `state` and returns it: the screen's own array, to be copied."""
        frame = self.frame
        skin_index = _skin_index(state)
        if skin_index != self._skin:
            self._skin = skin_index
            frame[:] = self._skins[skin_index].frame
            self._bomb_rects, self._bomber, self._buckets, self._score = [], None, None, None
        skin = self._skins[skin_index]
        backdrop = skin.frame

        for rect in self._bomb_rects:
            frame[rect] = backdrop[rect]
        bombs = _bombs_to_draw(state, skin)

        buckets = (state.bucket_x, state.buckets)
        if buckets != self._buckets:
            if self._buckets is not None and self._buckets[1]:
                rect = _buckets_rect(*self._buckets)
                frame[rect] = backdrop[rect]
            if state.buckets:
                frame[_buckets_rect(*buckets)] = skin.buckets[state.buckets - 1]
            self._buckets = buckets

        bomber = (state.bomber_x >> 4, state.phase == EXPLODING, state.phase == WAITING)
        # A bomb near the top is drawn over the bomber: erasing it erased part of him.
        near_top = any(y < _CLEAR_OF_BOMBER for y, _, _, _ in bombs) or any(
            rect[0].start < _CLEAR_OF_BOMBER for rect in self._bomb_rects
        )
        if bomber != self._bomber or near_top:
            if self._bomber is not None:
                rect = _bomber_rect(self._bomber[0])
                frame[rect] = backdrop[rect]
            frame[_bomber_rect(bomber[0])] = skin.bomber[bomber[1]][bomber[2]]
            self._bomber = bomber

        rects = []
        for y, x, image, mask in bombs:
            rect = (slice(y, y + image.shape[0]), slice(x, x + image.shape[1]))
            if mask is None:
                frame[rect] = image
            else:
                np.copyto(frame[rect], image, where=mask)
            rects.append(rect)
        self._bomb_rects = rects

        if state.score != self._score:
            self._draw_score(state.score, skin)
        return frame

    def _draw_score(self, score: int, skin: _Skin) -> None:
        rows = slice(SCORE_TOP, SCORE_TOP + _DIGIT_SPRITES[0].height)
        left = SCORE_RIGHT - DIGIT_PITCH * len(str(MAX_SCORE))
        self.frame[rows, left:SCORE_RIGHT] = skin.frame[rows, left:SCORE_RIGHT]
        x = SCORE_RIGHT - DIGIT_WIDTH
        for digit in reversed(str(score)):
            self.frame[rows, x : x + DIGIT_WIDTH] = skin.digits[int(digit)]
            x -= DIGIT_PITCH
        self._score = score


def _buckets_rect(x: int, count: int) -> _Rect:
    return slice(BUCKET_TOPS[0], BUCKET_TOPS[count - 1] + BUCKET_HEIGHT), slice(x, x + BUCKET_WIDTH)


def _bomber_rect(x: int) -> _Rect:
    return slice(BOMBER_TOP, BOMBER_TOP + BOMBER_HEIGHT), slice(x, x + BOMBER_WIDTH)


def _bombs_to_draw(
    state: KaboomState, skin: _Skin
) -> list[tuple[int, int, np.ndarray, np.ndarray | None]]:
    """(top, left, pixels, mask) of each bomb and explosion on screen. Clear of the bomber the
    pixels are pre-drawn over the ground and the mask is None; near the top they go through it."""
    fuse = (state.frame // 4) % 2
    bomb = (skin.bombs[fuse], skin.masked_bombs[fuse])
    items = [(y >> 4, x, *bomb) for x, y in state.bombs]
    if state.phase == EXPLODING:
        timer = state.explosion_timer
        colour = (timer // 2) % len(_EXPLOSIONS)
        for i, (x, y) in enumerate(state.explosion):
            since = timer - EXPLOSION_STAGGER * i
            if since < 0:
                items.append((y, x, *bomb))
            elif since < EXPLOSION_FRAMES:
                explosion = (skin.explosions[colour], skin.masked_explosions[colour])
                items.append((y + _EXPLOSION_DROP, x, *explosion))
    return [
        (y, x, opaque, None) if y >= _CLEAR_OF_BOMBER else (y, x, sprite.pixels, sprite.mask)
        for y, x, opaque, sprite in items
    ]


# ---- The game: one frame at a time. ----


_BOMBER_MIN, _BOMBER_MAX = BOMBER_MIN_X * SUBPIXELS, BOMBER_MAX_X * SUBPIXELS


# Each input, by its number: which way it turns the paddle, and whether it presses FIRE.
_INPUTS = (
    (0, False),  # NOOP
    (0, True),  # FIRE
    (1, False),  # RIGHT
    (-1, False),  # LEFT
    (1, True),  # RIGHT_FIRE
    (-1, True),  # LEFT_FIRE
)


_PADDLE_MIN = (BUCKET_MIN_X - PADDLE_BEYOND) * SUBPIXELS
_PADDLE_MAX = (BUCKET_MAX_X + PADDLE_BEYOND) * SUBPIXELS


def _follow_the_paddle(state: KaboomState, turn: int) -> None:
    """One frame of the paddle and the buckets: the buckets go half the way (at least a pixel)
    to where the paddle was last frame, and the paddle turns `turn` (-1, 0 or 1) steps."""
    gap = min(max(state.paddle >> 4, BUCKET_MIN_X), BUCKET_MAX_X) - state.bucket_x
    if gap > 0:
        state.bucket_x += max(1, gap >> 1)
    elif gap < 0:
        state.bucket_x -= max(1, -gap >> 1)
    if turn:
        state.paddle = min(max(state.paddle + turn * PADDLE_SPEED, _PADDLE_MIN), _PADDLE_MAX)


def play_frame(state: KaboomState, action: int, turn_draw: float) -> None:
    """Advances `state` by one frame (1/60 s) with `action` held: NOOP, FIRE, RIGHT, LEFT,
    RIGHT_FIRE or LEFT_FIRE. `turn_draw`, uniform in [0, 1), decides whether the bomber turns
    round this frame."""
    turn, fire = _INPUTS[action]
    _follow_the_paddle(state, turn)  # in every phase, as on ALE
    phase = state.phase
    if phase == EXPLODING:  # nothing else moves while the bombs go off
        state.explosion_timer += 1
        if state.explosion_timer >= _explosion_length(len(state.explosion)):
            state.phase, state.explosion = WAITING, []
        return
    if phase == WAITING:
        # The bomber stands still, a bomb in his hand, until FIRE: ALE's frames show him so,
        # and a still screen is how a player (or an agent) tells that the game waits for FIRE.
        if fire:
            state.phase, state.drop_timer, state.run_clock = PLAYING, 1, 0  # his bomb goes next
        return

    rules = group_rules(state.group)
    state.run_clock += 1
    halted = rules.halt_every and (
        state.run_clock % rules.halt_every >= rules.halt_every - rules.halt_frames
    )
    if not halted:
        _run_bomber(state, rules, turn_draw)
    _drop_and_fall(state, rules)


def _run_bomber(state: KaboomState, rules: GroupRules, turn_draw: float) -> None:
    """One frame of the bomber's running: a step, turning round at either end, or at random."""
    x = state.bomber_x + state.bomber_direction * rules.bomber_speed
    if x <= _BOMBER_MIN:
        x, state.bomber_direction = _BOMBER_MIN, 1
    elif x >= _BOMBER_MAX:
        x, state.bomber_direction = _BOMBER_MAX, -1
    elif turn_draw < rules.turn_chance:
        state.bomber_direction = -state.bomber_direction
    state.bomber_x = x


def _drop_and_fall(state: KaboomState, rules: GroupRules) -> None:
    """The bombs of one frame of play: a drop when it is due, the fall, catches and a miss."""
    if state.bombs_to_drop:
        state.drop_timer -= 1
        if state.drop_timer <= 0:
            state.bombs.append([(state.bomber_x >> 4) + 1, BOMB_HAND_TOP * SUBPIXELS])
            state.bombs_to_drop -= 1
            state.drop_timer = rules.drop_interval

    # A bomb is caught when its rectangle meets the stack's; the stack's gaps are shorter than a
    # bomb, so meeting the stack is meeting a bucket.
    highest = BUCKET_TOPS[0] - BOMB_HEIGHT + 1
    lowest = BUCKET_TOPS[state.buckets - 1] + BUCKET_HEIGHT - 1
    leftmost = state.bucket_x - BOMB_WIDTH + 1
    rightmost = state.bucket_x + BUCKET_WIDTH - 1
    fall = rules.fall_speed
    caught, missed, falling = 0, False, []
    for bomb in state.bombs:
        bomb[1] += fall
        top = bomb[1] >> 4
        if highest <= top <= lowest and leftmost <= bomb[0] <= rightmost:
            caught += 1
            continue
        falling.append(bomb)
        missed = missed or top > BOMB_GROUND_TOP
    state.bombs = falling
    if caught:
        _add_points(state, caught * rules.points)
    if missed:
        _explode(state)
    elif not falling and not state.bombs_to_drop:  # the group is over: the next waits for FIRE
        state.group += 1
        state.bombs_to_drop = group_rules(state.group).bombs
        state.phase = WAITING


def _add_points(state: KaboomState, points: int) -> None:
    """Scores `points`, with a bonus bucket for each thousand crossed while fewer than 3."""
    before = state.score
    state.score = min(before + points, MAX_SCORE)
    bonus = state.score // BONUS_BUCKET_EVERY - before // BONUS_BUCKET_EVERY
    if bonus:
        state.buckets = min(MAX_BUCKETS, state.buckets + bonus)


def _explode(state: KaboomState) -> None:
    """A bomb hit the ground: every bomb on screen blows up, the bottom bucket is lost, and play
    goes back one group, with half its bombs (rounded up)."""
    state.buckets -= 1
    on_screen = ((x, min(y >> 4, BOMB_GROUND_TOP)) for x, y in state.bombs)
    state.explosion = sorted(on_screen, key=lambda bomb: -bomb[1])
    state.bombs = []
    state.phase, state.explosion_timer = EXPLODING, 0
    state.group = max(1, state.group - 1)
    state.bombs_to_drop = math.ceil(group_rules(state.group).bombs / 2)


# ---- Arguments. ----


def _checked_probability(probability: Any) -> float:
    if (
        isinstance(probability, bool)
        or not isinstance(probability, (int, float, np.integer, np.floating))
        or not 0.0 <= probability <= 1.0
    ):
        raise ValueError(
            f"Kaboom repeat_action_probability must be a number in [0, 1], got {probability!r}."
        )
    return float(probability)


def _checked_max_frames(max_frames: Any) -> int | None:
    if max_frames is not None and (not is_int(max_frames) or max_frames < 1):
        raise ValueError(
            f"Kaboom max_num_frames_per_episode must be None (no cap) or a positive int, "
            f"got {max_frames!r}."
        )
    return None if max_frames is None else int(max_frames)


def _invalid_action(action: Any) -> ValueError:
    return ValueError(
        "Kaboom actions are the integers 0 (NOOP), 1 (FIRE), 2 (RIGHT) and 3 (LEFT); "
        f"got {action!r}."
    )


def _observation_space(obs_type: str) -> spaces.Box:
    if obs_type == "rgb":
        return spaces.Box(0, 255, shape=SCREEN_SHAPE, dtype=np.uint8)
    if obs_type == "grayscale":
        return spaces.Box(0, 255, shape=SCREEN_SHAPE[:2], dtype=np.uint8)
    low = np.zeros(len(STATE_FIELDS), dtype=np.float32)
    high = np.ones_like(low)
    low[STATE_FIELDS.index("bomber_direction")] = -1.0
    paddle = STATE_FIELDS.index("paddle_x")
    low[paddle], high[paddle] = _x_value(_PADDLE_MIN / SUBPIXELS), _x_value(_PADDLE_MAX / SUBPIXELS)
    return spaces.Box(low, high, dtype=np.float32)


_PLAYFIELD_WIDTH = PLAYFIELD_RIGHT - PLAYFIELD_LEFT
_BOMB_DROP_SUBPIXELS = (BOMB_GROUND_TOP - BOMB_HAND_TOP) * SUBPIXELS


def _x_value(bucket_x: float) -> float:
    """The buckets' centre at left column `bucket_x`, as the state vector gives an x."""
    return (bucket_x + BUCKET_WIDTH / 2 - PLAYFIELD_LEFT) / _PLAYFIELD_WIDTH


def state_vector(state: KaboomState) -> np.ndarray:
    """`obs_type="state"`: the game as the float32 vector that `STATE_FIELDS` names."""
    values = [
        _x_value(state.bucket_x),
        state.buckets / MAX_BUCKETS,
        (state.bomber_x / SUBPIXELS + BOMBER_WIDTH / 2 - PLAYFIELD_LEFT) / _PLAYFIELD_WIDTH,
        state.bomber_direction,
        min(state.group, len(GROUPS)) / len(GROUPS),
        state.bombs_to_drop / GROUPS[-1].bombs,
        state.phase == WAITING,
        state.phase == EXPLODING,
        _x_value(state.paddle / SUBPIXELS),
    ]
    for x, y in state.bombs[:STATE_BOMB_SLOTS]:
        values += (
            (x + BOMB_WIDTH / 2 - PLAYFIELD_LEFT) / _PLAYFIELD_WIDTH,
            min(1.0, (y - BOMB_HAND_TOP * SUBPIXELS) / _BOMB_DROP_SUBPIXELS),  # 1: the ground
            1.0,
        )
    values += (0.0,) * (len(STATE_FIELDS) - len(values))
    return np.array(values, dtype=np.float32)


class KaboomEnv(FrameRendering, Env[np.ndarray, int]):
    """
    ## Description

    Kaboom! (Activision, 1981, for the Atari 2600). The Mad Bomber runs back and forth along the
    top of a wall, dropping bombs; the player moves a stack of three water buckets along the
    bottom of the screen to catch them. Bombs come in groups, each started by FIRE, each faster
    than the last and with a more erratic bomber (`GROUPS` in this module):

    | group | points a bomb | bombs | fall | drop | run | turn |
    |-------|---------------|-------|------|------|-----|------|
    | 1     | 1             | 10    | 1    | 36   | 1   | 6.4% |
    | 2     | 2             | 20    | 1.13 | 18   | 1.5 | 5.1% |
    | 3     | 3             | 30    | 2    | 18   | 2.5 | 5.9% |
    | 4     | 4             | 40    | 2.13 | 9    | 3   | 6.8% |
    | 5     | 5             | 50    | 3    | 12   | 3.5 | 6.5% |
    | 6     | 6             | 75    | 3.13 | 6    | 4   | 6.5% |
    | 7     | 7             | 100   | 4    | 9    | 4   | 6.5% |
    | 8+    | 8             | 150   | 4.13 | 5    | 4.5 | 6.5% |

    fall: pixels a bomb falls each frame; drop: frames between two bombs; run: pixels the bomber
    runs each frame; turn: the chance each frame that he turns round. A bomb that reaches the
    ground explodes, and so does every other bomb on screen, one after the other from the lowest;
    the bottom bucket is lost, and once the screen has stopped flashing play waits for FIRE to go
    on one group back, with half that group's bombs (rounded up). A bonus bucket comes with every
    1,000 points while there are fewer than 3. The game ends when the last bucket is lost, or at
    999,999 points.

    It is a drop-in for `ALE/Kaboom-v5`: the same actions, frames (the wall, the ground, the
    bomber, bombs, buckets and score drawn with the cartridge's sprites and colours, measured on
    ALE's frames) in RGB or in ALE's grayscale, 4 frames a step, sticky actions and 108,000-frame
    cap, and ALE's interface to the game: `env.unwrapped.ale` (`KaboomALE`) has the methods of
    ale-py's `ALEInterface` that Atari wrappers call (`lives()`, `game_over()`, `act()`,
    `getScreenRGB()`, `getScreenGrayscale()`, the frame numbers, screen size and action sets), and
    `_frameskip` is `frameskip` under ALE's name. So SB3's `make_atari_env` (its `AtariWrapper`)
    and Gymnasium's `AtariPreprocessing` run on it as on ALE's games: on `KaboomNoFrameskip-v0`,
    registered as ALE's `*NoFrameskip-v4` ids (1 frame a step, no sticky actions), or on
    `gym.make("Kaboom-v0", frameskip=1)`. A game is exact and reproducible: positions are
    integers (bomb heights and the bomber in 1/16 pixel). Sticky actions come from
    `self.np_random`; the bomber's turns come from a generator of his own, seeded with
    `bomber_seed` at every reset and drawn from only on the frames he runs, so that every game
    starts with the same bomber however long play waits for FIRE, as every game of the cartridge
    does on ALE; after the opening (group 1), each catch reseeds them with where the buckets
    caught the bomb, so that games part as the player's play sets them apart, as ALE's do.
    The default seed opens as ALE's game does (`BOMBER_SEED`: its first ten bombs fall within 13
    pixels of ALE's); `bomber_seed=None` draws his start and turns from `self.np_random` instead:
    a harder game, whose opening no player learns by heart.

    ## Action Space

    `Discrete(4)`, ALE's minimal action set for Kaboom (`get_action_meanings()`):

    | Num | Action | Effect                                                  |
    |-----|--------|---------------------------------------------------------|
    | 0   | NOOP   | nothing                                                 |
    | 1   | FIRE   | starts the next group when play waits for it            |
    | 2   | RIGHT  | turns the paddle right: the buckets follow              |
    | 3   | LEFT   | turns the paddle left: the buckets follow               |

    The buckets move as ALE's paddle moves them (fitted to ALE's frames, `PADDLE_SPEED`): LEFT or
    RIGHT held turns the paddle 5.25 pixels a frame, and the buckets follow a frame late, going
    half the way to it each frame (at least a pixel): 5 pixels a frame at full speed, a coast of
    about 11 pixels after release, and in all 22 pixels for 4 frames held (one step). They stop at
    the edges of the playfield, but the paddle turns on up to 32 pixels past them, so coming back
    from an edge held long takes 7 frames before they move. They move while bombs explode too.
    Sticky actions as in ALE v5: on each frame, with probability `repeat_action_probability`, the
    previous frame's action is taken instead of the one given. Other actions raise `ValueError`.

    ## Observation Space

    `obs_type="rgb"` (default): the frame, `Box(0, 255, (210, 160, 3), uint8)`, laid out as ALE's.

    `obs_type="grayscale"`: the frame in ALE's grayscale, `Box(0, 255, (210, 160), uint8)`: each
    colour's luminance as ALE computes it (`to_ale_grayscale`), so where the RGB frames of the two
    games match their grayscale frames match too, pixel for pixel.

    `obs_type="state"`: the game as 33 floats, `Box(low, high, (33,), float32)`, for MLP agents
    (`STATE_FIELDS` names them). An x is a sprite's centre: 0 at the playfield's left edge, 1 at
    its right edge.

    | Index  | Name               | Meaning                                          | Range   |
    |--------|--------------------|--------------------------------------------------|---------|
    | 0      | `bucket_x`         | x of the bucket stack                            | [0, 1]  |
    | 1      | `buckets`          | buckets left / 3                                 | [0, 1]  |
    | 2      | `bomber_x`         | x of the bomber                                  | [0, 1]  |
    | 3      | `bomber_direction` | -1 running left, +1 running right                | {-1, 1} |
    | 4      | `group`            | group / 8 (past 8, 1)                            | [0, 1]  |
    | 5      | `bombs_to_drop`    | bombs of the group not dropped yet / 150         | [0, 1]  |
    | 6      | `waiting`          | 1 while play waits for FIRE                      | {0, 1}  |
    | 7      | `exploding`        | 1 while bombs explode after a miss               | {0, 1}  |
    | 8      | `paddle_x`         | x the paddle leads the buckets to                | ±0.11   |
    | 9 + 3i | `bomb{i}_x`        | x of falling bomb i, i = 0 the lowest            | [0, 1]  |
    | 10 + 3i| `bomb{i}_y`        | its height: 0 in the bomber's hand, 1 the ground | [0, 1]  |
    | 11 + 3i| `bomb{i}_present`  | 1 if bomb i falls, else 0 (and its x, y are 0)   | {0, 1}  |

    for i = 0 .. 7: at most 8 bombs fall at once (`STATE_BOMB_SLOTS`). `paddle_x` lies in
    [-0.104, 1.090]: the paddle turns past the ends of the buckets' way.

    ## Rewards

    The change in score: the group's points for each bomb caught (a step can catch several),
    else 0. A miss costs no points. The score stops at 999,999.

    ## Starting State

    Group 1 and its 10 bombs, score 0, 3 buckets in the middle at the bottom (ALE's column 73),
    play waiting for FIRE. The bomber stands where ALE's does at the start (`BOMBER_START_X`),
    facing right, and stands there until FIRE, as he does on ALE whenever play waits. With
    `bomber_seed=None` he stands at a uniformly random place, facing left or right (both from
    `self.np_random`).

    ## Episode End

    Termination: the last bucket is lost, or the score reaches 999,999. Truncation: after
    `max_num_frames_per_episode` frames (108,000 by default, as ALE v5). `Kaboom-v0` is
    registered with this cap, as ALE registers its ids, and no `max_episode_steps`: a cap in
    frames holds at any `frameskip`.

    `info` holds `lives` (the buckets left, as `ale.lives()`, a lost one counted until its
    explosions end; ALE's Kaboom reports 1 until its game is over, so only here do life-loss
    wrappers end an episode at a lost bucket), ALE's
    `episode_frame_number` and `frame_number` (frames since the last seeded reset, as ALE counts
    them), and `group`.

    ## Arguments

    ```python
    >>> import gymnasium as gym
    >>> import registry
    >>> env = gym.make("Kaboom-v0", frameskip=4, repeat_action_probability=0.25, obs_type="rgb")
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, obs.dtype, info["lives"]
    ((210, 160, 3), dtype('uint8'), 3)

    ```

    | Parameter                    | Type      | Default  | Description                           |
    |------------------------------|-----------|----------|---------------------------------------|
    | `frameskip`                  | **int**   | `4`      | frames a step (ALE v5: 4), 1 to 3600  |
    | `repeat_action_probability`  | **float** | `0.25`   | sticky actions (ALE v5: 0.25); 0: none |
    | `max_num_frames_per_episode` | **int**   | `108000` | truncation after this many frames     |
    | `obs_type`                   | **str**   | `"rgb"`  | `"rgb"`, `"grayscale"` or `"state"`   |
    | `bomber_seed`                | **int**   | `353`    | the bomber's seed; None: `np_random`  |
    | `render_mode`                | **str**   | `None`   | `"rgb_array"` (the frame) or `"human"` |

    `max_num_frames_per_episode=None` turns the frame cap off. `frameskip` is at most 3,600, a
    minute of play a step; other values raise `ValueError`.

    `render_mode="human"` opens a pygame window (the frame scaled 3 times) showing the game at the
    Atari's 60 frames a second (`metadata["render_fps"]` is 60 / frameskip steps a second). To play
    it: `python -m agents.human --env Kaboom-v0` (or `gymnasium.utils.play.play` on
    `render_mode="rgb_array"`), with the keys of `get_keys_to_action()` (arrows or A and D move,
    space is FIRE).

    ## Version History

    * v0: the cartridge's rules with ALE's interface, and these departures:
        - Bomb speeds, drop rates and the bomber's speeds are measured on ALE's frames (groups 1
          to 6; 7 and 8 carry the pattern on), not read from the cartridge. The bomber turns at
          random with the chance a frame measured on ALE's frames (groups 1 to 4; 5 on carry it
          on), from a generator of his own that starts alike at every game (as the cartridge's
          randomness does) but is not the cartridge's: his path is not ALE's. He runs steadily
          at about his average speed, not in the cartridge's rhythm (1 to 4 pixels a frame in
          groups 1 to 4, halting 3 frames in 18, then 1 in 9), which `GroupRules`' halts can
          give him (docs/results.md).
        - A reset waits for FIRE, where ALE's reset starts the first group itself (the DQN
          pipeline and SB3's `AtariWrapper` press FIRE on reset, so both play from the start).
        - The bucket is lost on the frame the bomb lands rather than after the explosions
          (`info["lives"]` drops when they end); when it was the last, the game ends on that
          frame.
        - `info["lives"]` and `ale.lives()` count the buckets (ALE's are 1 until game over), and
          `obs_type="state"` is new. ALE's RAM observations, its stochastic frameskip, its
          `full_action_space` and continuous actions, and the rest of `ALEInterface` (states,
          RAM, sound, settings) are not provided; `ale.act` takes only `paddle_strength=1.0`.
          The Activision logo under the playfield is left out.
    * v0, later, the game unchanged: `ale`, `obs_type="grayscale"` and the `KaboomNoFrameskip-v0`
      and `DQN/Kaboom-v0` ids.
    * v0, later, the game unchanged: `frameskip` is at most 3,600 (a step of 10**9 frames drew
      16 GB of random numbers before its first frame).
    * v0, later, the game unchanged: `DQN/Kaboom-v0` is made with `frameskip=1`, so its pipeline
      skips 4 frames with a max over the last two, the frames ale-py's vector env gives
      ALE/Kaboom-v5; the agents make Kaboom-v0 so too (`wrappers.pipeline_frameskip`).
    * v0, later, the game changed: after the opening (group 1), the play sets games apart, as on
      ALE: each catch reseeds the bomber's turns with where the buckets caught the bomb. His
      path used to be the same in every game whatever the play, so every game dropped the same
      bombs at the same columns, which an agent could learn by heart; ALE's games part from
      about the 8th bomb under sticky actions. DQN learns both versions alike, further than
      ALE's game after 200,000 steps; its agents carry more of their score to ALE's game now,
      and ALE's to ours (docs/results.md).
    * v0, later, the game unchanged: `info["lives"]` and `ale.lives()` drop when a lost bucket's
      explosions end, no longer on the frame the bomb lands. Life-loss wrappers (the DQN
      pipeline's, SB3's `AtariWrapper`) ended the training episode there, and their FIRE on
      reset fell in the explosions, which take no input: each episode after a lost bucket began
      with the game waiting for a FIRE of the agent's.
    * v0, before any release, the game changed: while play waits for FIRE the bomber stands
      still, as on ALE. He used to stroll, so a waiting screen moved like one in play. DQN
      learned neither version where it learns `ALE/Kaboom-v5` (docs/results.md).
    * v0, before any release, the game changed: the buckets follow a paddle as ALE's do (a
      frame late, up to 5 pixels a frame, coasting after release, a paddle that turns past the
      edges, moving while bombs explode), start at ALE's column 73, and `obs_type="state"` has
      `paddle_x`. They used to move a steady 3 pixels a frame, at once, and stand still while
      bombs exploded; DQN did not learn that game from its frames (docs/results.md).
    * v0, before any release, the game changed: every game opens alike, as ALE's do: the bomber
      starts at ALE's place, turns as often as ALE's (about every 15 to 20 frames), and his
      turns come from `bomber_seed` (default 154, whose opening is ALE's). He used to start at a
      random place, turn at random from `np_random` (so no two games began alike;
      `bomber_seed=None` keeps that) and run about 50 frames between turns (2% a frame in group
      1), which spread the first bombs across the wall where ALE's fall near its left edge.
    * v0, before any release, the game changed: the bomber's generator moves on only on the
      frames he runs, as the cartridge's randomness does on ALE, so waiting for FIRE (the DQN
      pipeline's no-op starts, a late FIRE between groups) no longer changes his path, and the
      default `bomber_seed` is 353, whose opening is ALE's under that rule. His turns used to be
      drawn on every frame: under the no-op starts of the DQN pipeline and of Gymnasium's
      `AtariPreprocessing`, the opening changed from game to game after all (docs/results.md).
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": ATARI_FPS // 4}
    render_name, window_title, window_scale = "Kaboom", "Kaboom!", 3

    def __init__(
        self,
        frameskip: int = 4,
        repeat_action_probability: float = 0.25,
        max_num_frames_per_episode: int | None = MAX_FRAMES_PER_EPISODE,
        obs_type: str = "rgb",
        render_mode: str | None = None,
        bomber_seed: int | None = BOMBER_SEED,
    ) -> None:
        self.frameskip = checked_frameskip(
            "Kaboom", frameskip, "; ALE's stochastic (low, high) frameskip is not supported"
        )
        self.repeat_action_probability = _checked_probability(repeat_action_probability)
        self.max_num_frames_per_episode = _checked_max_frames(max_num_frames_per_episode)
        self.obs_type = checked_obs_type("Kaboom", obs_type, OBS_TYPES)
        self.render_mode = checked_render_mode("Kaboom", render_mode, self.metadata["render_modes"])
        # A window shows the game at the Atari's speed whatever the frame skip.
        self.metadata = {**self.metadata, "render_fps": max(1, round(ATARI_FPS / self.frameskip))}
        self.action_space = spaces.Discrete(len(ACTION_MEANINGS))
        self.observation_space = _observation_space(self.obs_type)

        self.state = KaboomState()
        self._screen: _Screen | None = None
        self._grayscale_screen: _Screen | None = None
        if bomber_seed is not None and not is_int(bomber_seed):
            raise ValueError(
                f"Kaboom bomber_seed must be an int, or None to draw the bomber from np_random; "
                f"got {bomber_seed!r}."
            )
        self.bomber_seed = bomber_seed
        self._sticky: _Uniforms | None = None  # sticky-action draws, from np_random
        self._turns: _Uniforms | None = None  # the bomber's draws
        self._frame_number = 0
        self._over = True  # step() before reset() is refused like a step after the game

    @property
    def lives(self) -> int:
        """Buckets left, as `info["lives"]` and `ale.lives()`. A bucket lost to a miss counts
        until its explosions end and the game waits for FIRE (the last one ends the game at once):
        a life-loss wrapper ends the training episode there, so the FIRE it presses on reset
        starts the next group. Pressed during the explosions, which take no input, it would be
        lost, and the game would wait."""
        state = self.state
        return state.buckets + (state.phase == EXPLODING and state.buckets > 0)

    @functools.cached_property
    def ale(self) -> KaboomALE:
        """ALE's interface to this game, as ale-py's `AtariEnv.ale`: the part of `ALEInterface`
        that Atari wrappers call (`KaboomALE`)."""
        return KaboomALE(self)

    @property
    def _frameskip(self) -> int:
        """`frameskip` under the name ale-py's `AtariEnv` gives it, which Atari wrappers read
        (Gymnasium's `AtariPreprocessing` asks for 1)."""
        return self.frameskip

    def get_action_meanings(self) -> list[str]:
        return list(ACTION_MEANINGS)

    def get_keys_to_action(self) -> dict[tuple[int, ...], int]:
        """Keys for `gymnasium.utils.play`: the arrows or A and D move, space is FIRE."""
        import pygame

        keys = {(pygame.K_SPACE,): FIRE}
        for move, arrow, letter in (
            (RIGHT, pygame.K_RIGHT, pygame.K_d),
            (LEFT, pygame.K_LEFT, pygame.K_a),
        ):
            for key in (arrow, letter):
                keys[(key,)] = move
                keys[(key, pygame.K_SPACE)] = move  # moving matters more than FIRE mid-group
        return keys

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None or self._sticky is None or self._sticky.source is not self.np_random:
            self._sticky = _Uniforms(self.np_random)
            self._frame_number = 0  # as ALE, which reloads the game when seeded
        self.state = state = KaboomState()
        if self.bomber_seed is None:
            self._turns = self._sticky
            uniforms, i = self._turns.take(2)
            state.bomber_x = _BOMBER_MIN + int(uniforms[i] * (_BOMBER_MAX - _BOMBER_MIN + 1))
            state.bomber_direction = 1 if uniforms[i + 1] < 0.5 else -1
        else:
            self._turns = _Uniforms(np.random.default_rng(self.bomber_seed))
            state.bomber_x = BOMBER_START_X * SUBPIXELS
        self._over = False
        if self.render_mode == "human":
            self.render()
        return self._observe(), self._info()

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        action = checked_action(action, len(ACTION_MEANINGS), _invalid_action)
        if self._over:
            raise over_or_never_began("This Kaboom game")
        points, terminated, truncated = self._play(action, self.frameskip)
        if self.render_mode == "human":
            self.render()
        return self._observe(), float(points), terminated, truncated, self._info()

    def _play(self, action: int, frames: int) -> tuple[int, bool, bool]:
        """Plays `frames` frames with input `action` given, or fewer if the game ends; returns
        (points scored, terminated, truncated). Sticky actions apply frame by frame, as in ALE."""
        # The hot path: plain ints, the frames' random draws taken from a pre-drawn list.
        state = self.state
        score = scored = state.score
        sticky_draws, i = self._sticky.take(frames)
        turn_draws, j = self._turns.take(frames)
        sticky = self.repeat_action_probability
        frame_cap = self.max_num_frames_per_episode or 0
        taken = state.last_action
        terminated = truncated = False
        start_frame = state.frame
        first_turn_draw, turn_draws_taken = j, frames
        parting = self.bomber_seed is not None  # else his turns are np_random's already
        for frame in range(frames):
            if sticky_draws[i] >= sticky:
                taken = action
            # The bomber's draws are spent only on the frames he runs: as on ALE, his path is
            # the same however long play waits for FIRE (no-op starts, a late FIRE).
            running = state.phase == PLAYING
            play_frame(state, taken, turn_draws[j])
            i += 1
            j += running
            state.frame += 1
            if state.score != scored:
                scored = state.score
                if parting and state.group > OPENING_GROUPS:
                    # A catch after the opening: where the buckets caught it sets his path apart.
                    self._turns = _parted_turns(self.bomber_seed, state)
                    turn_draws_taken = frames - frame - 1
                    turn_draws, j = self._turns.take(turn_draws_taken)
                    first_turn_draw = j
            if state.buckets == 0 or state.score == MAX_SCORE:
                terminated = True
                break
            if state.frame == frame_cap:
                truncated = True
                break
        state.last_action = taken
        self._turns.put_back(turn_draws_taken - (j - first_turn_draw))
        self._frame_number += state.frame - start_frame
        self._over = terminated or truncated
        return state.score - score, terminated, truncated

    def _info(self) -> dict[str, Any]:
        return {
            "lives": self.lives,
            "episode_frame_number": self.state.frame,
            "frame_number": self._frame_number,
            "group": self.state.group,
        }

    def _frame(self) -> np.ndarray:
        """The RGB screen, drawn up to the state: the screen's own array, to be copied."""
        if self._screen is None:
            self._screen = _Screen()
        return self._screen.draw(self.state)

    def _grayscale_frame(self) -> np.ndarray:
        """The grayscale screen, as `_frame`. It is drawn apart, from grayscale sprites, at the
        cost of an RGB draw: converting the RGB frame would cost several times that."""
        if self._grayscale_screen is None:
            self._grayscale_screen = _Screen(grayscale=True)
        return self._grayscale_screen.draw(self.state)

    def _observe(self) -> np.ndarray:
        if self.obs_type == "rgb":
            return self._frame().copy()
        if self.obs_type == "grayscale":
            return self._grayscale_frame().copy()
        return state_vector(self.state)

    def _render_frame(self) -> np.ndarray:
        return self._frame().copy()


# ---- ALE's interface to the game: `KaboomEnv.ale`. ----


def _input_of(action: ale_py.Action) -> int:
    """The input one of ALE's 18 actions gives, as ALE reads them for a paddle game: a RIGHT or
    LEFT in its name turns the paddle, a FIRE presses the button, UP and DOWN do nothing."""
    fire = "FIRE" in action.name
    if "RIGHT" in action.name:
        return RIGHT_FIRE if fire else RIGHT
    if "LEFT" in action.name:
        return LEFT_FIRE if fire else LEFT
    return FIRE if fire else NOOP


_LEGAL_ACTIONS = tuple(ale_py.Action(number) for number in range(18))
_INPUT_OF_ALE_ACTION = tuple(_input_of(action) for action in _LEGAL_ACTIONS)


class KaboomALE:
    """The part of ale-py's `ALEInterface` that Gymnasium's and Stable-Baselines3's Atari
    wrappers, and common user code, call, on a `KaboomEnv`'s game (its `ale` attribute).

    The methods take and return what ale-py's do: `act` advances one frame (sticky actions
    included; the frame skip is the env's) and returns its points, and after the end of the game
    does nothing and returns 0; the screens are uint8, (210, 160, 3) RGB and (210, 160) grayscale
    (`to_ale_grayscale`), returned, or written into a buffer of that shape. One departure:
    `lives()` counts the buckets left (`KaboomEnv.lives`), where ALE's Kaboom reports 1 until its
    game is over, so life-loss wrappers (SB3's `EpisodicLifeEnv`,
    `AtariPreprocessing(terminal_on_life_loss=True)`) end a training episode at each lost bucket.
    Other `ALEInterface` methods raise AttributeError.
    """

    def __init__(self, env: KaboomEnv) -> None:
        self._env = env

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"Kaboom's ale has no {name!r}: it provides {', '.join(_ALE_METHODS)} of ale-py's "
            "ALEInterface."
        )

    def act(self, action: ale_py.Action | int, paddle_strength: float = 1.0) -> int:
        """Plays one frame with `action` (one of ALE's 18, an `ale_py.Action` or its number)
        and returns the points it scored."""
        if isinstance(action, ale_py.Action):
            action = action.value
        if not is_int(action) or not 0 <= action < len(_LEGAL_ACTIONS):
            raise ValueError(
                "Kaboom's ale.act takes one of ALE's 18 actions, an ale_py.Action or its number "
                f"0 to 17 (getLegalActionSet()), got {action!r}."
            )
        if paddle_strength != 1.0:
            raise ValueError(
                f"Kaboom's buckets move at one speed: paddle_strength must be 1.0, got "
                f"{paddle_strength!r}."
            )
        if self.game_over():
            return 0
        if self._env._over:
            raise over_or_never_began("This Kaboom game")
        return self._env._play(_INPUT_OF_ALE_ACTION[action], 1)[0]

    def lives(self) -> int:
        return self._env.lives

    def game_over(self, *, with_truncation: bool = True) -> bool:
        state = self._env.state
        ended = state.buckets == 0 or state.score == MAX_SCORE
        return ended or (with_truncation and self.game_truncated())

    def game_truncated(self) -> bool:
        cap = self._env.max_num_frames_per_episode
        return cap is not None and self._env.state.frame >= cap

    def getScreenRGB(self, buffer: np.ndarray | None = None) -> np.ndarray | None:
        return _screen_into(self._env._frame(), buffer, "getScreenRGB")

    def getScreenGrayscale(self, buffer: np.ndarray | None = None) -> np.ndarray | None:
        return _screen_into(self._env._grayscale_frame(), buffer, "getScreenGrayscale")

    def getScreenDims(self) -> tuple[int, int]:
        """(height, width), as ALE's."""
        return SCREEN_SHAPE[:2]

    def getEpisodeFrameNumber(self) -> int:
        return self._env.state.frame

    def getFrameNumber(self) -> int:
        return self._env._frame_number

    def getMinimalActionSet(self) -> list[ale_py.Action]:
        """The env's actions, in its order: `ale_py.Action` NOOP, FIRE, RIGHT, LEFT."""
        return [ale_py.Action.__members__[name] for name in ACTION_MEANINGS]

    def getLegalActionSet(self) -> list[ale_py.Action]:
        """ALE's 18 actions, which `act` takes; UP and DOWN do nothing in Kaboom."""
        return list(_LEGAL_ACTIONS)


_ALE_METHODS = tuple(name for name in vars(KaboomALE) if not name.startswith("_"))


def _screen_into(frame: np.ndarray, buffer: np.ndarray | None, method: str) -> np.ndarray | None:
    """ALE's two ways to read a screen: a fresh copy, or written into `buffer` (returning None)."""
    if buffer is None:
        return frame.copy()
    if not (
        isinstance(buffer, np.ndarray) and buffer.dtype == np.uint8 and buffer.shape == frame.shape
    ):
        raise ValueError(
            f"{method} writes into a uint8 array of shape {frame.shape}, as ALE's does; got "
            f"{_describe(buffer)}."
        )
    np.copyto(buffer, frame)
    return None


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"a {value.dtype} array of shape {value.shape}"
    return repr(value)


# ---- A scripted player that reads the frame, for ALE's Kaboom and this one alike. ----

_BOMB_GREY = _PALETTE["m"]  # two rows of every bomb's body; nothing else on screen has it
_BOMB_BODY = _PALETTE["g"]  # its widest rows, the wall's grey: found only below the wall
_BUCKET_YELLOW = _PALETTE["y"]
_BELOW_THE_HAND = BOMB_HAND_TOP + BOMB_HEIGHT + 2  # the first row a bomb reaches once dropped
CHASE_DEAD_ZONE = 8  # pixels: closer than this the buckets stay put rather than overshoot


def read_frame(frame: np.ndarray) -> tuple[float | None, float | None]:
    """(x of the lowest falling bomb, x of the buckets) in a Kaboom frame of 210x160x3, from ALE
    or from this env: centres, in pixels. None for what is not on screen."""
    band = frame[_BELOW_THE_HAND:GROUND_BOTTOM, PLAYFIELD_LEFT:PLAYFIELD_RIGHT]
    grey = (band[..., 0] == _BOMB_GREY[0]) & (band[..., 2] == _BOMB_GREY[2])
    rows = np.flatnonzero(grey.any(axis=1))
    bomb = None
    if len(rows):
        bomb = PLAYFIELD_LEFT + float(np.flatnonzero(grey[rows[-1]]).mean())
    stack = frame[BUCKET_TOPS[0] : GROUND_BOTTOM, PLAYFIELD_LEFT:PLAYFIELD_RIGHT]
    yellow = (stack[..., 0] == _BUCKET_YELLOW[0]) & (stack[..., 2] == _BUCKET_YELLOW[2])
    columns = np.flatnonzero(yellow.any(axis=0))
    buckets = PLAYFIELD_LEFT + (columns[0] + columns[-1]) / 2 if len(columns) else None
    return bomb, buckets


def bomber_column(frame: np.ndarray) -> float | None:
    """The middle of the bomber's hat, in pixels, in a Kaboom frame of 210x160x3 from ALE or from
    this env; None when he is not on screen."""
    band = frame[BOMBER_TOP : BOMBER_TOP + len(_BOMBER_HEAD), PLAYFIELD_LEFT:PLAYFIELD_RIGHT]
    hat = np.flatnonzero((band == _PALETTE["h"]).all(axis=-1).any(axis=0))
    return PLAYFIELD_LEFT + (hat[0] + hat[-1]) / 2 if len(hat) else None


def opening_columns(
    env: Env, bombs: int = 10, *, fire_delay: int = 0, seed: int = 0
) -> list[float]:
    """The columns where the first `bombs` bombs of a game leave the bomber's hand, on
    `ALE/Kaboom-v5` or `Kaboom-v0` (RGB, made with `frameskip=1`), played from `reset(seed=seed)`
    by the scripted player (who catches the first hundred, sticky actions or not), waiting
    `fire_delay` frames (NOOP) before each FIRE he presses. How a game opens: `KaboomEnv`'s
    `bomber_seed`. Fewer columns if the game ends first."""
    frame, _ = env.reset(seed=seed)
    columns, last_drop, waited = [], -100, 0
    for frame_number in range(300 * bombs + 50 * fire_delay):
        action = chase_lowest_bomb(frame)
        waited = waited + 1 if action == FIRE else 0
        frame, _, terminated, truncated, _ = env.step(
            NOOP if action == FIRE and waited <= fire_delay else action
        )
        if terminated or truncated:
            break
        body = (frame[52:56, PLAYFIELD_LEFT:PLAYFIELD_RIGHT] == _BOMB_BODY).all(axis=-1).any(axis=0)
        if body.any() and frame_number - last_drop > 8:  # a bomb's body just under the hand
            columns.append(PLAYFIELD_LEFT + float(np.flatnonzero(body).mean()))
            last_drop = frame_number
            if len(columns) == bombs:
                break
    return columns


def chase_lowest_bomb(frame: np.ndarray) -> int:
    """The scripted policy: the buckets go under the lowest falling bomb, and FIRE when none falls.

    Takes an RGB frame of `ALE/Kaboom-v5` or `Kaboom-v0` and returns an action of either (they
    share the action set). A baseline for agents and a check that the game can be learnt.
    """
    bomb, buckets = read_frame(frame)
    if bomb is None or buckets is None:
        return FIRE
    if bomb - buckets > CHASE_DEAD_ZONE:
        return RIGHT
    if buckets - bomb > CHASE_DEAD_ZONE:
        return LEFT
    return NOOP
