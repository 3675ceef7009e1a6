"""Host-side cost model for projecting board time from what a run counted.

A Verilator run gives deterministic *fabric* cycles (the accelerator's CYCLES counter,
which already includes every AXI-Lite access at ``memory.mmio_cycles`` and the DMA/DDR
timing model), but it does not show what the ARM core spends between those accesses:
copying operands into staging buffers, summing K partials, cache maintenance, driver calls.
AXI4MLIR's measured times are dominated by exactly that work, so a projection that leaves it
out flatters the baseline's fabric numbers and hides the point of zero-copy.

The projected board time of a run is therefore shown as two separate terms:

    fabric_s = cycles / fabric_clock
    host_s   = cpu_bytes_copied * copy_ns_per_byte
             + cache_bytes      * cache_ns_per_byte   (clean before MM2S / invalidate after S2MM)
             + driver_calls     * dma_call_ns         (driver call: programme + start + wait; simple
                                                        mode: one per transfer, scatter-gather: one
                                                        kick per channel per chain pair)
             + copy_calls       * copy_call_ns        (one pack/unpack call per staged tile)
             + mmio_ops         * mmio_cpu_ns         (CPU-side cost of an access, beyond the bus)

and their sum is labelled a *projection*. The per-op costs (below, one profile per CPU) are
for a compiled driver (AXI4MLIR's runtime is C++); the justification of each number is in
docs/BENCHMARKS.md and in the ``source`` strings. A second profile per CPU gives the costs
of a Python (pynq) driver for reference. All inputs are counts; the costs are constants, so
the projection is as deterministic as the counts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from accel.errors import SpecError
from accel.overlays.boards import get_board


@dataclass(frozen=True)
class HostProfile:
    """Per-operation costs of one host CPU (nanoseconds)."""

    name: str
    cpu: str
    cpu_mhz: float
    copy_ns_per_byte: float
    cache_ns_per_byte: float
    dma_call_ns: float
    copy_call_ns: float
    mmio_cpu_ns: float
    # CPU-only int32 matmul rate (ns per MAC) for a "no accelerator" reference line.
    cpu_matmul_ns_per_mac: float
    source: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def host_seconds(self, counts: dict[str, float]) -> dict[str, float]:
        """Host term, broken down by operation (seconds)."""
        parts = {
            "copy": counts.get("cpu_bytes_copied", 0) * self.copy_ns_per_byte,
            "cache": counts.get("cache_bytes", 0) * self.cache_ns_per_byte,
            # counts without driver_calls (older result files, simple mode): one call per transfer
            "dma_calls": counts.get("driver_calls", counts.get("dma_transfers", 0)) * self.dma_call_ns,
            "copy_calls": counts.get("copy_calls", 0) * self.copy_call_ns,
            "mmio": counts.get("mmio_ops", 0) * self.mmio_cpu_ns,
        }
        out = {k: v * 1e-9 for k, v in parts.items()}
        out["total"] = sum(out.values())
        return out


# Cortex-A9 @ 650 MHz (PYNQ-Z2). Sources / checks (docs/BENCHMARKS.md has the full reasoning):
# - copy: ~160 MB/s memcpy-bound throughput on Zynq-7000 Linux (RSoC framework's DMA
#   measurements, "the maximal speeds are about 160 MB/s", limited by memcpy); AXI4MLIR copies
#   tiles element by element into /dev/mem-mapped (uncached) staging buffers, which is no
#   faster. 6.25 ns/byte.
# - cache: clean/invalidate by MVA, one 32-byte line per ~20 CPU cycles (L1 + PL310 L2)
#   -> ~1 ns/byte at 650 MHz.
# - dma_call: a compiled driver's transfer (SA/DA + LENGTH writes, start, poll, checks)
#   ~1,300 CPU cycles = 2 us of software besides the bus accesses already in fabric cycles.
# - copy_call: loop set-up of one strided tile copy ~200 cycles = 0.3 us.
# - mmio_cpu: the uncached load/store itself is in the fabric cycles (mmio_cycles); the
#   CPU-side barrier/call is ~30 cycles = 0.05 us.
# Check: AXI4MLIR's best accelerated 256^3 (tile 16, 4,096 tiles, i32 operands: 3 KiB copied
# and 3 DMA rounds per tile) gives 4096 * (3072 * 6.25 + 3 * 2000 + 3 * 300) ns = 107 ms of
# host work; their measured time is 112 ms (AXI4MLIR paper, CGO 2024), i.e. host-dominated, as modelled.
# - cpu_matmul: AXI4MLIR's CPU-only 256^3 on the same A9: 1,463 ms / 256^3 MACs = 87.2 ns/MAC.
A9_NATIVE = HostProfile(
    name="a9-native",
    cpu="Cortex-A9 @ 650 MHz (PYNQ-Z2), compiled driver",
    cpu_mhz=650.0,
    copy_ns_per_byte=6.25,
    cache_ns_per_byte=1.0,
    dma_call_ns=2000.0,
    copy_call_ns=300.0,
    mmio_cpu_ns=50.0,
    cpu_matmul_ns_per_mac=1463e6 / 256**3,
    source=(
        "copy 160 MB/s (memcpy-bound Zynq-7000 Linux transfers, RSoC framework); cache 1 line/20 cycles; "
        "driver call ~1300 cycles; calibrated against AXI4MLIR 256^3 tile-16: 107 ms modelled vs 112 ms "
        "measured; CPU-only 1463 ms for 256^3 (AXI4MLIR artifact)"
    ),
)

# Cortex-A53 @ 1,333 MHz (K26 SOM, KV260). Software per-op costs scale with the clock
# (650 -> 1333 MHz, in-order core of similar IPC: ~0.5x); copy ~1 GB/s (lmbench bw_mem bcopy
# on Cortex-A53 DDR4 systems, e.g. TI AM62x app notes, ~1,000 MB/s); CPU-only matmul scaled
# from the A9 figure by clock and NEON width (x4 overall: assumption, labelled as such).
A53_NATIVE = HostProfile(
    name="a53-native",
    cpu="Cortex-A53 @ 1333 MHz (KV260), compiled driver",
    cpu_mhz=1333.0,
    copy_ns_per_byte=1.0,
    cache_ns_per_byte=0.5,
    dma_call_ns=1000.0,
    copy_call_ns=150.0,
    mmio_cpu_ns=25.0,
    cpu_matmul_ns_per_mac=1463e6 / 256**3 / 4,
    source=(
        "copy ~1 GB/s (lmbench bcopy on Cortex-A53 + DDR4); per-call costs = A9 costs scaled by clock "
        "(650 -> 1333 MHz); CPU-only matmul = A9 figure / 4 (clock x NEON: an assumption)"
    ),
)

# Python (pynq) drivers, for reference: every driver call goes through the interpreter.
# - MMIO: discuss.pynq.io "MMIO write is too slow": 5,600 Python MMIO.write calls took
#   150-200 ms on a PYNQ-Z1 (same 650 MHz A9) -> ~30 us each.
# - DMA: pynq.lib.dma transfer()+wait(): several MMIO accesses, flush of the whole buffer,
#   checks -> ~150 us on the A9 (5 MMIO-like calls); copy via numpy slicing ~ memcpy speed
#   plus ~20 us per call.
A9_PYNQ = HostProfile(
    name="a9-pynq",
    cpu="Cortex-A9 @ 650 MHz (PYNQ-Z2), pynq Python driver",
    cpu_mhz=650.0,
    copy_ns_per_byte=6.25,
    cache_ns_per_byte=1.0,
    dma_call_ns=150_000.0,
    copy_call_ns=20_000.0,
    mmio_cpu_ns=30_000.0,
    cpu_matmul_ns_per_mac=1463e6 / 256**3,
    source="Python MMIO ~30 us/call (5600 writes in 150-200 ms on PYNQ-Z1, discuss.pynq.io #389)",
)
A53_PYNQ = HostProfile(
    name="a53-pynq",
    cpu="Cortex-A53 @ 1333 MHz (KV260), pynq Python driver",
    cpu_mhz=1333.0,
    copy_ns_per_byte=1.0,
    cache_ns_per_byte=0.5,
    dma_call_ns=75_000.0,
    copy_call_ns=10_000.0,
    mmio_cpu_ns=15_000.0,
    cpu_matmul_ns_per_mac=1463e6 / 256**3 / 4,
    source="A9 pynq costs scaled by clock (650 -> 1333 MHz)",
)

PROFILES = {p.name: p for p in (A9_NATIVE, A53_NATIVE, A9_PYNQ, A53_PYNQ)}


def profiles_for(board: str) -> tuple[HostProfile, HostProfile]:
    """(compiled-driver profile, Python-driver profile) of a board: which host CPU sits next to
    which board is a board fact, read from the board table (overlays/boards.toml)."""
    native, py = get_board(board).host_profiles
    missing = [name for name in (native, py) if name not in PROFILES]
    if missing:
        raise SpecError(
            f"board {board!r} names host profile(s) {', '.join(missing)} in overlays/boards.toml; "
            f"known profiles: {', '.join(PROFILES)}"
        )
    return PROFILES[native], PROFILES[py]
