"""Checkpoints, the same for every agent: when to take them, how a signal ends training with
one, and how they are written and read.

- When: every `--checkpoint-frequency` env steps, or by default every `DEFAULT_MINUTES` of
  training; always at the end, and when SIGINT (Ctrl-C) or SIGTERM (`kill`, `docker stop`, Slurm,
  Kubernetes) stops the run.
- Signals: inside `signals_stop_training()` both signals raise `Stop`, a KeyboardInterrupt, so the
  agent saves and ends; a signal that comes while a checkpoint is being written waits until it is
  written (`signals_deferred`), so a second Ctrl-C never leaves half a save.
- Files: `save_checkpoint` writes atomically (`agents.common.files`), tensors on the CPU so that a
  plain `torch.load` works on any machine; `load_checkpoint` reads with `weights_only=True`, so a
  checkpoint from anyone can hold tensors and plain data but never code that runs when loaded.
"""

from __future__ import annotations

import pickle
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.common.cli import UsageError
from agents.common.files import atomic_write

DEFAULT_MINUTES = 10.0
"""Minutes of training between checkpoints when `--checkpoint-frequency` is not given."""
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stop(KeyboardInterrupt):
    """SIGINT or SIGTERM asked training to stop (`signum` says which)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class TrainingStopped(Exception):
    """Training stopped early on a signal, after saving what `saved` describes."""

    def __init__(self, signum: int, saved: str) -> None:
        super().__init__(saved)
        self.signum = signum
        self.saved = saved


def exit_status(signum: int) -> int:
    """What a shell reports for a process a signal ended: 128 + the signal's number."""
    return 128 + signum


_deferred: list[int] | None = None  # inside signals_deferred: the signals that came
_notice: str | None = None  # what signals_deferred says when the first one comes


_last_stop: int | None = None  # the stop signal that came last, deferred or not


def stop_signal(stop: KeyboardInterrupt) -> int:
    """The signal behind `stop`: a `Stop`'s own; for a plain KeyboardInterrupt, the stop signal
    that came last (Ray's calls turn the `Stop` a signal raised in them into a KeyboardInterrupt),
    else SIGINT (Ctrl-C where no handler was set)."""
    if isinstance(stop, Stop):
        return stop.signum
    return _last_stop or signal.SIGINT


def _handler(signum: int, _frame: Any) -> None:
    global _last_stop
    _last_stop = signum
    if _deferred is not None:
        if _notice and not _deferred:
            print(f"\n{signal.Signals(signum).name}: {_notice}", file=sys.stderr, flush=True)
        _deferred.append(signum)
        return
    raise Stop(signum)


@contextmanager
def signals_stop_training() -> Iterator[None]:
    """Inside, SIGINT and SIGTERM raise `Stop` (in the main thread; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _handler) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def held_signal() -> int | None:
    """Inside `signals_deferred`: the first stop signal held so far, if one came."""
    return _deferred[0] if _deferred else None


@contextmanager
def signals_deferred(*, stopping: bool = False, notice: str | None = None) -> Iterator[None]:
    """Inside, a stop signal is held back (saying `notice` on stderr, if given, when the first
    comes); after the block, the first one held is raised as `Stop`, unless `stopping` (the run
    is ending anyway)."""
    global _deferred, _notice
    if _deferred is not None:  # deferring already
        yield
        return
    _deferred, _notice = [], notice
    try:
        yield
    finally:
        held, _deferred, _notice = _deferred, None, None
    if held and not stopping:
        raise Stop(held[0])


class Schedule:
    """When periodic checkpoints are due: every `every_steps` env steps if given (0: never), else
    every `DEFAULT_MINUTES` of wall time."""

    def __init__(self, step: int, every_steps: int | None) -> None:
        self.every_steps = every_steps
        self.next_step = step + every_steps if every_steps else None
        self.next_time = time.monotonic() + DEFAULT_MINUTES * 60

    def due(self, step: int) -> bool:
        if self.every_steps is None:
            if time.monotonic() < self.next_time:
                return False
            self.next_time = time.monotonic() + DEFAULT_MINUTES * 60
            return True
        if self.next_step is None or step < self.next_step:
            return False
        while self.next_step <= step:
            self.next_step += self.every_steps
        return True


def cpu_copy(value: Any) -> Any:
    """`value` with every tensor in it (in dicts, lists and tuples) copied to the CPU."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, Mapping):
        return {key: cpu_copy(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(cpu_copy(item) for item in value)
    return value


def random_state(rng: np.random.Generator, device: torch.device) -> dict[str, Any]:
    """The state of every generator a run draws from: numpy's `rng`, torch's on the CPU, and on
    a GPU torch's CUDA generator (keys `rng`, `torch_rng`, `cuda_rng`, for a checkpoint)."""
    return {
        "rng": rng.bit_generator.state,
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
    }


def restore_random_state(
    state: dict[str, Any], rng: np.random.Generator, device: torch.device
) -> None:
    """The generators as `random_state` saved them (CUDA's where the run resumes on a GPU)."""
    rng.bit_generator.state = state["rng"]
    torch.set_rng_state(state["torch_rng"])
    if state["cuda_rng"] is not None and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda_rng"], device)


def check_finite(parameters: Iterable[torch.Tensor], step: int) -> None:
    """FloatingPointError if a weight is NaN or infinite: a diverged network is never saved."""
    if not all(bool(p.isfinite().all()) for p in parameters):
        raise FloatingPointError(f"the Q-network's weights are no longer finite at step {step:,}")


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    """`optimizer.load_state_dict(state)`, keeping how this process runs the optimizer (fused,
    foreach, capturable: its own, not the saved run's), with each moment laid out in memory as its
    parameter is (channels-last on the CPU, not on CUDA): fused and foreach kernels walk a
    parameter and its moments as one flat array each."""
    settings = [
        {key: group[key] for key in ("fused", "foreach", "capturable") if key in group}
        for group in optimizer.param_groups
    ]
    optimizer.load_state_dict(state)
    for group, own in zip(optimizer.param_groups, settings, strict=True):
        group.update(own)
    for parameter, moments in optimizer.state.items():
        for name, value in moments.items():
            if value.shape == parameter.shape and value.stride() != parameter.stride():
                moments[name] = torch.empty_like(parameter).copy_(value)


def save_checkpoint(path: Path, data: dict[str, Any]) -> None:
    """`data` (tensors moved to the CPU) to `path`, atomically."""
    data = cpu_copy(data)
    atomic_write(path, lambda file: torch.save(data, file))


def load_checkpoint(path: Path, agent: str) -> dict[str, Any]:
    """The checkpoint at `path`, written by `save_checkpoint` for `agent`, read without running
    any code it may hold; else a UsageError that says what is wrong with it."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "Unsupported global" in str(error):  # the file names a class or function to call
            raise UsageError(
                f"{path} holds objects other than tensors and plain data, which could run code "
                f"when loaded, so it was not loaded; use checkpoints written by agents.{agent}"
            ) from None
        raise UsageError(
            f"{path} is not a readable checkpoint (not a torch file); it may be corrupt"
        ) from None
    except Exception as error:  # torch raises many kinds for a damaged file
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UsageError(
            f"{path} is not a readable checkpoint ({reason}); it may be corrupt"
        ) from None
    if not isinstance(checkpoint, dict) or checkpoint.get("agent") != agent:
        raise UsageError(f"{path} is not a checkpoint of agents.{agent}")
    return checkpoint
