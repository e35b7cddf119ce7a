"""Play a game yourself, or watch a trained agent play it, in a pygame window.

    python -m agents.human --env Kaboom-v0                  # arrows (or A, D) move, space is FIRE
    python -m agents.human --env ALE/Breakout-v5            # any ALE id, with ALE's own keys
    python -m agents.human --env Catch-v0 --record me.npz   # keep what you played
    python -m agents.human --agent runs/<run>               # watch the run's agent play its env

Any env with a `get_keys_to_action()` can be played: ours (Catch-v0, Kaboom-v0, SuperMarioLand-v0
with your ROM) and every ALE id. The window shows the env's frame at its `render_fps`, with the
score, lives and episode over it; Esc quits, P pauses, R restarts the episode. The returns are
printed when the window closes.
"""

from __future__ import annotations

import functools
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np

from agents.common.cli import UsageError, build_parser, explicit_values, resolve, run_main
from agents.common.command import load_run
from agents.common.config import MAX_SEED
from agents.common.environments import checked_env_id, make_eval_env
from agents.common.files import make_writable_dir
from agents.common.play import Played, Recording, play
from agents.common.policy import Policy

PROG = "python -m agents.human"
MARIO_ENTRY_POINT = "envs.mario:SuperMarioLandEnv"


@dataclass
class HumanArgs:
    env: str = "Catch-v0"
    """the id of the env to play (any registered or ALE id with a key mapping); with --agent, the
    run's env, which it must match"""
    agent: str | None = None
    """a run directory (or its checkpoint) of any agent: watch its policy play, instead of you"""
    seed: int | None = None
    """seed of the first episode (episode k gets seed + k; none: a new game each time)"""
    episodes: int | None = None
    """stop after this many episodes (none: play until the window closes)"""
    max_steps: int | None = None
    """stop after this many steps (none: no limit)"""
    fps: float | None = None
    """steps a second (none: the env's render_fps; ALE's games, 60 over the frame skip)"""
    scale: int | None = None
    """screen pixels per frame pixel (none: the largest that keeps the window 640 pixels tall)"""
    record: str | None = None
    """save what was played to this compressed .npz (observations, actions, rewards, episodes)"""
    rom: str | None = None
    """your Super Mario Land ROM, to play SuperMarioLand-v0 (none: $DQN_ARCADE_SML_ROM)"""


def _validate(args: HumanArgs) -> None:
    for name in ("episodes", "max_steps", "scale"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if args.fps is not None and not (math.isfinite(args.fps) and args.fps > 0):
        raise UsageError(f"--fps must be a positive number, got {args.fps}")
    if args.seed is not None and not 0 <= args.seed <= MAX_SEED:
        raise UsageError(f"--seed must lie in [0, {MAX_SEED:,}], got {args.seed}")


def _by_hand(args: HumanArgs) -> tuple[str, Callable[[], gym.Env], None]:
    """The env id, how to make the env (its frames to show), and no policy: the keyboard plays."""
    env_id = checked_env_id(args.env)
    kwargs = {}
    if args.rom is not None:
        if gym.spec(env_id).entry_point != MARIO_ENTRY_POINT:
            raise UsageError(f"--rom is for SuperMarioLand-v0, not {env_id}; drop it")
        kwargs["rom_path"] = args.rom
    return env_id, functools.partial(gym.make, env_id, render_mode="rgb_array", **kwargs), None


def _watched(args: HumanArgs, env_given: bool) -> tuple[str, Callable[[], gym.Env], Policy]:
    """The run's env id, how to make its evaluation env (the observations its agent was trained
    on, frames to show), and its policy."""
    if args.rom is not None:
        raise UsageError(
            "--rom is for playing by hand; a run's env takes the ROM its training took, from "
            "$DQN_ARCADE_SML_ROM"
        )
    run_args, policy = load_run(args.agent)
    if env_given and args.env != run_args.env:
        raise UsageError(
            f"{args.agent} was trained on {run_args.env}, not {args.env}; drop --env or pass "
            f"--env {run_args.env}"
        )
    rng = np.random.default_rng(args.seed)
    return (
        run_args.env,
        functools.partial(make_eval_env, run_args.env, render_mode="rgb_array"),
        policy(run_args.eval_epsilon, rng),
    )


def _started(make: Callable[[], gym.Env], env_id: str, rom_hint: str) -> gym.Env:
    """The env `make` makes, reset once before the window opens, so that a missing or wrong ROM
    is one line (with `rom_hint` for a missing one)."""
    env = None
    try:
        env = make()
        env.reset()
    except (FileNotFoundError, ValueError) as error:
        if env is not None:
            env.close()
        hint = rom_hint if isinstance(error, FileNotFoundError) else ""
        raise UsageError(f"{env_id} cannot start: {str(error).rstrip('.')}{hint}") from None
    return env


def _record_path(record: str) -> Path:
    """The file `--record` writes (numpy's name for it: with .npz), checked before the window
    opens, so that a session is never played for nothing."""
    path = Path(record)
    if path.suffix != ".npz":  # numpy would add it; say the name it writes
        path = path.with_name(path.name + ".npz")
    problem = None
    if path.is_dir():
        problem = "is a directory"
    elif path.exists() and not os.access(path, os.W_OK):
        problem = "cannot be overwritten by this user"
    else:
        try:
            make_writable_dir(path.parent)
        except OSError as error:
            problem = f"cannot be written in {path.parent} ({error.strerror})"
    if problem:
        raise UsageError(f"--record {record}: {path} {problem}; pass another file")
    return path


def report(env_id: str, played: Played) -> str:
    """The returns of a session, as printed when its window closes."""
    if played.returns:
        returns = ", ".join(f"{value:g}" for value in played.returns)
        mean = float(np.mean(played.returns))
        line = f"{env_id}: {len(played.returns)} episode(s), returns {returns} (mean {mean:g})"
    else:
        line = f"{env_id}: no episode played to its end"
    if played.unfinished_return is not None:
        line += f"; the one cut short had {played.unfinished_return:g}"
    return line


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(HumanArgs, prog=PROG, description=__doc__)
    typed = explicit_values(parser.parse_args(argv))
    args = resolve(HumanArgs, typed)
    _validate(args)
    record = _record_path(args.record) if args.record else None

    if args.agent is not None:
        env_id, make, policy = _watched(args, "env" in typed)
        rom_hint = ""
    else:
        env_id, make, policy = _by_hand(args)
        rom_hint = "; here, pass it as --rom FILE"
    env = _started(make, env_id, rom_hint)
    recording = Recording() if record is not None else None
    try:
        played = play(
            env,
            policy,
            episodes=args.episodes,
            max_steps=args.max_steps,
            seed=args.seed,
            fps=args.fps,
            scale=args.scale,
            recording=recording,
        )
        print(report(env_id, played))
    finally:  # what was played is saved however the session ended
        env.close()
        if recording is not None:
            recording.save(record, env_id)
            print(
                f"recorded {recording.steps_taken} step(s) of {recording.episodes} episode(s) to "
                f"{record}",
                file=sys.stderr,
            )
    return 0


if __name__ == "__main__":
    run_main(main, PROG)
