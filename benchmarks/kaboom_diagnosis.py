"""Why DQN learns ALE's Kaboom from pixels and not ours: the experiments of docs/results.md.

    python benchmarks/kaboom_diagnosis.py players          # simple players' scores on both games
    python benchmarks/kaboom_diagnosis.py opening          # the bomber seeds that open as ALE's
    python benchmarks/kaboom_diagnosis.py groups           # groups 1-4 on both: bombs, bomber
    python benchmarks/kaboom_diagnosis.py learn ale        # DQN, 100,000 steps, on one game:
    python benchmarks/kaboom_diagnosis.py learn ours       #   ale, ours or foothold
    python benchmarks/kaboom_diagnosis.py learn foothold   # [--seed 1] [--steps 100000]

`learn` trains agents.dqn (the atari preset, learning from step 20,000, epsilon 1 to 0.01 over the
first 30,000 steps, a 100,000-transition buffer, no life loss as terminal) on one game, both games
through the same wrappers: made with `frameskip=1` and ALE's grayscale, then Gymnasium's
`AtariPreprocessing` (the 4-frame skip with a max over the last two, no-op starts, 84x84) and the
rest of the DQN pipeline, in Gymnasium's vector env. So what differs is the game alone:

- `ale`: `ALE/Kaboom-v5`'s game (ale-py's `AtariEnv`), not through ale-py's C++ vector env.
- `ours`: `Kaboom-v0`'s game as it ships.
- `foothold`: ours with one change for this experiment only: in group 1 the bomber stands at ALE's
  start column, so the first bombs always fall at the left edge, as ALE's first ones fall near it
  (`players` shows what that is worth: holding LEFT scores on ALE, not on ours).
- `rhythm`: ours with the bomber running in ALE's rhythm in groups 1 to 4 (`ALE_RHYTHM`: its
  speeds, halts and turns), from `RHYTHM_SEED`, whose opening is ALE's in that game.

The run goes to runs/kaboom-diagnosis/<game>__seed<seed> (its progress.csv has the curve), and the
last line gives its final training return and evaluation. A run stopped with Ctrl-C or SIGTERM
saves its checkpoint, and the same command goes on from it (plain `python -m agents.dqn --resume`
cannot: the game's id exists only in this script). Two at once on 2 cores: give each
`OMP_NUM_THREADS=1` (with two torch threads each and other work beside them, they ran at about 8
steps/s; with one each, at 50 to 60).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
from itertools import pairwise
from pathlib import Path

import gymnasium as gym
import numpy as np

import registry  # noqa: F401  (our ids, and ale-py's)
from envs import kaboom
from envs.kaboom import FIRE, LEFT, bomber_column, chase_lowest_bomb, opening_columns

REPO = Path(__file__).resolve().parent.parent
GAMES = ("ale", "ours", "foothold", "rhythm")
# ALE's bomber's rhythm in groups 1 to 4, read frame by frame from its screen (docs/results.md):
# (speed in 1/16 pixel a frame, halt_every, halt_frames, turn_chance a frame of running: a turn
# every 15.9, 14.2, 17.8 and 19.5 frames he runs).
ALE_RHYTHM = {
    1: (16, 18, 3, 0.063),
    2: (32, 18, 3, 0.070),
    3: (48, 9, 1, 0.056),
    4: (64, 9, 1, 0.051),
}
RHYTHM_SEED = 20
"""the `rhythm` game's `bomber_seed`: the closest to ALE's opening of seeds 0 to 399 in that game
(`python benchmarks/kaboom_diagnosis.py opening --game rhythm`)"""


def _ale_game(**kwargs):
    from ale_py import AtariEnv

    settings = {
        "game": "kaboom",
        "obs_type": "grayscale",
        "frameskip": 1,
        "repeat_action_probability": 0.25,
        "max_num_frames_per_episode": 108_000,
    }
    return AtariEnv(**{**settings, **kwargs})


def _register(game: str) -> str:
    """The id of `game`, registered with one frame a step and ALE's grayscale (an entry point that
    is not ale-py's own, so that the agents use Gymnasium's wrappers on either game)."""
    env_id = f"diagnosis/Kaboom-{game}-v0"
    if env_id in gym.registry:
        pass
    elif game == "ale":
        gym.register(env_id, entry_point=_ale_game)
    else:
        kwargs = {"frameskip": 1, "obs_type": "grayscale"}
        if game == "rhythm":
            kwargs["bomber_seed"] = RHYTHM_SEED
        gym.register(env_id, entry_point="envs.kaboom:KaboomEnv", kwargs=kwargs)
    if game == "foothold":
        first, *rest = kaboom.GROUPS
        kaboom.GROUPS = (dataclasses.replace(first, bomber_speed=0, turn_chance=0.0), *rest)
    if game == "rhythm":
        kaboom.GROUPS = tuple(
            dataclasses.replace(rules, **dict(zip(_RHYTHM_FIELDS, ALE_RHYTHM[group], strict=True)))
            if group in ALE_RHYTHM
            else rules
            for group, rules in enumerate(kaboom.GROUPS, start=1)
        )
    return env_id


_RHYTHM_FIELDS = ("bomber_speed", "halt_every", "halt_frames", "turn_chance")


def learn(game: str, seed: int, steps: int) -> None:
    """Trains (or, from its checkpoint, goes on training) the run of `game`, then says how it
    did. A run that stops or fails ends the script with its exit status."""
    from agents.dqn import main

    run_dir = REPO / "runs" / "kaboom-diagnosis" / f"{game}__seed{seed}"
    env_id = _register(game)  # before a resume too: the id exists in this process only
    if (run_dir / "checkpoint.pt").is_file():  # cut short (Ctrl-C): it goes on where it stopped
        status = main(["--resume", str(run_dir)])
    else:
        status = main(["--env", env_id, "--seed", str(seed), "--run-dir", str(run_dir),
                       "--total-timesteps", str(steps), "--learning-starts", "20000",
                       "--exploration-fraction", str(min(1.0, 30_000 / steps)),
                       "--buffer-size", "100000", "--no-terminal-on-life-loss"])  # fmt: skip
    if status != 0:
        sys.exit(status)  # the agent said why (a stop: this command goes on from the checkpoint)
    summary = json.loads((run_dir / "summary.json").read_text())
    print(f"{game} seed {seed}, {steps:,} steps: training return (last 100) "
          f"{summary['train_mean_return_last_100']:.2f}, evaluation "
          f"{summary['eval_mean_return']:.1f} ± {summary['eval_std_return']:.1f}")  # fmt: skip


PLAYERS = {
    "random": lambda frame, rng: int(rng.integers(4)),
    "FIRE only (buckets stay)": lambda frame, rng: FIRE,
    "LEFT or FIRE, half each": lambda frame, rng: LEFT if rng.random() < 0.5 else FIRE,
    "scripted (chase_lowest_bomb)": lambda frame, rng: chase_lowest_bomb(frame),
    # A player that can lose: where a game is harder to a chaser, it shows here first.
    "scripted, a random action in half the steps": lambda frame, rng: (
        int(rng.integers(4)) if rng.random() < 0.5 else chase_lowest_bomb(frame)
    ),
}


# The games of the players' table: ALE's, ours, and ours with the bomber from np_random (a random
# start and turns in every game: what our game's opening was before it opened as ALE's).
TABLE_GAMES = {
    "ALE/Kaboom-v5": {},
    "Kaboom-v0": {},
    "Kaboom-v0, bomber_seed=None": {"bomber_seed": None},
}


def players(games: int) -> None:
    """Each player's mean score per game on each game of `TABLE_GAMES` (v5 settings: 4 frames a
    step, sticky actions 0.25), `games` games each, seeds 0, 1, ..."""
    print(f"| player | {' | '.join(TABLE_GAMES)} |\n|---|{'---:|' * len(TABLE_GAMES)}")
    for name, player in PLAYERS.items():
        scores = []
        for game, kwargs in TABLE_GAMES.items():
            env_id = game.split(",")[0]
            env, rng, totals = gym.make(env_id, **kwargs), np.random.default_rng(0), []
            for seed in range(games):
                frame, _ = env.reset(seed=seed)
                total, over = 0.0, False
                while not over:
                    frame, reward, terminated, truncated, _ = env.step(player(frame, rng))
                    total, over = total + reward, terminated or truncated
                totals.append(total)
            scores.append(f"{np.mean(totals):.1f} ± {np.std(totals):.1f}")
            env.close()
        print(f"| {name} | {' | '.join(scores)} |")


def opening(seeds: int, game: str = "ours") -> list[tuple[float, int]]:
    """Our game's `bomber_seed`s 0 to `seeds - 1` by how far their first ten bombs fall from
    ALE's (the largest distance, bomb by bomb), closest first; prints the five closest. `game`:
    ours as it ships, or one of the experiments' (`rhythm`, `foothold`)."""
    _register(game)
    single = {"frameskip": 1, "repeat_action_probability": 0.0}
    theirs = opening_columns(gym.make("ALE/Kaboom-v5", **single))
    print("ALE/Kaboom-v5: its first ten bombs at columns", [round(x) for x in theirs])
    ranked = []
    for seed in range(seeds):
        ours = opening_columns(gym.make("Kaboom-v0", bomber_seed=seed, **single))
        if len(ours) == len(theirs):
            ranked.append((max(abs(a - b) for a, b in zip(ours, theirs, strict=True)), seed))
    ranked.sort()
    for distance, seed in ranked[:5]:
        print(f"bomber_seed={seed}: within {distance:.0f} pixels")
    return ranked


_BOMBS_BY = np.cumsum([0] + [rules.bombs for rules in kaboom.GROUPS[:4]])
GROUP_BOMBS = tuple((int(first) + 1, int(last)) for first, last in pairwise(_BOMBS_BY))
"""the first and last bomb of groups 1 to 4, where none is missed: (1, 10), (11, 30), ..."""
GROUP_SCORES = tuple(
    int(x) for x in np.cumsum([0] + [r.bombs * r.points for r in kaboom.GROUPS[:4]])
)
"""the scores at which groups 1 to 4 begin and group 4 ends, where none is missed"""


def read_groups(env: gym.Env, seed: int) -> tuple[list[float], list[tuple[float, float]]]:
    """For each of groups 1 to 4 of a game of the scripted player on `env` (RGB, made with
    `frameskip=1`), read from the frames: the bomber's mean speed in pixels a frame (his halts
    and turns counted, `bomber_column`), and the bombs' timing: the median frames between two
    drops and the mean fall of the lowest bomb in pixels a frame."""
    frame, _ = env.reset(seed=seed)
    moves: list[list[float]] = [[] for _ in GROUP_SCORES[1:]]
    gaps: list[list[int]] = [[] for _ in GROUP_SCORES[1:]]
    falls: list[list[int]] = [[] for _ in GROUP_SCORES[1:]]
    score, last_at, last_drop, last_low = 0.0, None, None, None
    for frame_number in itertools.count():
        frame, reward, terminated, truncated, _ = env.step(chase_lowest_bomb(frame))
        score += float(reward)
        group = int(np.searchsorted(GROUP_SCORES, score, side="right")) - 1
        if terminated or truncated or group >= len(moves):
            break
        at = bomber_column(frame)
        if at is not None and last_at is not None:
            moves[group].append(abs(at - last_at))
        last_at = at
        playfield = frame[:, kaboom.PLAYFIELD_LEFT : kaboom.PLAYFIELD_RIGHT]
        bombs = (playfield[52 : kaboom.GROUND_BOTTOM] == kaboom._BOMB_BODY).all(axis=-1).any(1)
        if bombs[:4].any() and (last_drop is None or frame_number - last_drop > 4):
            if last_drop is not None and frame_number - last_drop < 60:  # not across a wait
                gaps[group].append(frame_number - last_drop)
            last_drop = frame_number
        rows = np.flatnonzero(bombs)
        low = int(rows[-1]) if len(rows) else None
        if low is not None and last_low is not None and 0 < low - last_low < 8:
            falls[group].append(low - last_low)
        last_low = low
    speeds = [float(np.mean(m)) if m else float("nan") for m in moves]
    timing = [(float(np.median(g)) if g else float("nan"), float(np.mean(f)) if f else float("nan"))
              for g, f in zip(gaps, falls, strict=True)]  # fmt: skip
    return speeds, timing


def groups(games: int) -> dict[str, dict[str, list]]:
    """Groups 1 to 4 on both games, `games` games of the scripted player each (seeds 0, 1, ...,
    v5's sticky actions, so that games part): where their bombs leave the bomber's hand
    (`opening_columns`: the mean column, its spread, the share in the left third of the wall),
    how fast the bomber runs, and how often bombs drop and how fast they fall (`read_groups`).
    Returns each game's columns, speeds and timing, an entry per group."""
    left, right = kaboom.PLAYFIELD_LEFT, kaboom.PLAYFIELD_RIGHT
    third = left + (right - left) / 3
    print(f"left third: columns {left} to {third:.0f} of {left} to {right}")
    found = {}
    for env_id in ("ALE/Kaboom-v5", "Kaboom-v0"):
        env = gym.make(env_id, frameskip=1, repeat_action_probability=0.25)
        played = [opening_columns(env, GROUP_BOMBS[-1][1], seed=seed) for seed in range(games)]
        read = [read_groups(env, seed) for seed in range(games)]
        speeds = np.nanmean([speeds for speeds, _ in read], axis=0)
        timing = np.nanmean([timing for _, timing in read], axis=0)
        env.close()
        columns = [
            np.array([x for game in played for x in game[first - 1 : last]])
            for first, last in GROUP_BOMBS
        ]
        found[env_id] = {"columns": columns, "speeds": speeds.tolist(), "timing": timing.tolist()}
    names = list(found)
    timing = "frames a drop, fall px/frame"
    print(f"| group (bombs) | bombs fall, {' | bombs fall, '.join(names)} | "
          f"bomber px/frame, {' | bomber px/frame, '.join(names)} | "
          f"{timing}, {f' | {timing}, '.join(names)} |")  # fmt: skip
    print(f"|---|{'---:|' * 3 * len(names)}")
    for group, (first, last) in enumerate(GROUP_BOMBS):
        where = [found[name]["columns"][group] for name in names]
        text = [
            f"column {c.mean():.0f} ± {c.std():.0f}, {np.mean(c < third):.0%} left" for c in where
        ]
        text += [f"{found[name]['speeds'][group]:.2f}" for name in names]
        text += [f"{found[name]['timing'][group][0]:.0f}, {found[name]['timing'][group][1]:.2f}"
                 for name in names]  # fmt: skip
        print(f"| {group + 1} ({first} to {last}) | {' | '.join(text)} |")
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("learn", help="train agents.dqn on one game")
    run.add_argument("game", choices=GAMES)
    run.add_argument("--seed", type=int, default=1)
    run.add_argument("--steps", type=int, default=100_000)
    table = commands.add_parser("players", help="simple players' scores on both games")
    table.add_argument("--games", type=int, default=10)
    search = commands.add_parser("opening", help="the bomber seeds whose opening is ALE's")
    search.add_argument("--seeds", type=int, default=400)
    search.add_argument("--game", choices=GAMES[1:], default="ours")
    spread = commands.add_parser(
        "groups", help="where groups 1-4's bombs fall and how fast the bomber runs, on both games"
    )
    spread.add_argument("--games", type=int, default=5)
    options = parser.parse_args(argv)
    if options.command == "learn":
        if options.steps < 20_001:
            parser.error("--steps must be over 20,000: learning starts at step 20,000")
        learn(options.game, options.seed, options.steps)
    elif options.command == "opening":
        opening(options.seeds, options.game)
    elif options.command == "groups":
        groups(options.games)
    else:
        players(options.games)


if __name__ == "__main__":
    sys.exit(main())
