"""Preprocessing wrappers: the DQN pipeline for pixel games, ours and Atari's (issue: wrappers)."""
