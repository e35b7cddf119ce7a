"""The pygame window behind every env's ``render_mode="human"``.

Each game draws its own RGB frame with numpy; this module only puts such a frame on screen, scaled
up, at the env's ``render_fps``. pygame is imported on first use, so an env that never opens a
window never imports it.
"""

from __future__ import annotations

import os

import numpy as np

# pygame greets on import; an env's user did not ask for that.
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


class PygameWindow:
    """A window that shows RGB frames of shape (height, width, 3), scaled by an integer factor."""

    def __init__(self, title: str, fps: float, scale: int = 1) -> None:
        self.title = title
        self.fps = fps
        self.scale = scale
        self._screen = None
        self._clock = None

    def show(self, frame: np.ndarray) -> None:
        """Draws `frame` and waits until the next tick of the window's clock."""
        import pygame

        height, width = frame.shape[0] * self.scale, frame.shape[1] * self.scale
        if self._screen is None:
            pygame.display.init()
            pygame.display.set_caption(self.title)
            self._screen = pygame.display.set_mode((width, height))
            self._clock = pygame.time.Clock()
        # surfarray is indexed (x, y): transpose the (row, column) frame.
        surface = pygame.surfarray.make_surface(np.ascontiguousarray(frame.transpose(1, 0, 2)))
        if self.scale != 1:
            surface = pygame.transform.scale(surface, (width, height))
        self._screen.blit(surface, (0, 0))
        # Without pumping events the OS marks the window as not responding.
        pygame.event.pump()
        pygame.display.flip()
        self._clock.tick(self.fps)

    def close(self) -> None:
        if self._screen is not None:
            import pygame

            pygame.display.quit()
            self._screen = None
            self._clock = None
