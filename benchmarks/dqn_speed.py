"""Training speed and replay memory of agents.dqn against Stable-Baselines3's DQN, with identical
hyperparameters, measured in the same run.

    python benchmarks/dqn_speed.py [--catch-steps 20000] [--pong-steps 3000] [--device cpu]

Each measurement runs in a fresh process (so thread settings and memory do not carry over) and
times the training loop only: steps/s = environment steps / seconds of `learn`, warm-up included,
final evaluation and start-up excluded. Both agents get the same env (our DQN pipeline), network
(hidden sizes, Nature CNN), replay size, batch, learning starts, gradient steps per env step,
target update interval, epsilon schedule, Huber loss and gradient clipping, and the same torch
threads (one for an MLP on the CPU, `agents.common.device.set_cpu_threads`) and torch backend
settings (`agents.common.device.setup_backends`: cudnn.benchmark, no TF32); SB3 has no Double
DQN, so the like-for-like row runs ours with --no-double, and a second row shows ours as it ships.
Targets: Catch-v0 >= 3x, ALE/Pong-v5 on CPU >= 1.2x in fp32 and >= 2.5x in bf16 (which needs a
CPU with AVX512-BF16 or AMX: the script says whether this one has them).

On Catch, ours also trains with the plain learner (`--no-fast-mlp`: autograd, torch.optim.Adam,
clip_grad_norm_): the hand-written MLP update (`agents.dqn.fast_mlp`) is kept only while it
trains the catch preset at least 1.5x faster end to end.

Replay memory is the buffer's bytes per stored transition: ours keeps each frame once; SB3's
default keeps obs and next_obs, and its optimize_memory_usage keeps obs once but still whole
stacks.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import io
import multiprocessing
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from agents.common.precision import cpu_has_fast_bf16


def _args(env_id: str, steps: int, overrides: dict[str, Any]):
    from agents.common.environments import env_family
    from agents.dqn.config import PRESETS, Args

    preset = PRESETS[env_family(env_id)]
    return dataclasses.replace(
        Args(**preset), env=env_id, total_timesteps=steps, seed=0, **overrides
    )


def _device(env_id: str, name: str):
    """The device `--device name` gives a run on `env_id`, as the agents' commands pick it."""
    from agents.common.device import pick_device
    from agents.common.environments import check_env

    return pick_device(name, check_env(env_id))[0]


def ours(env_id: str, steps: int, overrides: dict[str, Any], device: str) -> dict[str, float]:
    from agents.common.device import setup_backends
    from agents.dqn.loop import Trainer

    args = _args(env_id, steps, overrides)
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(args, Path(run_dir), _device(env_id, device))
        setup_backends(deterministic=False)
        summary = trainer.train()
        return {"sps": summary["sps"], "bytes": trainer.buffer.bytes_per_transition}


def sb3(env_id: str, steps: int, overrides: dict[str, Any], device: str) -> dict[str, float]:
    from agents.common.device import setup_backends
    from agents.sb3_dqn.agent import build_model, make_vec_env, replay_bytes_per_transition

    args = _args(env_id, steps, overrides)
    model = build_model(args, make_vec_env(args), _device(env_id, device))
    setup_backends(deterministic=False)  # after SB3's seeding, which sets cuDNN's flags its way
    start = time.perf_counter()
    model.learn(steps)
    seconds = time.perf_counter() - start
    return {"sps": steps / seconds, "bytes": replay_bytes_per_transition(model)}


def _quietly(function, *args: Any) -> dict[str, float]:
    # The runs' progress lines (on stderr, where no progress bar shows) would land in the table.
    with contextlib.redirect_stderr(io.StringIO()):
        return function(*args)


def _in_fresh_process(function, *args: Any) -> dict[str, float]:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_quietly, function, *args).result()


def _median(rounds: list[dict[str, dict[str, float]]], name: str, over: str | None = None) -> float:
    """The median over rounds of run `name`'s steps/s, or of its ratio to run `over`'s."""
    values = [r[name]["sps"] / (r[over]["sps"] if over else 1.0) for r in rounds]
    return float(statistics.median(values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--catch-steps", type=int, default=20_000)
    parser.add_argument("--pong-steps", type=int, default=3_000)
    parser.add_argument(
        "--device", default="cpu", choices=("cpu", "cuda", "auto"), help="for both agents"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every run (median)")
    options = parser.parse_args()
    pong = {"learning_starts": 500, "buffer_size": 10_000}
    # The catch preset steps 16 envs at once and makes one gradient step of 32 per 4 env steps;
    # the second Catch row steps 1 env and makes a gradient step after each, so that acting and
    # learning alternate one step at a time, as in an unvectorised DQN.
    many_small = {"num_envs": 1, "train_frequency": 1, "batch_size": 32}
    cases = [
        ("Catch-v0", "catch preset", options.catch_steps, {}, ["fp32"]),
        ("Catch-v0", "1 env, train every step", options.catch_steps // 2, many_small, ["fp32"]),
        ("ALE/Pong-v5", "atari preset, 1 env, 500 warm-up", options.pong_steps, pong,
         ["fp32", "bf16"]),
    ]  # fmt: skip
    print(f"device {options.device}; torch backends: cudnn.benchmark, no TF32, for both agents")
    print(f"this CPU does bf16 in hardware: {cpu_has_fast_bf16()}; {options.rounds} round(s)")
    print()
    print(
        "| env | settings | steps | SB3 DQN steps/s | ours: precision | ours, no double | ratio "
        "| ours, double | ratio |"
    )
    print("|---|---|---:|---:|---|---:|---:|---:|---:|")
    memory = []
    for env_id, label, steps, overrides, precisions in cases:
        # Every run of the row, in turn, `--rounds` times: a busy spell of the machine slows one
        # round of all of them, and the medians of the ratios within rounds hold.
        variants = {"sb3": (sb3, overrides)}
        for precision in precisions:
            settings = {**overrides, "precision": precision}
            variants[f"{precision} no double"] = (ours, {**settings, "double": False})
            variants[f"{precision} double"] = (ours, settings)
        if label == "catch preset":
            variants["plain learner"] = (ours, {**overrides, "fast_mlp": False})
        rounds = []
        for _ in range(options.rounds):
            rounds.append({name: _in_fresh_process(function, env_id, steps, kwargs, options.device)
                           for name, (function, kwargs) in variants.items()})  # fmt: skip

        median = functools.partial(_median, rounds)

        for precision in precisions:
            like, double = f"{precision} no double", f"{precision} double"
            print(
                f"| {env_id} | {label} | {steps:,} | {median('sb3'):,.0f} | {precision} | "
                f"{median(like):,.0f} | {median(like, 'sb3'):.2f}x | {median(double):,.0f} | "
                f"{median(double, 'sb3'):.2f}x |",
                flush=True,
            )
        if label == "catch preset":
            fast_over_plain = median("fp32 double", "plain learner")
            fast_and_plain = (median("fp32 double"), median("plain learner"))
        memory.append((env_id, rounds[0]["fp32 no double"]["bytes"], rounds[0]["sb3"]["bytes"]))

    verdict = "kept" if fast_over_plain >= 1.5 else "NOT worth keeping"
    print()
    print("| Catch-v0, catch preset, ours (double) | steps/s |")
    print("|---|---:|")
    print(f"| plain learner (--no-fast-mlp) | {fast_and_plain[1]:,.0f} |")
    print(f"| fast MLP update (agents.dqn.fast_mlp) | {fast_and_plain[0]:,.0f} |")
    print(f"fast / plain: {fast_over_plain:.2f}x (the fast path is {verdict}: target >= 1.5x)")

    print()
    print("| env | ours bytes/transition | SB3 bytes/transition | ours / SB3 |")
    print("|---|---:|---:|---:|")
    for env_id, ours_bytes, sb3_bytes in dict((m[0], m) for m in memory).values():
        print(f"| {env_id} | {ours_bytes:,.0f} | {sb3_bytes:,.0f} | {ours_bytes / sb3_bytes:.3f} |")
    print(f"1M-transition Atari buffer, ours: {1_000_000 * memory[-1][1] / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
