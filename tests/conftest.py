"""Shared test setup: headless pygame, and fixtures over every env of the catalog."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Headless: a render_mode="human" window goes to SDL's dummy driver, with no sound device.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import registry  # after the SDL settings, before any env is made
from envs.mario import ROM_ENV_VAR
from envs.mario_standin import write_stand_in_rom


@pytest.fixture(scope="session")
def mario_rom(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The stand-in Super Mario Land ROM (`envs/mario_standin.py`), written to a file."""
    return write_stand_in_rom(tmp_path_factory.mktemp("roms") / "stand_in.gb")


@pytest.fixture(params=[entry.id for entry in registry.ENVS])
def env_id(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, mario_rom: Path) -> str:
    """Every env id of the catalog. SuperMarioLand-v0 plays the stand-in ROM, or the real one
    when its variable is set."""
    if not os.environ.get(ROM_ENV_VAR):
        monkeypatch.setenv(ROM_ENV_VAR, str(mario_rom))
    return request.param
