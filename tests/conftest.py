"""Shared test setup: headless pygame, and fixtures over every env of the catalog."""

from __future__ import annotations

import os

import pytest

# Headless: a render_mode="human" window goes to SDL's dummy driver, with no sound device.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import registry  # after the SDL settings, before any env is made


@pytest.fixture(params=[entry.id for entry in registry.ENVS])
def env_id(request: pytest.FixtureRequest) -> str:
    """Every env id of the catalog."""
    return request.param
