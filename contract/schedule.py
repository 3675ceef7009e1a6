"""A schedule: how one M x K x N matmul is cut into work for the accelerator, and its limits.

Shared by the compiler (which searches schedules with the cost model), the runtime (whose
``Accelerator.matmul`` uses :func:`default_schedule`) and the benchmarks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from accel.errors import ShapeError

STATIONARITY = ("A", "C", "N")


@dataclass(frozen=True)
class Schedule:
    """How one M x K x N matmul is cut into work for the accelerator.

    - ``tile_m`` rows per panel (<= spec.rows), ``tile_n`` columns per accumulator tile
      (<= spec.nmax), ``tile_k`` K per A-bank load (<= spec.kmax); edge tiles are smaller.
    - ``stationarity``: "A" keeps the A panel on chip across all N tiles (needs
      tile_k == K); "C" keeps the accumulators on chip across K chunks (output stationary);
      "N" reloads everything per (m, n, k) tile and sums K partials on the CPU (the
      AXI4MLIR Ns flow).
    - ``order``: "mn" (panels outer) or "nm" (N tiles outer).
    - ``double_buffer``: alternate A banks and accumulator banks so the drain of one tile
      overlaps the next tile's load and compute.
    - ``staging``: copy operand tiles into scratch buffers first (the AXI4MLIR baseline);
      otherwise the DMA reads and writes the user's buffers in place.
    """

    m: int
    n: int
    k: int
    tile_m: int
    tile_n: int
    tile_k: int
    stationarity: str = "A"
    order: str = "mn"
    double_buffer: bool = True
    staging: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)



def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def dimension_limit(spec: Any) -> tuple[int, int]:
    """(bits, largest M, N or K): row lengths and column windows are instruction fields, so the
    narrowest of them bounds every matmul dimension."""
    width = min(spec.isa_fields[f][1] for f in ("row_len", "win_lo", "win_cnt"))
    return width, (1 << width) - 1


def check_schedule(spec: Any, s: Schedule) -> None:
    """Reject schedules the accelerator or the DMA cannot execute, naming the limit."""
    L = spec.lanes
    problems = []
    if min(s.m, s.n, s.k) < 1:
        raise ShapeError(f"matmul dimensions must be >= 1, got M={s.m} N={s.n} K={s.k}")
    if not 1 <= s.tile_m <= spec.rows:
        problems.append(f"tile_m={s.tile_m} must be 1..{spec.rows} (array rows)")
    if not 1 <= s.tile_n <= spec.nmax:
        problems.append(f"tile_n={s.tile_n} must be 1..{spec.nmax} (accumulator columns)")
    if not 1 <= s.tile_k <= spec.kmax:
        problems.append(f"tile_k={s.tile_k} must be 1..{spec.kmax} (A buffer depth)")
    if s.tile_n < s.n and s.tile_n % L:
        problems.append(f"tile_n={s.tile_n} must be a multiple of {L} lanes when N={s.n} is split")
    if s.tile_k < s.k and s.tile_k % L:
        problems.append(f"tile_k={s.tile_k} must be a multiple of {L} lanes when K={s.k} is split")
    if s.stationarity not in STATIONARITY:
        problems.append(f"stationarity {s.stationarity!r} must be one of {STATIONARITY}")
    if s.stationarity == "A" and min(s.tile_k, s.k) < s.k and _ceil_div(s.n, s.tile_n) > 1:
        problems.append("A-stationary with both K and N split needs one accumulator per N tile: use 'C'")
    if s.order not in ("mn", "nm"):
        problems.append(f"order {s.order!r} must be 'mn' or 'nm'")
    width, largest = dimension_limit(spec)
    for dim in ("m", "n", "k"):
        if getattr(s, dim) > largest:
            problems.append(f"{dim.upper()}={getattr(s, dim)} exceeds the {width}-bit row_len/window fields")
    if problems:
        raise ShapeError("unsupported schedule: " + "; ".join(problems))



def default_schedule(spec: Any, m: int, n: int, k: int) -> Schedule:
    """The runtime's built-in schedule (the compiler's cost model picks better ones):
    full-height panels, A-stationary over all of N when it fits, double buffered."""
    L = spec.lanes
    tile_n = n if n <= spec.nmax else spec.nmax - spec.nmax % L
    tile_k = k if k <= spec.kmax else spec.kmax - spec.kmax % L
    stationarity = "A" if tile_k == k or tile_n >= n else "C"
    return Schedule(m, n, k, tile_m=min(spec.rows, m), tile_n=tile_n, tile_k=tile_k, stationarity=stationarity)
