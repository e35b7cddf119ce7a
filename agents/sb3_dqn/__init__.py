"""Stable-Baselines3's DQN, the baseline: `python -m agents.sb3_dqn --env ENV_ID` runs it with
our preprocessing, flags, outputs and evaluation, so the two agents compare like for like.

    python -m agents.sb3_dqn                      # Catch-v0, the same catch preset as agents.dqn
    python -m agents.sb3_dqn --env ALE/Pong-v5    # rl-zoo3's Atari hyperparameters
    python -m agents.sb3_dqn --evaluate runs/<run> --episodes 10

The env is the `wrappers` pipeline in SB3's DummyVecEnv, with reward clipping and life loss in the
env (SB3 learns from what the env returns) and Gymnasium's RecordEpisodeStatistics under it, so
the logged returns are whole games. Flags mean what they mean for agents.dqn; --train-frequency
counts env steps per gradient step over all envs, as ours does (SB3's train_freq and
gradient_steps are set to match). Flags SB3's DQN has no meaning for are refused.
"""

from agents.sb3_dqn.agent import AGENT_COMMAND, main

__all__ = ["AGENT_COMMAND", "main"]
