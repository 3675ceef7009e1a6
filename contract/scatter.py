"""Scatter-gather lowering of a driver program's transfers: which packets a descriptor chain can
move by itself, and the descriptors (operand, offset, bytes) each packet becomes.

A scatter-gather DMA (PG021) can split one stream packet over several descriptors: on S2MM
the packet's bytes fill the descriptors' buffers in chain order, and only the last one gets
RXEOF. So a DRAIN result whose program entry *unpacks* a block into an operand (a
``rows x cols`` window of a wider row-major matrix: N split over several accumulator
windows, e.g. N > nmax) can be written by the DMA straight into the operand, one descriptor
per row segment, instead of into a staging buffer the CPU copies from. Only plain copies
(``add`` false) scatter; a K-split partial that is added on the CPU still needs the CPU. On
MM2S the descriptors of one packet (EOF on the last) *gather*: a ``pack`` of a block of an
operand (e.g. a B window of a staged schedule, so the stream carries only the window's
columns) is read row segment by row segment from the operand, as long as no stream beat
straddles two descriptors. The program file does not change: this is how a scatter-gather
runtime executes it, and how the cost model prices it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from accel.contract.program import DriverProgram


def scatters(program: DriverProgram, entry: list[Any]) -> bool:
    """Whether an S2MM entry's unpack is a plain block copy into an operand (DMA-scatterable)."""
    unpack = entry[3]
    if not unpack or unpack.get("add"):
        return False
    dst = program.operands.get(unpack["dst"])
    if dst is None or len(dst["shape"]) != 2:
        return False
    item = _itemsize(dst["dtype"])
    return int(entry[2]) == int(unpack["rows"]) * int(unpack["cols"]) * item


def gathers(program: DriverProgram, entry: list[Any], beat_bytes: int) -> bool:
    """Whether an MM2S entry's pack is a plain block read from an operand that MM2S descriptors can
    gather (one per row segment): every segment but the last a whole number of stream beats, so
    no beat of the packet straddles two descriptors (the accelerator sees full beats until TLAST)."""
    pack = entry[3]
    if not pack:
        return False
    src = program.operands.get(pack["src"])
    if src is None or len(src["shape"]) != 2:
        return False
    item = _itemsize(src["dtype"])
    rows, cols = int(pack["rows"]), int(pack["cols"])
    if int(entry[2]) != rows * cols * item:
        return False
    # one segment (whole rows, or one row), or row segments of whole beats (see _block_segments)
    return cols == int(src["shape"][1]) or rows == 1 or (cols * item) % beat_bytes == 0


def chainable(program: DriverProgram, beat_bytes: int) -> bool:
    """Whether a scatter-gather DMA runs the whole program as one descriptor chain pair: every pack
    gathers and every unpack scatters (see :func:`gathers`, :func:`scatters`)."""
    return (all(not e[3] or gathers(program, e, beat_bytes) for e in program.mm2s)
            and all(not e[3] or scatters(program, e) for e in program.s2mm))


def mm2s_segments(program: DriverProgram, entry: list[Any], beat_bytes: int) -> list[tuple[str, int, int]]:
    """The descriptors of one MM2S entry as (buffer, byte offset, bytes), in stream order: a gathered
    pack reads its block's row segments straight from the operand; any other entry is one descriptor."""
    if not gathers(program, entry, beat_bytes):
        return [(str(entry[0]), int(entry[1]), int(entry[2]))]
    pack = entry[3]
    return _block_segments(pack["src"], program.operands[pack["src"]], pack)


def s2mm_segments(program: DriverProgram, entry: list[Any]) -> list[tuple[str, int, int]]:
    """The descriptors of one S2MM entry as (buffer, byte offset, bytes), in stream order.

    A scattered unpack becomes one descriptor per row of its block (rows that are whole rows of
    the operand merge into one); any other entry is one descriptor on its own buffer."""
    if not scatters(program, entry):
        return [(str(entry[0]), int(entry[1]), int(entry[2]))]
    unpack = entry[3]
    return _block_segments(unpack["dst"], program.operands[unpack["dst"]], unpack)


def _block_segments(name: str, operand: dict[str, Any], block: dict[str, Any]) -> list[tuple[str, int, int]]:
    """A rows x cols block of a row-major 2-D operand as contiguous (name, byte offset, bytes) runs."""
    item = _itemsize(operand["dtype"])
    width = int(operand["shape"][1])
    row0, col0, rows, cols = (int(block[k]) for k in ("row0", "col0", "rows", "cols"))
    if cols == width:  # whole rows: one contiguous block
        return [(str(name), row0 * width * item, rows * cols * item)]
    return [(str(name), ((row0 + r) * width + col0) * item, cols * item) for r in range(rows)]


def _itemsize(dtype: str) -> int:
    return int(np.dtype(dtype).itemsize)  # the schema admits only numpy dtype names
