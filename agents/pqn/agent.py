"""`python -m agents.pqn`: PQN as a command, on the shared flow of `agents.common.command`: what
is its own is how it trains (`loop.Trainer`), resumes and loads a policy from a checkpoint."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch

from agents.common.checkpoints import load_checkpoint
from agents.common.cli import run_main
from agents.common.command import Agent, PolicyFactory, Trained, load_weights, q_policy, run
from agents.common.environments import train_spaces
from agents.common.runs import pick_up_run
from agents.pqn.config import PRESETS, Args, validate
from agents.pqn.learner import Learner
from agents.pqn.loop import AGENT, CHECKPOINT, Trainer

PROG = "python -m agents.pqn"


class PQNAgent(Agent):
    def saved_config(self, checkpoint: Path) -> dict[str, Any]:
        return load_checkpoint(checkpoint, AGENT)["config"]

    def train(self, args: Args, run_dir: Path, device: torch.device, resume: bool) -> Trained:
        trainer = Trainer(args, run_dir, device)
        if resume:
            trainer.restore(load_checkpoint(run_dir / CHECKPOINT, AGENT))
            pick_up_run(run_dir, trainer.global_step, args.total_timesteps)
        print(trainer.describe(), file=sys.stderr)
        summary = trainer.train()
        summary["updates"] = trainer.updates
        return Trained(summary, q_policy(trainer.learner.greedy, trainer.learner.num_actions))

    def load_policy(self, checkpoint: Path, args: Args, device: torch.device) -> PolicyFactory:
        learner = Learner(args, *train_spaces(args.env), device)
        saved = load_checkpoint(checkpoint, AGENT)
        load_weights(learner.q_network, saved, "--mlp-hidden, --layer-norm")
        learner.weights_loaded()
        return q_policy(learner.greedy, learner.num_actions)


AGENT_COMMAND = PQNAgent(
    name=AGENT,
    prog=PROG,
    description=sys.modules["agents.pqn"].__doc__,
    checkpoint_name=CHECKPOINT,
    config=Args,
    presets=PRESETS,
    validate=validate,
)


def main(argv: list[str] | None = None) -> int:
    return run(AGENT_COMMAND, argv)


if __name__ == "__main__":
    run_main(main, PROG)
