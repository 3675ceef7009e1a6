"""The board table (``overlays/boards.toml``): every board fact, defined once.

A spec names its board (``board = "pynq-z2"``); what follows from the board — the part and its
resource capacities, the processing system (IP, instance, ports, pins, address windows), the
Vivado board files, the host CPU — is read from here by the spec loader (``Spec.part``), the
``.hwh`` generator, the Vivado parameters, the resource estimate and the host-time projection.
A third board is one more entry in the TOML file; nothing else lists boards.

    from accel.overlays.boards import get_board
    get_board("kv260").capacity["DSP"]     # 1248
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - PYNQ-Z2 images ship Python 3.10
    import tomli as tomllib

from accel.errors import SpecError

BOARDS_FILE = Path(__file__).resolve().parent / "boards.toml"
RESOURCES = ("LUT", "FF", "DSP", "BRAM36", "URAM", "LUTRAM")
PS_KINDS = ("ps7", "psu")  # Zynq-7000 processing_system7 | Zynq UltraScale+ zynq_ultra_ps_e
PIN_NAMES = ("CLK", "RESETN", "GP_ACLK", "HP_ACLK")  # no PL-to-PS interrupt: docs/BOARD.md


@dataclass(frozen=True)
class Board:
    """One board: its part, processing system, Vivado board files and host CPU."""

    name: str
    part: str
    capacity: Mapping[str, float]  # LUT/FF/DSP/BRAM36/URAM/LUTRAM of the part
    yosys_family: str  # synth_xilinx -family for resource estimates
    pynq_image: str
    board_part_pattern: str  # get_board_parts pattern
    board_files_hint: str  # where to get the board files, for the error message
    host_profiles: tuple[str, str]  # (compiled driver, pynq Python driver) profile names
    ps_kind: str  # "ps7" | "psu"
    ps_family: str  # .hwh SYSTEMINFO ARCH / C_FAMILY
    ps_vlnv: str  # full VLNV the .hwh carries
    ps_instance: str
    pll_mhz: float  # the board preset's PLL the fabric clock divides (pynq sets the dividers from the .hwh)
    preset_rule: str  # apply_bd_automation rule that applies the board preset to the PS
    preset_config: str  # its -config
    pins: Mapping[str, str]  # PS pin names: CLK, RESETN, GP_ACLK, HP_ACLK
    gp_port: str  # PS master port the control registers hang off
    gp_window: tuple[int, int]  # [lo, hi) of the PS address window behind gp_port
    gp_protocol: str
    gp_addr_width: int
    hp_port: str  # PS slave port the DMA masters reach DDR through
    hp_block: str  # its address block in the .hwh
    hp_ddr_range: tuple[int, int]  # [lo, hi] of the DDR reachable through it
    hp_widths: tuple[int, ...]  # data widths that HP port supports
    hp_protocol: str

    @property
    def ps_vlnv_prefix(self) -> str:
        """vendor:library:name of the PS IP (Vivado instantiates the newest installed version)."""
        return self.ps_vlnv.rsplit(":", 1)[0]

    @property
    def ps_modtype(self) -> str:
        """The PS IP's name (the .hwh MODTYPE)."""
        return self.ps_vlnv.split(":")[2]


def _parse(name: str, entry: Mapping[str, Any]) -> Board:
    try:
        ps = entry["ps"]
        board = Board(
            name=name,
            part=str(entry["part"]),
            capacity={r: entry["capacity"][r] for r in RESOURCES},
            yosys_family=str(entry["yosys_family"]),
            pynq_image=str(entry["pynq_image"]),
            board_part_pattern=str(entry["board_part_pattern"]),
            board_files_hint=str(entry["board_files_hint"]),
            host_profiles=(str(entry["host_profiles"]["native"]), str(entry["host_profiles"]["pynq"])),
            ps_kind=str(ps["kind"]),
            ps_family=str(ps["family"]),
            ps_vlnv=str(ps["vlnv"]),
            ps_instance=str(ps["instance"]),
            pll_mhz=float(ps["pll_mhz"]),
            preset_rule=str(ps["preset_rule"]),
            preset_config=str(ps["preset_config"]),
            pins={p: str(ps["pins"][p]) for p in PIN_NAMES},
            gp_port=str(ps["gp_port"]),
            gp_window=(int(ps["gp_window"][0]), int(ps["gp_window"][1])),
            gp_protocol=str(ps["gp_protocol"]),
            gp_addr_width=int(ps["gp_addr_width"]),
            hp_port=str(ps["hp_port"]),
            hp_block=str(ps["hp_block"]),
            hp_ddr_range=(int(ps["hp_ddr_range"][0]), int(ps["hp_ddr_range"][1])),
            hp_widths=tuple(int(w) for w in ps["hp_widths"]),
            hp_protocol=str(ps["hp_protocol"]),
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise SpecError(f"{BOARDS_FILE}: board {name!r} is malformed: missing or bad entry {exc}") from exc
    if board.ps_kind not in PS_KINDS:
        raise SpecError(f"{BOARDS_FILE}: board {name!r} has ps.kind {board.ps_kind!r}; known kinds: {PS_KINDS}")
    if len(board.ps_vlnv.split(":")) != 4:
        raise SpecError(f"{BOARDS_FILE}: board {name!r}: ps.vlnv {board.ps_vlnv!r} must be vendor:library:name:version")
    return board


def read_board_table(path: Path) -> dict[str, Board]:
    """Every board of the table in ``path``, by name."""
    try:
        with Path(path).open("rb") as fh:
            doc = tomllib.load(fh)
    except OSError as exc:
        raise SpecError(f"cannot read the board table {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from exc
    return {name: _parse(name, entry) for name, entry in doc.items()}


@functools.cache
def load_boards() -> Mapping[str, Board]:
    """The board table (``overlays/boards.toml``), read once per process."""
    return read_board_table(BOARDS_FILE)


def get_board(name: str) -> Board:
    """The board called ``name``; a SpecError lists the known boards otherwise."""
    boards = load_boards()
    try:
        return boards[name]
    except KeyError:
        raise SpecError(
            f"no board {name!r} in the board table {BOARDS_FILE.name}; known boards: {', '.join(sorted(boards))} "
            "(add an entry there for a new board)"
        ) from None


class _BoardTable(Mapping[str, Board]):
    """The board table as a read-only mapping, read on first use (nothing happens at import)."""

    def __getitem__(self, name: str) -> Board:
        return load_boards()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(load_boards())

    def __len__(self) -> int:
        return len(load_boards())


BOARDS: Mapping[str, Board] = _BoardTable()
