"""`python -m agents.pqn`: PQN as a command, on the shared flow of `agents.common.command`: what
is its own is how it trains (`loop.Trainer`), resumes and loads a policy from a checkpoint."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch

from agents.common.checkpoints import load_checkpoint
from agents.common.cli import UsageError, run_main
from agents.common.command import Agent, PolicyFactory, Trained, run
from agents.common.environments import make_train_envs
from agents.common.policy import epsilon_greedy
from agents.common.runs import announce_resume, trim_progress
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
            trim_progress(run_dir, trainer.global_step)
            announce_resume(run_dir, trainer.global_step, args.total_timesteps)
        print(trainer.describe(), file=sys.stderr)
        summary = trainer.train()
        summary["updates"] = trainer.updates
        return Trained(summary, self._policy(trainer.learner))

    def load_policy(self, checkpoint: Path, args: Args, device: torch.device) -> PolicyFactory:
        envs = make_train_envs(args.env, 1)
        space, actions = envs.single_observation_space, int(envs.single_action_space.n)
        envs.close()
        learner = Learner(args, space, actions, device)
        weights = load_checkpoint(checkpoint, AGENT)["learner"]["q_network"]
        try:
            learner.q_network.load_state_dict(weights)
        except RuntimeError:
            raise UsageError(
                f"the checkpoint's network (trained on {args.env}) does not fit the env and "
                "network asked for; leave out --env and the network flags (--mlp-hidden, "
                "--layer-norm)"
            ) from None
        learner.weights_loaded()
        learner.q_network.eval()
        return self._policy(learner)

    @staticmethod
    def _policy(learner: Learner) -> PolicyFactory:
        def factory(epsilon, rng):
            return epsilon_greedy(learner.greedy, learner.num_actions, epsilon, rng)

        return factory


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
