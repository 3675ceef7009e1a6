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

The cost model is reached through one hook, :func:`cost_model_schedule`; if the compiler's
cost model is not importable the runtime's built-in ``default_schedule`` is used and every
row says so (``schedule_source``).
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from accel.runtime.program import Schedule, default_schedule


@dataclass(frozen=True)
class Strategy:
    key: str
    label: str
    description: str


STRATEGIES: tuple[Strategy, ...] = (
    Strategy(
        "baseline",
        "AXI4MLIR-style",
        "Ns flow, TxTxT tiles, heap->staging copies, K partials summed on the CPU, single-buffered",
    ),
    Strategy("zero_copy", "+ zero-copy", "same tiles and flow, DMA on the user's buffers (no operand copies)"),
    Strategy("scheduled", "+ cost-model schedule", "cost model's tiles/order/stationarity, single-buffered"),
    Strategy("double_buffer", "+ double buffering", "cost model's schedule, alternating A and accumulator banks"),
)
STRATEGY_KEYS = tuple(s.key for s in STRATEGIES)
BY_KEY = {s.key: s for s in STRATEGIES}

DEFAULT_BASELINE_TILE = 16

# Where the compiler's cost model may live (module, function names tried in order). The
# first that imports wins; its name goes into every row's ``schedule_source``.
COST_MODEL_MODULES = ("accel.compiler.costmodel", "accel.compiler.cost_model", "accel.compiler.schedule",
                      "accel.compiler")
COST_MODEL_FUNCTIONS = ("best_schedule", "choose_schedule", "pick_schedule", "select_schedule",
                        "search_schedule", "optimal_schedule")


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


def find_cost_model() -> tuple[Callable[..., Any] | None, str]:
    """The compiler's schedule picker, or (None, reason)."""
    for modname in COST_MODEL_MODULES:
        try:
            mod = importlib.import_module(modname)
        except ImportError:
            continue
        for fname in COST_MODEL_FUNCTIONS:
            fn = getattr(mod, fname, None)
            if callable(fn):
                return fn, f"{modname}.{fname}"
    return None, "runtime default_schedule (compiler cost model not available)"


def _as_schedule(obj: Any) -> Schedule:
    """Accept a Schedule, a (Schedule, ...) tuple, or an object/dict carrying one."""
    if isinstance(obj, Schedule):
        return obj
    if isinstance(obj, tuple) and obj and isinstance(obj[0], Schedule):
        return obj[0]
    sched = getattr(obj, "schedule", None)
    if isinstance(sched, Schedule):
        return sched
    if isinstance(obj, dict):
        if isinstance(obj.get("schedule"), Schedule):
            return obj["schedule"]
        fields = {f.name for f in dataclasses.fields(Schedule)}
        src = obj.get("schedule", obj)
        if isinstance(src, dict) and {"m", "n", "k", "tile_m", "tile_n", "tile_k"} <= set(src):
            return Schedule(**{k: v for k, v in src.items() if k in fields})
    raise TypeError(f"cost model returned {type(obj).__name__}, not a Schedule")


def cost_model_schedule(spec: Any, m: int, n: int, k: int, *,
                        double_buffer: bool | None = None) -> tuple[Schedule, str]:
    """THE hook for rungs 3/4: the cost model's best schedule for (spec, M, N, K).

    With ``double_buffer`` given, the cost model is asked for its best schedule *with that
    setting fixed* (its ``choose(..., fixed=...)``), so rung 3 is what it would pick without
    double buffering rather than rung 4 with the banks switched off; a cost model without a
    ``choose`` gets its pick with the flag overridden.
    """
    fn, source = find_cost_model()
    if fn is None:
        sched = default_schedule(spec, m, n, k)
    else:
        chooser = getattr(importlib.import_module(fn.__module__), "choose", None)
        if double_buffer is not None and callable(chooser):
            sched = _as_schedule(chooser(spec, m, n, k, fixed={"double_buffer": double_buffer, "staging": False}))
            source = f"{fn.__module__}.choose(fixed double_buffer={double_buffer})"
        else:
            sched = _as_schedule(fn(spec, m, n, k))
    if double_buffer is not None:
        sched = dataclasses.replace(sched, double_buffer=double_buffer)
    return dataclasses.replace(sched, staging=False), source


def schedule_for(key: str, spec: Any, m: int, n: int, k: int, *,
                 baseline_tile: int = DEFAULT_BASELINE_TILE) -> tuple[Schedule, str]:
    """(schedule, where it came from) of one rung."""
    base = baseline_schedule(spec, m, n, k, baseline_tile)
    if key == "baseline":
        return base, f"AXI4MLIR-style Ns, tile {baseline_tile}"
    if key == "zero_copy":
        return dataclasses.replace(base, staging=False), f"AXI4MLIR-style Ns, tile {baseline_tile}, zero-copy"
    return cost_model_schedule(spec, m, n, k, double_buffer=(key == "double_buffer"))


def describe(s: Schedule) -> str:
    """Compact one-line form: ``A 16x512x256 mn db`` / ``N 16x16x16 mn stg``."""
    flags = [s.order]
    if s.double_buffer:
        flags.append("db")
    if s.staging:
        flags.append("stg")
    tn, tk = min(s.tile_n, s.n), min(s.tile_k, s.k)
    return f"{s.stationarity} {min(s.tile_m, s.m)}x{tn}x{tk} " + " ".join(flags)
