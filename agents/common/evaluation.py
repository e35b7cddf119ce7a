"""Running a policy for whole episodes: the final evaluation of training, `--evaluate` and
recording it (`--video DIR`) are this one loop. Watching it in a window (`--render human`) goes
through `agents.common.play.play`, the window loop of `python -m agents.human`, which plays the same
seeded episodes."""

from __future__ import annotations

import warnings

import gymnasium as gym

from agents.common.environments import checked_reset, make_eval_env
from agents.common.play import play, steps_per_second
from agents.common.policy import Policy


def run_episodes(env: gym.Env, policy: Policy, episodes: int, seed: int) -> list[float]:
    """Returns of `episodes` episodes of `policy` on `env`, seeded `seed`, `seed + 1`, ..."""
    returns = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(policy(obs))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return returns


def evaluate_policy(
    env_id: str,
    policy: Policy,
    episodes: int,
    seed: int,
    *,
    render: str | None = None,
    video_dir: str | None = None,
) -> list[float]:
    """`run_episodes` on a fresh evaluation env of `env_id` (whole games, unclipped scores), or
    with `render="human"` the same episodes shown in a window (`agents.common.play.play`; closing it
    early returns the episodes played to their end), and recorded to `video_dir` with
    Gymnasium's RecordVideo."""
    rendered = render == "human" or video_dir is not None
    env = make_eval_env(env_id, render_mode="rgb_array" if rendered else None)
    try:
        # What is wrong with the env (Mario's ROM is read only now), before any video starts.
        checked_reset(env, env_id, seed=seed)
        if video_dir:
            with warnings.catch_warnings():
                # RecordVideo warns whenever the folder exists, in terminal colour codes; the
                # command says where the videos went instead.
                warnings.simplefilter("ignore", UserWarning)
                env = gym.wrappers.RecordVideo(
                    env,
                    video_dir,
                    episode_trigger=lambda _: True,
                    # Named for what they show; validate_run refuses a folder with videos in it.
                    name_prefix=f"{env_id.replace('/', '_')}-seed{seed}",
                    fps=round(steps_per_second(env)),  # a frame a step, played at real speed
                    disable_logger=True,
                )
        if render == "human":
            return play(env, policy, episodes=episodes, seed=seed).returns
        return run_episodes(env, policy, episodes, seed)
    finally:
        env.close()
