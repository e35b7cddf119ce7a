"""The pygame window behind every env's ``render_mode="human"``, and behind `agents.common.play`.

Each game draws its own RGB frame with numpy; `PygameWindow` only puts such a frame on screen,
scaled up, at the env's ``render_fps``, with an optional line of text over it, and keeps track of
the keys held down. `FrameRendering` is the `render()` and `close()` the games share on top of it.
pygame is imported on first use, so an env that never opens a window never imports it.
"""

from __future__ import annotations

import os
from typing import ClassVar

import numpy as np

# pygame greets on import; an env's user did not ask for that.
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

FIT_HEIGHT = 640
"""Without a given scale, a frame is scaled by the largest integer that keeps it this tall."""
_TEXT_SIZE = 24
_TEXT_MARGIN = 4


class PygameWindow:
    """A window that shows RGB frames of shape (height, width, 3), scaled by an integer factor
    (`scale=None`: as large as fits `FIT_HEIGHT`)."""

    def __init__(self, title: str, fps: float, scale: int | None = 1) -> None:
        self.title = title
        self.fps = fps
        self.scale = scale
        self.held: set[int] = set()
        """The keys held down, from the key events `poll` read (pygame.key.get_pressed() misses
        events posted to the queue, as tests and scripted players post them)."""
        self.closed = False
        """Whether the window was closed (a QUIT event)."""
        self._screen = None
        self._clock = None
        self._font = None

    def show(self, frame: np.ndarray, text: str | None = None) -> None:
        """Draws `frame`, with `text` over its top-left corner, and waits until the next tick of
        the window's clock."""
        import pygame

        if self.scale is None:
            self.scale = max(1, FIT_HEIGHT // frame.shape[0])
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
        if text:
            self._draw_text(text)
        # Without pumping events the OS marks the window as not responding.
        pygame.event.pump()
        pygame.display.flip()
        self._clock.tick(self.fps)

    def _draw_text(self, text: str) -> None:
        import pygame

        if self._font is None:
            pygame.font.init()
            self._font = pygame.font.Font(None, _TEXT_SIZE)
        label = self._font.render(text, True, (255, 255, 255))
        # A dark band under the text keeps it legible over any game.
        band = pygame.Surface((label.get_width() + 2 * _TEXT_MARGIN, label.get_height() + 2))
        band.set_alpha(160)
        self._screen.blit(band, (0, 0))
        self._screen.blit(label, (_TEXT_MARGIN, 2))

    def poll(self) -> list[int]:
        """Reads the window's events: updates `held` and `closed`, and returns the keys pressed
        since the last poll, in order."""
        import pygame

        pressed = []
        for event in pygame.event.get():
            if event.type == pygame.KEYDOWN:
                self.held.add(event.key)
                pressed.append(event.key)
            elif event.type == pygame.KEYUP:
                self.held.discard(event.key)
            elif event.type == pygame.WINDOWFOCUSLOST:  # its KEYUPs go to another window
                self.held.clear()
            elif event.type == pygame.QUIT:
                self.closed = True
        return pressed

    def close(self) -> None:
        if self._screen is not None:
            import pygame

            pygame.display.quit()
            self._screen = None
            self._clock = None
            self._font = None


class FrameRendering:
    """`render()` and `close()` for a Gymnasium env that draws its own RGB frame: "rgb_array"
    returns it, "human" shows it in a `PygameWindow`, opened on first use and closed by `close()`.

    The env sets `render_mode` and `metadata["render_fps"]`, names itself in `render_name` (for
    the error of a render without a render_mode), gives its window a title and an integer scale,
    and defines `_render_frame()`: the frame to show, a fresh array ("rgb_array" hands it over).
    """

    render_name: ClassVar[str]
    window_title: ClassVar[str]
    window_scale: ClassVar[int] = 1
    _window: PygameWindow | None = None

    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            raise RuntimeError(
                f"{self.render_name} was made without a render_mode: pass "
                'render_mode="rgb_array" or "human".'
            )
        frame = self._render_frame()
        if self.render_mode == "rgb_array":
            return frame
        if self._window is None:
            self._window = PygameWindow(
                self.window_title, self.metadata["render_fps"], scale=self.window_scale
            )
        self._window.show(frame)
        return None

    def close(self) -> None:
        if self._window is not None:
            self._window.close()
            self._window = None
