"""The four rungs of the ablation ladder, each a :class:`Schedule` for the same runtime.

1. ``baseline``: AXI4MLIR-style. Ns flow (``stationarity="N"``: every (m, n, k) tile
   reloads A and B, is drained on its own and the K partials are summed on the CPU), tile
   size ``T`` in all three dimensions (AXI4MLIR's accelerators use 4/8/16 tiles; 16 gave its
   best results), operands copied from the heap into DMA staging buffers and results copied
   back (``staging=True``), no double buffering.
2. ``zero_copy``: the same tiles and flow, but the DMA reads A and B and writes C in place
   (``staging=False``). K partials still come back to the CPU (that is the Ns flow).
3. ``scheduled``: the compiler's cost model picks tiles, loop order and stationarity;
   no double buffering.
4. ``double_buffer``: the same schedule with alternating A/accumulator banks.
5. ``scatter_gather``: the cost model's double-buffered pick for the AXI DMA in scatter-gather
   mode (``[dma] mode = "sg"``): the whole program is one MM2S and one S2MM descriptor chain,
   a run is one kick per channel and one completion wait, so the register accesses per run do
   not grow with the program; where N exceeds the accumulator (``nmax``) the pick is a staged
   schedule whose packs/unpacks the descriptors gather/scatter (no CPU copy, shown as ``stg``),
   so the stream carries only each B window. Rungs 1-4 use the simple-mode DMA.

Rungs 3-5 call the cost model (:func:`accel.contract.costmodel.choose`) directly; every
row names it in ``schedule_source``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from accel.contract import costmodel
from accel.contract.schedule import Schedule


@dataclass(frozen=True)
class Strategy:
    key: str
    label: str
    description: str
    dma_mode: str = "simple"  # the AXI DMA build the rung runs on ("sg": scatter-gather)


STRATEGIES: tuple[Strategy, ...] = (
    Strategy(
        "baseline",
        "AXI4MLIR-style",
        "Ns flow, TxTxT tiles, heap->staging copies, K partials summed on the CPU, single-buffered",
    ),
    Strategy("zero_copy", "+ zero-copy", "same tiles and flow, DMA on the user's buffers (no operand copies)"),
    Strategy("scheduled", "+ cost-model schedule", "cost model's tiles/order/stationarity, single-buffered"),
    Strategy("double_buffer", "+ double buffering", "cost model's schedule, alternating A and accumulator banks"),
    Strategy("scatter_gather", "+ scatter-gather DMA",
             "the double-buffered schedule as one descriptor chain pair: one kick and one wait per run", "sg"),
)
STRATEGY_KEYS = tuple(s.key for s in STRATEGIES)
BY_KEY = {s.key: s for s in STRATEGIES}

DEFAULT_BASELINE_TILE = 16

def _round_up(x: int, mult: int) -> int:
    return -(-x // mult) * mult


def baseline_schedule(spec: Any, m: int, n: int, k: int, tile: int = DEFAULT_BASELINE_TILE) -> Schedule:
    """AXI4MLIR-style: Ns flow, ``tile`` in every dimension (rows/lanes permitting), staging."""
    L = spec.lanes
    tm = min(tile, spec.rows)
    tn = min(_round_up(tile, L), spec.nmax)
    tk = min(_round_up(tile, L), spec.kmax)
    return Schedule(m, n, k, tile_m=tm, tile_n=tn, tile_k=tk, stationarity="N", order="mn",
                    double_buffer=False, staging=True)


def cost_model_schedule(spec: Any, m: int, n: int, k: int, *, double_buffer: bool) -> tuple[Schedule, str]:
    """The cost model's best zero-copy schedule for (spec, M, N, K) with double buffering fixed.

    Rung 3 is what the cost model picks without double buffering (not rung 4 with the banks
    switched off), so the flag is a constraint of the search, not an override of its pick."""
    fixed = {"double_buffer": double_buffer, "staging": False}
    sched = costmodel.choose(spec, m, n, k, fixed=fixed).schedule
    return sched, f"accel.contract.costmodel.choose(fixed double_buffer={double_buffer})"


def schedule_for(key: str, spec: Any, m: int, n: int, k: int, *,
                 baseline_tile: int = DEFAULT_BASELINE_TILE) -> tuple[Schedule, str]:
    """(schedule, where it came from) of one rung."""
    base = baseline_schedule(spec, m, n, k, baseline_tile)
    if key == "baseline":
        return base, f"AXI4MLIR-style Ns, tile {baseline_tile}"
    if key == "zero_copy":
        return dataclasses.replace(base, staging=False), f"AXI4MLIR-style Ns, tile {baseline_tile}, zero-copy"
    if key == "scatter_gather":  # priced for the DMA it runs on; packs/unpacks only where descriptors do them
        sched = costmodel.choose(spec.with_dma_mode("sg"), m, n, k, fixed={"double_buffer": True}).schedule
        return sched, "accel.contract.costmodel.choose(fixed double_buffer=True) on the scatter-gather DMA"
    return cost_model_schedule(spec, m, n, k, double_buffer=(key != "scheduled"))


def describe(s: Schedule) -> str:
    """Compact one-line form: ``A 16x512x256 mn db`` / ``N 16x16x16 mn stg``."""
    flags = [s.order]
    if s.double_buffer:
        flags.append("db")
    if s.staging:
        flags.append("stg")
    tn, tk = min(s.tile_n, s.n), min(s.tile_k, s.k)
    return f"{s.stationarity} {min(s.tile_m, s.m)}x{tn}x{tk} " + " ".join(flags)
