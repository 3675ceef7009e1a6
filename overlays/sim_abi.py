"""The simulator's C ABI codes, defined once: faults, channels, status codes, interrupt lines.

``overlays/sim/harness.cpp`` exports ``sim_inject(fault, channel)``, ``sim_read32``/``sim_write32``
(returning a status) and ``sim_irq`` (a bit per interrupt line); :mod:`accel.overlays.sim` calls
them through ctypes. Both sides take the numbers from here: :func:`c_declarations` is generated
into the harness's ``accel_spec.h`` (by ``Spec.c_header()``), and ``sim.py`` uses the tables.
Bump :data:`ABI_VERSION` when a number changes meaning; ``sim_abi()`` reports it after dlopen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum

ABI_VERSION = 2


@dataclass(frozen=True)
class Fault:
    """A one-shot fault ``sim_inject`` can arm, and the channels it takes (first = default)."""

    name: str
    code: int
    channels: tuple[str, ...]
    doc: str


FAULTS: tuple[Fault, ...] = (
    Fault("dma_slverr", 0, ("mm2s", "s2mm"), "the next transfer on the channel fails with DMASR.DMASlvErr"),
    Fault("dma_decerr", 1, ("mm2s", "s2mm"), "the next transfer on the channel fails with DMASR.DMADecErr"),
    Fault("mm2s_stall", 2, ("mm2s",), "MM2S stops delivering (TVALID low) until a DMA reset"),
    Fault("s2mm_stall", 3, ("s2mm",), "S2MM holds TREADY low until a DMA reset"),
    Fault("drop_tlast", 4, ("mm2s", "s2mm"), "mm2s: the next transfer has no TLAST; s2mm: the next TLAST is ignored"),
    Fault("accel_hang", 5, (), "the accelerator stops (its streams freeze) until CTRL.SOFT_RESET"),
    # scatter-gather mode only (DMASR.SGSlvErr / SGDecErr / SGIntErr on the channel's SG engine)
    Fault("sg_fetch_error", 6, ("mm2s", "s2mm"), "the next descriptor fetch on the channel fails (SGSlvErr)"),
    Fault("sg_bad_pointer", 7, ("mm2s", "s2mm"),
          "the next descriptor fetch on the channel goes to an address outside memory (SGDecErr)"),
    Fault("sg_reused", 8, ("mm2s", "s2mm"),
          "the next descriptor fetched on the channel reads back as already completed (SGIntErr)"),
)

CHANNELS: Mapping[str, int] = {"mm2s": 0, "s2mm": 1}
NO_CHANNEL = -1  # sim_inject's channel argument for faults that take none


class Status(IntEnum):
    """sim_read32 / sim_write32 / sim_inject return codes."""

    OK = 0
    EADDR = -1
    EALIGN = -2
    EAXIL_TIMEOUT = -3
    EAXIL_RESP = -4
    EARG = -5


STATUS_DOC: Mapping[Status, str] = {
    Status.EADDR: "address in neither the DMA nor the accelerator window",
    Status.EALIGN: "not 4-byte aligned",
    Status.EAXIL_TIMEOUT: "the accelerator's AXI-Lite slave never answered",
    Status.EAXIL_RESP: "the accelerator answered SLVERR/DECERR (value still returned)",
    Status.EARG: "bad fault/channel number",
}

# sim_irq: bit of each interrupt output in the returned word
IRQ_LINES: Mapping[str, int] = {"mm2s_introut": 0, "s2mm_introut": 1, "accel_irq": 2}


def fault(name: str) -> Fault | None:
    """The fault called ``name``, or None."""
    return next((f for f in FAULTS if f.name == name), None)


def _enum(name: str, entries: list[tuple[str, int, str]]) -> list[str]:
    lines = [f"enum {name} : int {{"]
    for ident, value, comment in entries:
        lines.append(f"  {ident} = {value},{f'  // {comment}' if comment else ''}")
    return [*lines, "};"]


def c_declarations() -> str:
    """The C++ side of the ABI (namespace ``accelsim``), for the generated ``accel_spec.h``."""
    lines = [
        "// Simulator C ABI codes (overlays/sim_abi.py).",
        "namespace accelsim {",
        f"constexpr int SIM_ABI_VERSION = {ABI_VERSION};",
        *_enum("Fault", [(f"FAULT_{f.name.upper()}", f.code, f.doc) for f in FAULTS]),
        *_enum("Channel", [*((f"CH_{c.upper()}", v, "") for c, v in CHANNELS.items()),
                           ("CH_NONE", NO_CHANNEL, "faults that take no channel")]),
        *_enum("Status", [(f"SIM_{st.name}", int(st), STATUS_DOC.get(st, "")) for st in Status]),
        *_enum("IrqLine", [(f"IRQ_{n.upper()}_BIT", v, "bit in sim_irq()") for n, v in IRQ_LINES.items()]),
        "}  // namespace accelsim",
    ]
    return "\n".join(lines) + "\n"
