"""What every agent shares: the command-line flow and its config, the envs it trains and
evaluates on, Q-networks, epsilon-greedy acting, run directories, logging and checkpoints.

It may import `envs`, `wrappers` and `registry`, never an agent (`agents.dqn`, ...) or a tool.
"""
