"""The command-line flow every agent shares: parse, train or resume or evaluate, and report.

An agent subclasses `Agent` with what is its own (how it trains, saves and loads); `run` does the
rest the same way for every agent: flags and presets (`agents.config`), refusing flags the agent
has no meaning for, the run directory and its `config.json`, Ctrl-C and divergence handling, the
final evaluation (`agents.evaluation`), `summary.json` and `learning_curve.png` (`agents.runs`).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

import registry
from agents.cli import UsageError, build_parser, explicit_values, resolve
from agents.config import PRESETS, RUN_SETTINGS, Args, pick_device, validate
from agents.environments import checked_env_id, env_family
from agents.evaluation import evaluate_policy
from agents.play import Policy
from agents.runs import default_run_dir, plot_learning_curve, write_json

PolicyFactory = Callable[[float, np.random.Generator], Policy]
"""Makes the agent's epsilon-greedy policy for one observation: factory(epsilon, rng)."""


@dataclass
class Trained:
    """What `Agent.train` hands back."""

    summary: dict[str, Any]
    """total_steps, wall_seconds, sps, train_episodes, train_mean_return_last_100, and any
    agent-specific figures"""
    policy: PolicyFactory


@dataclass
class Agent:
    """One agent's own part of the command line; `run` does the rest."""

    name: str
    prog: str
    description: str
    checkpoint_name: str
    presets: dict[str, dict[str, Any]] = field(default_factory=lambda: PRESETS)
    unsupported: dict[str, str] = field(default_factory=dict)
    """flags the agent refuses, each with the reason"""
    resume_changeable: frozenset[str] | None = None
    """the settings a --resume may change (None: any but the env)"""

    def saved_config(self, checkpoint: Path) -> dict[str, Any]:
        """The config of the run that wrote `checkpoint` (a UsageError if it is unreadable)."""
        raise NotImplementedError

    def train(self, args: Args, run_dir: Path, device: torch.device, resume: bool) -> Trained:
        """Trains (from the run's checkpoint if `resume`, dropping the rows of progress.csv past
        it), checkpointing at the end and on Ctrl-C (then re-raising KeyboardInterrupt); raises
        FloatingPointError when training diverges."""
        raise NotImplementedError

    def load_policy(self, checkpoint: Path, args: Args, device: torch.device) -> PolicyFactory:
        raise NotImplementedError

    def validate(self, args: Args) -> None:
        """Checks of the agent's own, after the shared ones."""


def _checkpoint_path(agent: Agent, path: Path) -> Path:
    path = path / agent.checkpoint_name if path.is_dir() else path
    if not path.is_file():
        raise UsageError(
            f"no checkpoint at {path}; pass the run directory or its {agent.checkpoint_name}"
        )
    return path


def _print_returns(returns: list[float]) -> None:
    if not returns:
        print("evaluation: no episode was played to its end")
        return
    print(
        f"evaluation over {len(returns)} episode(s): mean return {np.mean(returns):.3f} "
        f"+- {np.std(returns):.3f} (min {np.min(returns):g}, max {np.max(returns):g})"
    )


def _evaluate(policy: PolicyFactory, args: Args) -> list[float]:
    seed = args.seed + 10_000  # episodes the training envs never started from
    returns = evaluate_policy(
        args.env,
        policy(args.eval_epsilon, np.random.default_rng(seed)),
        args.episodes,
        seed,
        render=args.render,
        video_dir=args.video,
    )
    if args.video:
        print(f"videos of the episodes in {args.video}", file=sys.stderr)
    return returns


def _settings(agent: Agent, typed: dict[str, Any], saved: dict[str, Any] | None) -> Args:
    """The run's config: the saved one (resume, evaluate) or the env's preset, then the flags."""
    if saved is not None:
        kept = {k: v for k, v in saved.items() if k not in RUN_SETTINGS}
        args = resolve(Args, kept, typed)
    else:
        env_id = checked_env_id(typed.get("env", Args.env))
        args = resolve(Args, agent.presets[env_family(env_id)], typed)
    args.env = checked_env_id(args.env)
    validate(args)
    agent.validate(args)
    return args


def _load(agent: Agent, checkpoint: Path, typed: dict[str, Any]) -> tuple[Args, PolicyFactory]:
    """The config of the run that wrote `checkpoint`, with the flags in `typed`, and its policy."""
    args = _settings(agent, typed, agent.saved_config(checkpoint))
    return args, agent.load_policy(checkpoint, args, pick_device(args.device))


def agent_commands() -> list[Agent]:
    """The `Agent` of each agent of the catalog whose module names one `AGENT_COMMAND` (ours do;
    a plugin built on `run` may)."""
    found = []
    for name in registry.agents():
        try:
            main = registry.load_agent(name)
        except ImportError:  # a broken plugin must not stop runs of the others
            continue
        command = getattr(inspect.getmodule(main), "AGENT_COMMAND", None)
        if isinstance(command, Agent):
            found.append(command)
    return found


def load_run(path: str | Path) -> tuple[Args, PolicyFactory]:
    """The config and the policy of the run at `path` (a run directory or its checkpoint), loaded
    by the agent that wrote it: the first of `agent_commands()` whose checkpoint file is there."""
    path = Path(path)
    commands = agent_commands()
    for agent in commands:
        checkpoint = path / agent.checkpoint_name if path.is_dir() else path
        if checkpoint.name == agent.checkpoint_name and checkpoint.is_file():
            return _load(agent, checkpoint, {})
    names = ", ".join(f"{agent.checkpoint_name} ({agent.name})" for agent in commands)
    raise UsageError(
        f"no checkpoint of an agent at {path}; pass a run directory, or its checkpoint: {names}"
    )


def run(agent: Agent, argv: list[str] | None = None) -> int:
    """The whole command: `python -m agents.<name> [flags]`. Returns the exit status."""
    parser = build_parser(
        Args, prog=agent.prog, description=agent.description, presets=agent.presets
    )
    typed = explicit_values(parser.parse_args(argv))
    for name, value in typed.items():
        if name not in agent.unsupported:
            continue
        # A flag the agent has no meaning for may still ask for what it does anyway (--no-double).
        does = {preset.get(name, getattr(Args, name)) for preset in agent.presets.values()}
        if does != {value}:
            raise UsageError(
                f"--{name.replace('_', '-')} has no meaning for {agent.name}: "
                f"{agent.unsupported[name]}; drop it"
            )

    if "evaluate" in typed and "resume" in typed:
        raise UsageError("--evaluate and --resume cannot go together; pick one")
    if "evaluate" in typed:
        checkpoint = _checkpoint_path(agent, Path(typed["evaluate"]))
        args, policy = _load(agent, checkpoint, typed)
        _print_returns(_evaluate(policy, args))
        return 0

    resume = "resume" in typed
    if resume:
        if "run_dir" in typed:
            raise UsageError("--resume continues in the run's own directory; drop --run-dir")
        checkpoint = _checkpoint_path(agent, Path(typed["resume"]))
        typed["run_dir"] = str(checkpoint.parent)
        saved = agent.saved_config(checkpoint)
        changeable = agent.resume_changeable
        for name, value in typed.items():
            fixed = name == "env" or (changeable is not None and name not in changeable)
            if fixed and name not in (*RUN_SETTINGS, "run_dir") and saved.get(name) != value:
                raise UsageError(
                    f"--{name.replace('_', '-')} cannot change when {agent.name} resumes a run "
                    f"(it was {saved.get(name)!r}); drop it, or start a new run"
                )
        args = _settings(agent, typed, saved)
    else:
        args = _settings(agent, typed, None)
    device = pick_device(args.device)
    run_dir = Path(args.run_dir or default_run_dir(args.env, agent.name, args.seed))
    if not resume:
        if (run_dir / agent.checkpoint_name).exists():
            raise UsageError(
                f"{run_dir} holds another run; continue it with --resume {run_dir}, or pick a "
                "new --run-dir"
            )
        if (run_dir / "progress.csv").exists():
            raise UsageError(
                f"{run_dir} holds the logs of another run, and no checkpoint of {agent.name} "
                "to resume; pick a new --run-dir"
            )
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(
            f"cannot make the run directory {run_dir} ({error.strerror}); pick another --run-dir"
        ) from None
    if args.learning_starts >= args.total_timesteps:
        print(
            f"note: learning starts at step {args.learning_starts:,}, and the run ends at "
            f"{args.total_timesteps:,}: no gradient step will be taken (--learning-starts)",
            file=sys.stderr,
        )
    args.run_dir = str(run_dir)
    write_json(run_dir / "config.json", dataclasses.asdict(args))

    try:
        trained = agent.train(args, run_dir, device, resume)
    except KeyboardInterrupt:
        print(
            f"\ninterrupted; checkpoint saved. Continue with {agent.prog} --resume {run_dir}",
            file=sys.stderr,
        )
        return 130
    except FloatingPointError as error:
        checkpoint = run_dir / agent.checkpoint_name
        kept = (
            f"the last good checkpoint is kept in {checkpoint}"
            if checkpoint.exists()
            else "no checkpoint had been written yet"
        )
        print(f"training stopped: {error}; {kept}. Try a lower --learning-rate.", file=sys.stderr)
        return 1
    try:
        returns = _evaluate(trained.policy, args)
    except KeyboardInterrupt:
        print(
            f"\ninterrupted in the final evaluation; training is done and saved. Evaluate it "
            f"with {agent.prog} --evaluate {run_dir}",
            file=sys.stderr,
        )
        return 130
    _print_returns(returns)
    summary = {
        "env_id": args.env,
        "agent": agent.name,
        "seed": args.seed,
        **trained.summary,
        # JSON has no NaN: None when no evaluation episode finished (a window closed at once).
        "eval_mean_return": float(np.mean(returns)) if returns else None,
        "eval_std_return": float(np.std(returns)) if returns else None,
        "eval_episodes": len(returns),
        "device": str(device),
    }
    write_json(run_dir / "summary.json", summary)
    plot_learning_curve(run_dir, summary["eval_mean_return"])
    print(json.dumps(summary, indent=2))
    print(f"outputs in {run_dir}", file=sys.stderr)
    return 0
