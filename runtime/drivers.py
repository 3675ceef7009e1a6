"""``AccelDriver``: the PYNQ driver of the matmul accelerator IP, bound by VLNV.

``pynq.Overlay`` instantiates it for every IP whose VLNV is in ``bindto`` (read from the
checked-in specs' ``[ip].vlnv``; :func:`bind_spec_driver` registers another spec's VLNV).
Register offsets, field bits, counter offsets and error codes all come from the spec: call
:meth:`AccelDriver.use_spec` (the runtime does) or let the driver find the spec whose hash
matches the ``SPEC_HASH`` parameter of the ``.hwh``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pynq import DefaultIP

from accel.errors import AcceleratorError, OverlayMismatchError
from accel.overlays.spec import Spec, available_specs, load_spec
from accel.runtime.sgdma import AccelDMA

__all__ = ["AccelDMA", "AccelDriver", "bind_spec_driver"]  # importing this module registers both with pynq

IDENTITY = ("ROWS", "LANES", "KMAX", "NMAX", "IFIFO_DEPTH")


@cache
def _spec_vlnvs() -> tuple[str, ...]:
    return tuple(sorted({load_spec(name).ip_vlnv for name in available_specs()}))


class AccelDriver(DefaultIP):
    """Register-level driver: identity check, soft reset, counters, status/error decoding."""

    bindto = list(_spec_vlnvs())

    def __init__(self, description: dict[str, Any]) -> None:
        super().__init__(description=description)
        self._params = dict(description.get("parameters") or {})
        self._spec: Spec | None = None

    # ------------------------------------------------------------ spec
    def use_spec(self, spec: Spec | str) -> AccelDriver:
        self._spec = load_spec(spec)
        return self

    @property
    def spec(self) -> Spec:
        """The spec (set by :meth:`use_spec`, else found from the .hwh ``SPEC_HASH`` parameter)."""
        if self._spec is None:
            hw = self._params.get("SPEC_HASH")
            for name in available_specs():
                cand = load_spec(name)
                if hw is not None and int(str(hw), 0) == cand.hash32:
                    self._spec = cand
                    break
            else:
                raise OverlayMismatchError(
                    f"cannot tell which spec this overlay was built from (.hwh SPEC_HASH={hw}); "
                    "call driver.use_spec(<spec>) or pass spec= to Accelerator"
                )
        return self._spec

    def _off(self, reg: str) -> int:
        return self.spec.reg(reg).offset

    # ------------------------------------------------------------ identity
    def check_identity(self, spec: Spec | None = None) -> dict[str, int]:
        """Raise OverlayMismatchError unless the hardware is the accelerator ``spec`` describes."""
        spec = load_spec(spec) if spec is not None else self.spec
        got = {name: self.read(spec.reg(name).offset) for name in ("ID", "VERSION", "SPEC_HASH", *IDENTITY)}
        want = {
            "ID": spec.id_magic, "VERSION": spec.version_word, "SPEC_HASH": spec.hash32, "ROWS": spec.rows,
            "LANES": spec.lanes, "KMAX": spec.kmax, "NMAX": spec.nmax, "IFIFO_DEPTH": spec.ififo_depth,
        }
        if got["ID"] != want["ID"]:
            raise OverlayMismatchError(
                f"no pynq-accel accelerator at {self.mmio.base_addr:#x}: ID register reads {got['ID']:#010x}, "
                f"expected {want['ID']:#010x}; load the overlay built from spec {spec.name} (overlays/{spec.name}.bit)"
            )
        bad = [f"{k}={got[k]:#x} (spec {spec.name}: {want[k]:#x})" for k in want if got[k] != want[k]]
        if bad:
            raise OverlayMismatchError(
                f"the loaded overlay does not match spec {spec.name}: " + ", ".join(bad)
                + f"; load the bitstream built from {spec.name} or pass the spec it was built from"
            )
        return got

    # ------------------------------------------------------------ control
    def soft_reset(self) -> None:
        """CTRL.SOFT_RESET (self-clearing): clears ERROR, the FIFO, banks and armed faults."""
        self.write(self._off("CTRL"), self.spec.reg("CTRL").mask("SOFT_RESET"))

    def clear_counters(self) -> None:
        self.write(self._off("CTRL"), self.spec.reg("CTRL").mask("CLEAR_COUNTERS"))

    def snapshot(self) -> None:
        """Latch all counters so LO/HI pairs are consistent."""
        self.write(self._off("CTRL"), self.spec.reg("CTRL").mask("SNAPSHOT"))

    def read_counter(self, name: str) -> int:
        """One 64-bit counter from the last snapshot (LO at the offset, HI at +4)."""
        off = self.spec.counter(name)
        return self.read(off) | (self.read(off + 4) << 32)

    def read_counters(self, names: tuple[str, ...] | None = None) -> dict[str, int]:
        """Snapshot, then read every counter the spec defines (or just ``names``)."""
        self.snapshot()
        return {name: self.read_counter(name) for name in (names or tuple(self.spec.counters))}

    # ------------------------------------------------------------ status
    def status_word(self) -> int:
        return self.read(self._off("STATUS"))

    def decode_status(self, word: int) -> dict[str, bool]:
        return {f: bool(word & (1 << bit)) for f, bit in self.spec.reg("STATUS").fields.items()}

    def status(self) -> dict[str, Any]:
        """STATUS fields plus the ERROR code and its spec name."""
        out: dict[str, Any] = self.decode_status(self.status_word())
        code = self.read(self._off("ERROR"))
        out["error_code"] = code
        out["error_name"] = self.spec.error_name(code)
        out["instr_count"] = self.read(self._off("INSTR_COUNT"))
        return out

    def error_from_status(self, word: int) -> AcceleratorError | None:
        """The AcceleratorError for a STATUS word with ERROR set (reads ERROR), else None."""
        if not word & self.spec.reg("STATUS").mask("ERROR"):
            return None
        code = self.read(self._off("ERROR"))
        name = self.spec.error_name(code)
        return AcceleratorError(
            f"accelerator error {name} (code {code}): {_ERROR_HINTS.get(name, 'see [errors] in the spec')}; "
            "the runtime soft-reset the accelerator"
        )


_ERROR_HINTS = {
    "BAD_OPCODE": "an instruction word has an unknown opcode (corrupt command buffer or a program for another ISA)",
    "EARLY_TLAST": "a data packet ended before the instruction's byte count (DMA transfer shorter than the program)",
    "MISSING_TLAST": "a data packet did not end at the instruction's byte count (TLAST missing or transfer too long)",
    "IFIFO_OVERFLOW": "a command packet had more instructions than the FIFO holds (ififo_depth)",
    "BAD_FIELD": "an instruction field is out of range (rows, win_cnt vs KMAX/NMAX, window outside the row)",
    "UNALIGNED": "win_lo is not a multiple of the lanes",
}


def bind_spec_driver(spec: Spec) -> type[AccelDriver]:
    """Make ``pynq.Overlay`` bind :class:`AccelDriver` to ``spec.ip_vlnv`` (custom spec files)."""
    if spec.ip_vlnv in AccelDriver.bindto:
        return AccelDriver
    name = "AccelDriver_" + "".join(c if c.isalnum() else "_" for c in spec.ip_vlnv)
    return type(name, (AccelDriver,), {"bindto": [spec.ip_vlnv]})
