"""One exception hierarchy for the whole stack.

Every error says what is wrong and how to fix it; the CLI prints the message (no traceback)
and exits non-zero. Runtime checks raise these, never ``assert``.
"""

from __future__ import annotations


class AccelError(Exception):
    """Base of every pynq-accel error."""


class SpecError(AccelError):
    """A spec file is missing, malformed or describes an unbuildable configuration."""


# ------------------------------------------------------------------ user input
class InputError(AccelError, ValueError):
    """Bad arguments from the user (dtype, shape, layout, size)."""


class DtypeError(InputError, TypeError):
    """An operand has the wrong element type (e.g. float32 where int8 is required)."""


class ShapeError(InputError):
    """Operand shapes do not match (e.g. A is MxK but B is not KxN)."""


class LayoutError(InputError):
    """An array is not C-contiguous, or is not a CMA (pynq.allocate) buffer where one is required."""


class BufferFreedError(InputError):
    """An operand is a CMA buffer (or a view of one) that was already freed with ``freebuffer()``."""


class OverlapError(InputError):
    """An output operand shares memory with another operand of the same call."""


class TransferTooLargeError(InputError):
    """A single transfer exceeds the DMA LENGTH register's range."""


class AllocationError(AccelError, MemoryError):
    """CMA (or the simulated DDR) has no room for the requested buffer."""


# ------------------------------------------------------------------ hardware
class HardwareError(AccelError, RuntimeError):
    """The device misbehaved; the runtime has soft-reset it and the next call can proceed."""


class DeviceTimeoutError(HardwareError, TimeoutError):
    """A wait on hardware (DMA channel, accelerator) did not finish within its timeout."""


class DMAError(HardwareError):
    """The AXI DMA reported an error (DMAIntErr / DMASlvErr / DMADecErr)."""


class AcceleratorError(HardwareError):
    """The accelerator's STATUS.ERROR bit is set; the message carries its ERROR code."""


class OverlayMismatchError(AccelError):
    """The loaded overlay (ID / SPEC_HASH registers, .hwh) does not match the expected spec."""


class BackendError(AccelError):
    """A backend is unavailable here (no board, simulator not buildable) or misconfigured."""


class SimulatorBuildError(BackendError):
    """Verilator could not build the simulation model."""


# ------------------------------------------------------------------ compiler/program
class ProgramError(AccelError):
    """A driver program is malformed, of another format version, or built for another spec."""


class CompileError(AccelError):
    """MLIR input the compiler cannot handle; names the op, its location and what is supported."""

    def __init__(self, message: str, *, op: str | None = None, location: str | None = None) -> None:
        self.op = op
        self.location = location
        prefix = f"{location}: " if location else ""
        super().__init__(prefix + message)
