"""The command-line flow every agent shares: parse, train or resume or evaluate, and report.

An agent is an `Agent` with what is its own (its config dataclass and presets, how it trains,
saves and loads); `run` does the rest the same way for every agent:

1. the flags, over the preset of the env's family (`agents.common.cli`), refusing flags the agent
   has no meaning for;
2. `--evaluate RUN`: load the run's policy, play `--episodes`, print the returns; or
3. train (`--resume RUN` continues one): the run directory and its `config.json`, then
   `Agent.train` under `signals_stop_training` (Ctrl-C and SIGTERM end it with a checkpoint);
4. the final evaluation (`agents.common.evaluation`), `summary.json` and `learning_curve.png`.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

import registry
from agents.common.checkpoints import TrainingStopped, exit_status, signals_stop_training
from agents.common.cli import UsageError, build_parser, explicit_values, resolve
from agents.common.config import RUN_SETTINGS, RunArgs, flag
from agents.common.device import pick_device, setup_backends
from agents.common.environments import check_env, checked_env_id, env_family
from agents.common.evaluation import evaluate_policy
from agents.common.files import WriteError, make_writable_dir, write_json
from agents.common.policy import GreedyActions, Policy, epsilon_greedy
from agents.common.precision import pick_precision
from agents.common.runs import RUN_FILES, default_run_dir, plot_learning_curve

PolicyFactory = Callable[[float, np.random.Generator], Policy]
"""Makes the agent's epsilon-greedy policy for one observation: factory(epsilon, rng)."""


def q_policy(greedy: GreedyActions, num_actions: int) -> PolicyFactory:
    """The `PolicyFactory` of a Q-function: epsilon-greedy over its `greedy` actions."""

    def factory(epsilon: float, rng: np.random.Generator) -> Policy:
        return epsilon_greedy(greedy, num_actions, epsilon, rng)

    return factory


def load_weights(network: nn.Module, checkpoint: dict[str, Any], flags: str) -> None:
    """The Q-network of an agent's `checkpoint` (its learner's `q_network`) into `network`, for
    evaluation; a UsageError if it does not fit, naming the env it was trained on and the network
    `flags` that shape it."""
    try:
        network.load_state_dict(checkpoint["learner"]["q_network"])
    except RuntimeError:
        trained_on = checkpoint["config"]["env"]
        raise UsageError(
            f"the checkpoint's network (trained on {trained_on}) does not fit the env and network "
            f"asked for; leave out --env and the network flags ({flags})"
        ) from None
    network.eval()


@dataclass
class Trained:
    """What `Agent.train` hands back."""

    summary: dict[str, Any]
    """`agents.common.runs.training_summary`, and any agent-specific figures"""
    policy: PolicyFactory


@dataclass
class Agent:
    """One agent's own part of the command line; `run` does the rest."""

    name: str
    prog: str
    description: str
    checkpoint_name: str
    config: type[RunArgs]
    """the agent's config dataclass: a flag per field"""
    presets: dict[str, dict[str, Any]]
    """values per env family ("atari", "catch", "mlp"), over the dataclass defaults"""
    validate: Callable[[Any], None]
    """a UsageError naming the first value of a config that cannot work"""
    unsupported: dict[str, str] = field(default_factory=dict)
    """flags the agent refuses, each with the reason"""
    resume_changeable: frozenset[str] | None = None
    """the settings a --resume may change (None: any but the env)"""

    def saved_config(self, checkpoint: Path) -> dict[str, Any]:
        """The config of the run that wrote `checkpoint` (a UsageError if it is unreadable)."""
        raise NotImplementedError

    def train(self, args: Any, run_dir: Path, device: torch.device, resume: bool) -> Trained:
        """Trains (from the run's checkpoint if `resume`, dropping the rows of progress.csv past
        it), checkpointing periodically and at the end; on a `Stop` signal it checkpoints and
        raises `TrainingStopped`; raises FloatingPointError when training diverges."""
        raise NotImplementedError

    def load_policy(self, checkpoint: Path, args: Any, device: torch.device) -> PolicyFactory:
        raise NotImplementedError


def _checkpoint_path(agent: Agent, path: Path) -> Path:
    """The checkpoint of `agent` that `path` names: the run directory's, or the file itself."""
    checkpoint = path / agent.checkpoint_name if path.is_dir() else path
    if checkpoint.name != agent.checkpoint_name and checkpoint.is_file():
        raise UsageError(
            f"{checkpoint} is not a checkpoint of {agent.name}, whose runs keep one "
            f"{agent.checkpoint_name}; pass the run directory"
        )
    if not checkpoint.is_file():
        raise UsageError(
            f"no checkpoint at {path}; pass the run directory or its {agent.checkpoint_name}"
        )
    return checkpoint


def _print_returns(returns: list[float]) -> None:
    if not returns:
        print("evaluation: no episode was played to its end")
        return
    print(
        f"evaluation over {len(returns)} episode(s): mean return {np.mean(returns):.3f} "
        f"+- {np.std(returns):.3f} (min {np.min(returns):g}, max {np.max(returns):g})"
    )


def _evaluate(policy: PolicyFactory, args: RunArgs) -> list[float]:
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


def _settings(agent: Agent, typed: dict[str, Any], saved: dict[str, Any] | None) -> Any:
    """The run's config: the saved one (resume, evaluate) or the env's preset, then the flags."""
    if saved is not None:
        kept = {k: v for k, v in saved.items() if k not in RUN_SETTINGS}
        args = resolve(agent.config, kept, typed)
    else:
        env_id = checked_env_id(typed.get("env", agent.config.env))
        args = resolve(agent.config, agent.presets[env_family(env_id)], typed)
    args.env = checked_env_id(args.env)
    agent.validate(args)
    return args


def _load(agent: Agent, checkpoint: Path, typed: dict[str, Any]) -> tuple[Any, PolicyFactory]:
    """The config of the run that wrote `checkpoint`, with the flags in `typed`, and its policy."""
    args = _settings(agent, typed, agent.saved_config(checkpoint))
    device, _ = pick_device(args.device, check_env(args.env))
    setup_backends(args.deterministic)
    return args, agent.load_policy(checkpoint, args, device)


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


def load_run(path: str | Path) -> tuple[Any, PolicyFactory]:
    """The config and the policy of the run at `path` (a run directory or its checkpoint), loaded
    by the agent that wrote it: of `agent_commands()` whose checkpoint file is there, the first
    that reads it as its own (dqn and pqn both keep a checkpoint.pt)."""
    path = Path(path)
    commands = agent_commands()
    refusals = []
    for agent in commands:
        checkpoint = path / agent.checkpoint_name if path.is_dir() else path
        if checkpoint.name == agent.checkpoint_name and checkpoint.is_file():
            try:
                agent.saved_config(checkpoint)
            except UsageError as refusal:  # another agent's, or unreadable
                refusals.append(refusal)
                continue
            return _load(agent, checkpoint, {})
    if refusals:
        raise refusals[0]
    names = ", ".join(f"{agent.checkpoint_name} ({agent.name})" for agent in commands)
    raise UsageError(
        f"no checkpoint of an agent at {path}; pass a run directory, or its checkpoint: {names}"
    )


def _refuse_flags(agent: Agent, typed: dict[str, Any]) -> None:
    """A UsageError for a flag the agent has no meaning for, unless it asks for what the agent
    does anyway (sb3_dqn's --no-double)."""
    for name, value in typed.items():
        if name not in agent.unsupported:
            continue
        does = {preset.get(name, getattr(agent.config, name)) for preset in agent.presets.values()}
        if does != {value}:
            raise UsageError(
                f"{flag(name)} has no meaning for {agent.name}: {agent.unsupported[name]}; drop it"
            )


def _resumed_settings(agent: Agent, typed: dict[str, Any]) -> Any:
    """The config of the run `--resume` names, with the flags that may change on resume."""
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
                f"{flag(name)} cannot change when {agent.name} resumes a run "
                f"(it was {saved.get(name)!r}); drop it, or start a new run"
            )
    return _settings(agent, typed, saved)


def _fresh_run_dir(agent: Agent, run_dir: Path) -> None:
    """A UsageError if `run_dir` holds a run already, or files a run would overwrite."""
    if (run_dir / agent.checkpoint_name).exists():
        raise UsageError(
            f"{run_dir} holds another run; continue it with --resume {run_dir}, or pick a new "
            "--run-dir"
        )
    if run_dir.is_dir():
        taken = sorted(
            path.name
            for path in run_dir.iterdir()
            if path.name in RUN_FILES or path.name.startswith("events.out.tfevents")
        )
        if "progress.csv" in taken:
            raise UsageError(
                f"{run_dir} holds the logs of another run, and no checkpoint of {agent.name} to "
                "resume; pick a new --run-dir"
            )
        if taken:
            raise UsageError(
                f"{run_dir} already holds {', '.join(taken)}, which a run would overwrite; pick "
                "a new --run-dir"
            )


def _make_run_dir(run_dir: Path) -> None:
    try:
        make_writable_dir(run_dir)
    except OSError as error:
        raise UsageError(
            f"cannot write in the run directory {run_dir} ({error.strerror}); pick another "
            "--run-dir"
        ) from None


def _train(
    agent: Agent,
    args: Any,
    run_dir: Path,
    observation_space: spaces.Space,
    device: torch.device,
    why: str,
    resume: bool,
) -> int:
    """Trains, evaluates and writes the summary; returns the exit status."""
    precision, precision_why = pick_precision(args.precision, device, observation_space)
    print(
        f"device {device} ({why}); precision {precision} ({precision_why}); "
        f"{setup_backends(args.deterministic)}",
        file=sys.stderr,
    )
    try:
        with signals_stop_training():
            trained = agent.train(args, run_dir, device, resume)
    except TrainingStopped as stopped:
        print(
            f"\nstopped by {signal.Signals(stopped.signum).name}; {stopped.saved}. Continue with "
            f"{agent.prog} --resume {run_dir}",
            file=sys.stderr,
        )
        return exit_status(stopped.signum)
    except FloatingPointError as error:
        checkpoint = run_dir / agent.checkpoint_name
        kept = (
            f"the last good checkpoint is kept in {checkpoint}"
            if checkpoint.exists()
            else "no checkpoint had been written yet"
        )
        print(f"training stopped: {error}; {kept}. Try a lower --learning-rate.", file=sys.stderr)
        return 1
    except WriteError as error:  # the disk filled up, or the run directory went read-only
        if (run_dir / agent.checkpoint_name).exists():
            then = f"the last checkpoint is kept: free some space, then {agent.prog} --resume"
        else:
            then = "no checkpoint had been written yet: free some space, then start again in"
        print(f"training stopped: {error}; {then} {run_dir}", file=sys.stderr)
        return 1
    try:
        with signals_stop_training():
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


def run(agent: Agent, argv: list[str] | None = None) -> int:
    """The whole command: `python -m agents.<name> [flags]`. Returns the exit status."""
    parser = build_parser(
        agent.config, prog=agent.prog, description=agent.description, presets=agent.presets
    )
    typed = explicit_values(parser.parse_args(argv))
    _refuse_flags(agent, typed)
    if "evaluate" in typed and "resume" in typed:
        raise UsageError("--evaluate and --resume cannot go together; pick one")
    if "evaluate" in typed:
        checkpoint = _checkpoint_path(agent, Path(typed["evaluate"]))
        args, policy = _load(agent, checkpoint, typed)
        _print_returns(_evaluate(policy, args))
        return 0

    resume = "resume" in typed
    args = _resumed_settings(agent, typed) if resume else _settings(agent, typed, None)
    # What is wrong with the env is said before anything is written.
    observation_space = check_env(args.env)
    device, why = pick_device(args.device, observation_space)
    run_dir = Path(args.run_dir or default_run_dir(args.env, agent.name, args.seed))
    if not resume:
        _fresh_run_dir(agent, run_dir)
    _make_run_dir(run_dir)
    args.run_dir = str(run_dir)
    config = run_dir / "config.json"
    write_json(config, dataclasses.asdict(args))
    try:
        return _train(agent, args, run_dir, observation_space, device, why, resume)
    except UsageError:
        if not resume and not (run_dir / "progress.csv").exists():
            config.unlink()  # a run that never started leaves nothing to block the next try
        raise
