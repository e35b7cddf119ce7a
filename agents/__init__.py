"""Agents that train on the envs of dqn-arcade, and on any Gymnasium or Atari env.

A folder is an agent, or what the agents share; a tool is a module at the top, or a folder
when one module is not enough:

- `agents/dqn/`: the DQN written out in PyTorch (`python -m agents.dqn`);
- `agents/sb3_dqn/`: Stable-Baselines3's DQN, the baseline, with the DQN's config;
- `agents/pqn/`: PQN (`python -m agents.pqn`), Q-learning from many envs at once with a LayerNorm
  network and Q(lambda) returns, no replay buffer and no target network;
- `agents/common/`: what every agent uses: the command-line flow, config, envs, networks,
  acting, run directories, logging, checkpoints, evaluation and the game window loop;
- `compare/` (`python -m agents.compare`: a grid of envs x agents x seeds, here or on a Ray
  cluster) and `human.py` (`python -m agents.human`): tools that run agents and games, never
  imported by them.

`python -m agents NAME` runs any agent of the catalog (`registry.AGENTS`, and plugins).
"""
