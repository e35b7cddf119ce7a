"""Agents that train on the envs of dqn-arcade, and on any Gymnasium or Atari env.

`python -m agents.dqn`: the hand-written PyTorch DQN. Its pieces are shared modules (`cli`,
`networks`, `replay`, `environments`, `evaluation`, `runs`) that the other agents build on.
"""
