"""Agents: the hand-written DQN, the SB3 DQN baseline and human play.

Not written yet; this package reserves the import name the design card gives.
"""
