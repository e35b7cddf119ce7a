"""DQN, written out: `python -m agents.dqn --env ENV_ID` trains on any registered or Atari env.

    python -m agents.dqn                       # Catch-v0, solved in seconds on a CPU
    python -m agents.dqn --env ALE/Pong-v5     # the Atari preset, on CUDA when there is one
    python -m agents.dqn --evaluate runs/<run> --episodes 10 --render human

Deep Q-learning (Mnih et al. 2015) with a target network, the Huber loss, Adam and gradient-norm
clipping, a linear epsilon schedule, Double DQN (van Hasselt et al. 2016, on by default), and
optionally a dueling head and n-step returns. Observations go through the DQN pipeline of the
`wrappers` package; N envs act together (`--num-envs`, ale-py's C++ vector env for Atari).
Presets per env family (atari, catch, mlp) set every value not given as a flag.

Read it in the order the data flows: `replay.py` (what is stored, and how a batch is drawn),
`learner.py` (the TD target and the gradient step), `loop.py` (the training loop), then
`agent.py` (the command around it). `config.py` has every flag; `fast_mlp.py` is the optional
fast path of the update for small MLPs.
"""

from agents.dqn.agent import AGENT_COMMAND, main

__all__ = ["AGENT_COMMAND", "main"]
