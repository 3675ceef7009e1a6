"""Matmul benchmarks: the AXI4MLIR-style baseline and our ladder, side by side.

``accel-run bench`` runs four strategies, all driver programs on the same runtime and backend
(the Verilator-simulated accelerator by default):

1. AXI4MLIR-style baseline (Ns flow, 16-tiles, staging copies, single-buffered)
2. + zero-copy, 3. + cost-model schedule, 4. + double buffering

and report cycles against a roofline bound, DDR bytes, CPU bytes copied, MMIO ops, DMA
transfers, host wall time and a projected board time (fabric + counted host work, shown
separately). Every run is checked against numpy. See docs/BENCHMARKS.md.

The core (``core``, ``strategies``, ``report``) needs numpy + the runtime only; ``plots``
imports matplotlib when called. The room's other measurements: ``costmodel_sweep`` (cost model
vs simulator, ``accel-run bench-costmodel``) and ``sim_speed`` (``accel-run sim-speed``). Every
result file is stamped by ``provenance``; ``docs`` + ``docs_values`` render README.md and
docs/BENCHMARKS.md from templates and those files (``accel-run docs``).
"""

from __future__ import annotations

from .core import (
    FULL_SHAPES,
    FULL_SPECS,
    QUICK_SHAPES,
    QUICK_SPECS,
    TARGET_SHAPE,
    TARGET_SPEC,
    BenchConfig,
    BenchResult,
    parse_shape,
    roofline,
    run_bench,
    shape_str,
)
from .report import evaluate_targets, to_dict, to_markdown, write_json
from .strategies import STRATEGIES, STRATEGY_KEYS, baseline_schedule, cost_model_schedule, schedule_for

__all__ = [
    "FULL_SHAPES",
    "FULL_SPECS",
    "QUICK_SHAPES",
    "QUICK_SPECS",
    "STRATEGIES",
    "STRATEGY_KEYS",
    "TARGET_SHAPE",
    "TARGET_SPEC",
    "BenchConfig",
    "BenchResult",
    "baseline_schedule",
    "cost_model_schedule",
    "evaluate_targets",
    "parse_shape",
    "roofline",
    "run_bench",
    "schedule_for",
    "shape_str",
    "to_dict",
    "to_markdown",
    "write_json",
]
