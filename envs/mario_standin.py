"""A stand-in for the Super Mario Land cartridge, assembled here, so that SuperMarioLand-v0 can be
tested (and benchmarked) without the game, whose ROM the project never contains.

The stand-in is a 32 KiB Game Boy ROM titled "SUPER MARIOLAND", so PyBoy picks its Super Mario
Land game wrapper for it, as for the real cartridge. Its program behaves like the game where the
env and PyBoy's Super Mario Land game wrapper look, and nowhere else:

- Title screen: "START" on tilemap row 13, columns 6-10 (what start-up waits for); pressing
  START begins the game, which shows "MARIO" on row 0 and the score's last digit "0" on row 1.
- World 1-1 (FFB4 = 0x11), 2 lives (DA15, BCD), 400 on the clock (DA01-DA02, BCD), which runs
  down one unit every 8 frames (faster than the game's; tests that want a time-up set it low).
- RIGHT walks Mario (C202) right up to x = 32, then scrolls the screen (SCX) a pixel a frame,
  counting level blocks in C0AB: `level_progress` grows by 1 a frame. LEFT walks him back; at
  x = 8 he falls off the screen and is lost, as is a life when the clock reaches 0.
- A lost life with lives left restarts the level (progress back to 32) with a full clock; with
  none left it is game over (C0A4 = 0x39) and the program stops playing.
- At progress `GOAL_BLOCK * 16` the level is finished: the level in FFB4 goes up by one and play
  goes on from the start of that level.
- The ground (tile 96, tilemap rows 16-17) and a block are drawn black, and Mario is sprite 0, a
  black 8x8 square, so the tiles and pixels the env observes are not blank.

Its header and global checksums are right, as in a good dump. `stand_in_rom()` builds it; its
arguments make the broken ROMs the start-up errors are tested with, and `with_checksums` makes the
checksums of a ROM right again after a test changed some of its bytes.
"""

from __future__ import annotations

from pathlib import Path

from envs.mario import global_checksum, header_checksum

TITLE = "SUPER MARIOLAND"
ROM_SIZE = 0x8000  # 32 KiB, cartridge type 0x00 (ROM only)
START_X = 0x20  # Mario's x on screen when a level starts, and where the screen starts scrolling
LEFT_EDGE = 0x08  # walking left to here, Mario falls off the screen
GOAL_BLOCK = 0x20  # progress 512 finishes a level
FIRST_SCX = 7  # (SCX - 7) % 16 == 0: progress = C0AB * 16 + C202
CLOCK_FRAMES_MASK = 0x07  # the clock runs down on every 8th frame
FRAME_COUNTER, SCROLLED = 0xC0F0, 0xC0F1  # the stand-in's own variables

# Tile codes of the game's font on the tilemap (tile data at 0x8800: id = code + 256).
BLANK, GROUND = 44, 96
LETTERS = {letter: 10 + i for i, letter in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ")}


def _text(word: str) -> list[int]:
    return [LETTERS[letter] for letter in word]


class Assembler:
    """Just enough of a Sharp LR35902 assembler for the stand-in: bytes, labels and absolute
    jumps to them, and a few instructions by name."""

    def __init__(self, origin: int) -> None:
        self.origin = origin
        self.code = bytearray()
        self.labels: dict[str, int] = {}
        self._fixups: list[tuple[int, str]] = []
        self._loops = 0

    def emit(self, *parts: int | str) -> None:
        """Bytes, and label names, each assembled as the label's 16-bit address."""
        for part in parts:
            if isinstance(part, str):
                self._fixups.append((len(self.code), part))
                self.code += b"\0\0"
            else:
                self.code.append(part & 0xFF)

    def label(self, name: str) -> None:
        self.labels[name] = self.origin + len(self.code)

    def fresh_label(self) -> str:
        self._loops += 1
        return f"_loop{self._loops}"

    def load_a(self, address: int) -> None:
        """ld a, (address): ldh for the high page."""
        if address >= 0xFF00:
            self.emit(0xF0, address - 0xFF00)
        else:
            self.emit(0xFA, address, address >> 8)

    def store_a(self, address: int) -> None:
        """ld (address), a: ldh for the high page."""
        if address >= 0xFF00:
            self.emit(0xE0, address - 0xFF00)
        else:
            self.emit(0xEA, address, address >> 8)

    def store(self, address: int, value: int) -> None:
        self.emit(0x3E, value)
        self.store_a(address)

    def store_bytes(self, address: int, values: list[int]) -> None:
        for i, value in enumerate(values):
            self.store(address + i, value)

    def fill(self, address: int, count: int, value: int) -> None:
        """`count` bytes of `value` from `address`: a loop on bc."""
        loop = self.fresh_label()
        self.emit(0x21, address, address >> 8)  # ld hl, address
        self.emit(0x01, count, count >> 8)  # ld bc, count
        self.label(loop)
        self.emit(0x3E, value, 0x22)  # ld a, value; ld (hl+), a
        self.emit(0x0B, 0x78, 0xB1)  # dec bc; ld a, b; or c
        self.emit(0xC2, loop)  # jp nz, loop

    def call(self, label: str) -> None:
        self.emit(0xCD, label)

    def jp(self, label: str, condition: str = "") -> None:
        self.emit({"": 0xC3, "nz": 0xC2, "z": 0xCA, "c": 0xDA, "nc": 0xD2}[condition], label)

    def wait_line(self, line: int, equal: bool) -> None:
        """Busy-waits until LY is `line` (or, `equal=False`, is not)."""
        loop = self.fresh_label()
        self.label(loop)
        self.load_a(0xFF44)
        self.emit(0xFE, line)  # cp line
        self.jp(loop, "nz" if equal else "z")

    def assemble(self) -> bytes:
        for offset, name in self._fixups:
            address = self.labels[name]
            self.code[offset : offset + 2] = bytes((address & 0xFF, address >> 8))
        return bytes(self.code)


def _header(rom: bytearray, title: str) -> None:
    rom[0x100:0x104] = bytes((0x00, 0xC3, 0x50, 0x01))  # nop; jp 0x150
    rom[0x134:0x143] = title.encode("ascii")[:15].ljust(15, b"\0")
    rom[0x143] = 0x00  # Game Boy (DMG) only
    rom[0x147] = 0x00  # ROM only
    rom[0x148] = 0x00  # 32 KiB
    rom[0x149] = 0x00  # no cartridge RAM


def with_checksums(rom: bytes | bytearray) -> bytes:
    """`rom` with its header checksum (0x14D) and global checksum (0x14E-0x14F) made right."""
    rom = bytearray(rom)
    rom[0x14D] = header_checksum(rom)
    rom[0x14E:0x150] = global_checksum(rom).to_bytes(2, "big")
    return bytes(rom)


def _program(shows_title_screen: bool, starts: bool) -> bytes:
    asm = Assembler(0x150)
    asm.emit(0xF3, 0x31, 0xFE, 0xFF)  # di; ld sp, 0xFFFE
    asm.store(0xFF40, 0x00)  # LCD off: VRAM is writable at any time
    asm.fill(0x8000, 16, 0xFF)  # sprite tile 0: Mario, a black square
    asm.fill(0x9000 + GROUND * 16, 16, 0xFF)  # background tile 96: ground, black
    asm.fill(0x9800, 0x400, BLANK)
    asm.store(0xFF47, 0xE4)  # palettes
    asm.store(0xFF48, 0xE4)
    if shows_title_screen:
        asm.store_bytes(0x9800 + 13 * 32 + 6, _text("START"))
    asm.store(0xFF40, 0x83)  # LCD on, tile data at 0x8800 (signed), sprites and background on

    asm.label("title")
    asm.wait_line(144, equal=True)
    asm.wait_line(144, equal=False)
    if not (shows_title_screen and starts):
        asm.jp("title")
    asm.store(0xFF00, 0x10)  # select the buttons
    asm.load_a(0xFF00)
    asm.emit(0xCB, 0x5F)  # bit 3, a: START, 0 when pressed
    asm.jp("title", "nz")

    # Everything is set up before the status bar shows "MARIO", which start-up waits for.
    asm.store(0xFFB4, 0x11)  # world 1-1
    asm.store(0xDA15, 0x02)  # lives
    asm.store(0xC0A4, 0x00)
    asm.store(0xC201, 0x70)  # Mario's y
    asm.call("new_life")
    asm.store(0xFF40, 0x00)
    asm.store_bytes(0x9800 + 13 * 32 + 6, [BLANK] * 5)
    asm.fill(0x9800 + 16 * 32, 64, GROUND)
    asm.store(0x9800 + 13 * 32 + 12, GROUND)  # a block to see the screen scroll by
    asm.store(0xFE00, 0x70 + 16)  # sprite 0: y, x, tile, flags
    asm.store(0xFE02, 0)
    asm.store(0xFE03, 0)
    asm.store(0x9800 + 32 + 5, 0)  # the score, "     0"
    asm.store_bytes(0x9800 + 32 + 9, [0, 0])  # coins, "00"
    asm.store(0xFF40, 0x83)
    asm.wait_line(144, equal=True)  # a frame drawn with the level's scroll, then "MARIO"
    asm.store_bytes(0x9800, _text("MARIO"))
    asm.wait_line(144, equal=False)
    asm.jp("frame")

    asm.label("new_life")  # a subroutine: the level from its start, with a full clock
    asm.store(0xDA01, 0x00)  # 400 on the clock
    asm.store(0xDA02, 0x04)
    asm.store(0xDA1D, 0x00)
    asm.store(SCROLLED, 0)
    asm.store(0xC0AB, 0x00)
    asm.store(0xC202, START_X)
    asm.store(0xFF43, FIRST_SCX)
    asm.emit(0xC9)  # ret

    asm.label("level")
    asm.call("new_life")

    asm.label("frame")
    asm.wait_line(144, equal=True)
    asm.load_a(0xC0A4)
    asm.emit(0xFE, 0x39)  # cp 0x39: game over, nothing moves
    asm.jp("next", "z")
    # A block is counted once the frame that scrolled into it has been drawn: the wrapper reads
    # SCX from the drawn frame's scanlines, so progress never jumps back.
    asm.emit(0x21, SCROLLED & 0xFF, SCROLLED >> 8)  # ld hl, SCROLLED
    asm.emit(0x7E, 0x36, 0x00, 0xB7)  # ld a, (hl); ld (hl), 0; or a
    asm.jp("input", "z")
    asm.load_a(0xFF43)
    asm.emit(0xE6, 0x0F, 0xFE, FIRST_SCX)  # and 15; cp 7: a new block
    asm.jp("input", "nz")
    asm.emit(0x21, 0xAB, 0xC0, 0x34)  # ld hl, 0xC0AB; inc (hl)
    asm.load_a(0xC0AB)
    asm.emit(0xFE, GOAL_BLOCK)
    asm.jp("input", "nz")
    asm.load_a(0xFFB4)  # the level is finished: the next one
    asm.emit(0x3C)
    asm.store_a(0xFFB4)
    asm.jp("level")
    asm.label("input")
    asm.store(0xFF00, 0x20)  # select the d-pad
    asm.load_a(0xFF00)
    asm.emit(0x47)  # ld b, a
    asm.emit(0xCB, 0x47)  # bit 0, a: RIGHT
    asm.jp("not_right", "nz")
    asm.load_a(0xC202)
    asm.emit(0xFE, START_X)  # cp START_X
    asm.jp("scroll", "nc")
    asm.emit(0x3C)  # inc a
    asm.store_a(0xC202)
    asm.jp("clock")
    asm.label("scroll")
    asm.load_a(0xFF43)
    asm.emit(0x3C)  # inc a
    asm.store_a(0xFF43)
    asm.store(SCROLLED, 1)
    asm.jp("clock")

    asm.label("not_right")
    asm.emit(0x78, 0xCB, 0x4F)  # ld a, b; bit 1, a: LEFT
    asm.jp("clock", "nz")
    asm.emit(0x21, 0x02, 0xC2, 0x35)  # ld hl, 0xC202; dec (hl)
    asm.emit(0x7E, 0xFE, LEFT_EDGE)  # ld a, (hl); cp LEFT_EDGE
    asm.jp("lose_life", "z")

    asm.label("clock")
    asm.emit(0x21, FRAME_COUNTER & 0xFF, FRAME_COUNTER >> 8, 0x34)  # ld hl, ...; inc (hl)
    asm.emit(0x7E, 0xE6, CLOCK_FRAMES_MASK)  # ld a, (hl); and mask
    asm.jp("sprite", "nz")
    asm.load_a(0xDA01)
    asm.emit(0xD6, 0x01, 0x27)  # sub 1; daa
    asm.store_a(0xDA01)
    asm.emit(0xFE, 0x99)  # a borrow from the hundreds
    asm.jp("time_up", "nz")
    asm.load_a(0xDA02)
    asm.emit(0x3D)  # dec a
    asm.store_a(0xDA02)
    asm.label("time_up")
    asm.load_a(0xDA02)
    asm.emit(0x47)  # ld b, a
    asm.load_a(0xDA01)
    asm.emit(0xB0)  # or b
    asm.jp("sprite", "nz")
    asm.store(0xDA1D, 0xFF)

    asm.label("lose_life")
    asm.load_a(0xDA15)
    asm.emit(0xB7)  # or a
    asm.jp("lives_left", "nz")
    asm.store(0xC0A4, 0x39)
    asm.jp("next")
    asm.label("lives_left")
    asm.emit(0xD6, 0x01, 0x27)  # sub 1; daa
    asm.store_a(0xDA15)
    asm.jp("level")

    asm.label("sprite")
    asm.load_a(0xC202)
    asm.emit(0xC6, 8)  # add a, 8: OAM x is screen x + 8
    asm.store_a(0xFE01)
    asm.label("next")
    asm.wait_line(144, equal=False)
    asm.jp("frame")
    return asm.assemble()


# An opcode the Sharp LR35902 does not have: on it one PyBoy tick never returns.
ILLEGAL_OPCODE = 0xD3


def stand_in_rom(
    title: str = TITLE, shows_title_screen: bool = True, starts: bool = True, hangs: bool = False
) -> bytes:
    """The stand-in ROM. `title` makes another game's cartridge; `shows_title_screen=False` one
    that never shows "START", `starts=False` one whose title screen ignores START, `hangs=True`
    one with an illegal opcode at its entry point, which hangs the emulator when the boot ROM
    hands over, as a damaged dump can."""
    rom = bytearray(ROM_SIZE)
    program = _program(shows_title_screen, starts)
    rom[0x150 : 0x150 + len(program)] = program
    _header(rom, title)
    if hangs:
        rom[0x100] = ILLEGAL_OPCODE
    return with_checksums(rom)


def write_stand_in_rom(path: Path, **kwargs: bool | str) -> Path:
    """Writes `stand_in_rom(**kwargs)` to `path` and returns the path."""
    path.write_bytes(stand_in_rom(**kwargs))
    return path
