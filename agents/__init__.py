"""Agents that train on any registered or Atari env (issue: the DQN agent)."""
