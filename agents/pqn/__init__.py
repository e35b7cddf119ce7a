"""PQN, Parallelised Q-learning: `python -m agents.pqn --env ENV_ID` trains on any registered or
Atari env, with no replay buffer and no target network.

    python -m agents.pqn                       # Catch-v0, solved in about a second on a CPU
    python -m agents.pqn --env ALE/Pong-v5     # the paper's Atari values: 128 envs, rollouts of 32
    python -m agents.pqn --evaluate runs/<run> --episodes 10 --render human

Gallici et al., "Simplifying Deep Temporal Difference Learning" (ICLR 2025): a Q-network with
LayerNorm after each hidden layer learns on-line from N envs stepping together. They act
epsilon-greedily for T steps; the rollout's Q(lambda) returns are computed backward from the
Q-values of acting; the network makes E passes of M minibatches over the rollout (RAdam, gradient
clipping); then the rollout is overwritten by the next. Observations go through the DQN pipeline
of the `wrappers` package (ale-py's C++ vector env for Atari, the batched CatchVectorEnv for
Catch); presets per env family (atari, catch, mlp) set every value not given as a flag.

Read it in the order the data flows: `returns.py` (the Q(lambda) targets), `rollout.py` (what a
rollout stores, and the NEXT_STEP reset rows it masks), `learner.py` (the network and the
update), `loop.py` (the training loop), then `agent.py` (the command around it). `config.py` has
every flag.
"""

from agents.pqn.agent import AGENT_COMMAND, main

__all__ = ["AGENT_COMMAND", "main"]
