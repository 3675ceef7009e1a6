"""Run the ablation ladder on the (simulated) accelerator and collect one row per run.

Every strategy is a driver program (``build_program``) executed by the same runtime
(``accel.runtime.Accelerator``) on the same backend; numpy only computes the reference
result each run is checked against. Needs numpy (+ pynq through the runtime) only.
"""

from __future__ import annotations

import hashlib
import math
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from accel.contract.hostcost import profiles_for
from accel.contract.lowering import build_program
from accel.errors import AccelError
from accel.overlays.spec import load_spec

from .provenance import git_state, now

if TYPE_CHECKING:
    from accel.runtime.executor import RunResult
from .strategies import (
    BY_KEY,
    DEFAULT_BASELINE_TILE,
    STRATEGY_KEYS,
    describe,
    schedule_for,
)

FORMAT = "pynq-accel/bench"
VERSION = 1

Shape = tuple[int, int, int]  # (M, N, K): A is MxK, B is KxN, C is MxN

POLYBENCH: tuple[Shape, ...] = ((20, 28, 32), (60, 72, 80), (200, 220, 240))
CUBES: tuple[Shape, ...] = tuple((s, s, s) for s in (16, 32, 64, 128, 256, 512))
TALL_SKINNY: tuple[Shape, ...] = ((1024, 16, 64), (8, 512, 512))
SIZE_ONE: tuple[Shape, ...] = ((1, 256, 256), (256, 1, 256), (256, 256, 1), (1, 1, 1))
FULL_SHAPES: tuple[Shape, ...] = POLYBENCH + CUBES + TALL_SKINNY + SIZE_ONE
QUICK_SHAPES: tuple[Shape, ...] = ((20, 28, 32), (64, 64, 64))
FULL_SPECS: tuple[str, ...] = ("z2_default", "kv260")
QUICK_SPECS: tuple[str, ...] = ("z2_default",)

TARGET_SPEC = "z2_default"
TARGET_SHAPE: Shape = (256, 256, 256)
C_SENTINEL = np.int32(0x5A5A5A5A)  # C is filled with this before each run: unwritten elements show


def shape_str(shape: Sequence[int]) -> str:
    return "x".join(str(int(d)) for d in shape)


def parse_shape(text: str) -> Shape:
    """``"MxNxK"`` -> (M, N, K)."""
    parts = text.lower().replace("*", "x").split("x")
    try:
        m, n, k = (int(p) for p in parts)
    except ValueError:
        raise ValueError(f"shape {text!r} must be MxNxK, e.g. 64x64x64") from None
    if min(m, n, k) < 1:
        raise ValueError(f"shape {text!r}: dimensions must be >= 1")
    return m, n, k


@dataclass
class BenchConfig:
    specs: Sequence[str] = FULL_SPECS
    shapes: Sequence[Shape] = FULL_SHAPES
    strategies: Sequence[str] = STRATEGY_KEYS
    baseline_tile: int = DEFAULT_BASELINE_TILE
    seed: int = 2024
    backend: str = "sim"
    quick: bool = False
    probes: bool = True  # extra runs for the target checks (MMIO ops vs tile count)
    numpy_repeats: int = 5

    @classmethod
    def quick_config(cls, **kw: Any) -> BenchConfig:
        kw.setdefault("specs", QUICK_SPECS)
        kw.setdefault("shapes", QUICK_SHAPES)
        kw.setdefault("probes", False)
        return cls(quick=True, **kw)


@dataclass
class BenchResult:
    config: BenchConfig
    rows: list[dict[str, Any]] = field(default_factory=list)
    probes: list[dict[str, Any]] = field(default_factory=list)
    epilogue: list[dict[str, Any]] = field(default_factory=list)  # bench.epilogue rows (target spec, with probes)
    meta: dict[str, Any] = field(default_factory=dict)
    wall_s: float = 0.0

    @property
    def mismatches(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if not r.get("correct")]

    @property
    def ok(self) -> bool:
        return not self.mismatches


# ----------------------------------------------------------------------------- metrics
def roofline(spec: Any, m: int, n: int, k: int) -> dict[str, int]:
    """Lower bound on fabric cycles: max(compute, minimum input traffic, minimum output traffic).

    compute = ceil(M/rows) * ceil(N/lanes) * K  (every array cycle consumes one B beat for up
    to rows x lanes MACs; partial panels/beats still take a cycle);
    input  = (M*K + K*N) / read_bytes_per_cycle  (A and B read once);
    output = M*N*4 / write_bytes_per_cycle       (C written once, int32).
    """
    R, L = spec.rows, spec.lanes
    compute = math.ceil(m / R) * math.ceil(n / L) * k
    rd = math.ceil((m * k + k * n) / spec.read_bytes_per_cycle)
    wr = math.ceil(m * n * 4 / spec.write_bytes_per_cycle)
    return {"compute": compute, "read": rd, "write": wr, "bound": max(compute, rd, wr),
            "limit": max((("compute", compute), ("read", rd), ("write", wr)), key=lambda t: t[1])[0]}


def _copy_calls(prog: Any) -> int:
    return sum(1 for e in list(prog.mm2s) + list(prog.s2mm) if e[3])


def _time_numpy(a: np.ndarray, b: np.ndarray, repeats: int) -> tuple[np.ndarray, float]:
    best = math.inf
    ref = None
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        ref = a.astype(np.int32) @ b.astype(np.int32)
        best = min(best, time.perf_counter() - t0)
    assert ref is not None
    return ref, best


# ----------------------------------------------------------------------------- runner
class _Operands:
    """The CMA operand buffers of one shape (shared by every strategy)."""

    def __init__(self, acc: Any, a: np.ndarray, b: np.ndarray):
        self.acc = acc
        self.a = acc.allocate(a.shape, np.int8)
        self.b = acc.allocate(b.shape, np.int8)
        self.c = acc.allocate((a.shape[0], b.shape[1]), np.int32)
        self.a[...] = a
        self.b[...] = b

    def free(self) -> None:
        for buf in (self.a, self.b, self.c):
            fn = getattr(buf, "freebuffer", None)
            if callable(fn):
                try:
                    fn()
                except Exception:  # pragma: no cover - freeing is best effort
                    pass


def _run_one(acc: Any, prog: Any, ops: _Operands, staging: bool) -> tuple[Any, np.ndarray, str]:
    """Execute on the CMA operands. Staging programs pack tiles out of them into scratch buffers
    (AXI4MLIR packs out of heap arrays: the same per-tile copies, counted by the runtime). Heap
    arrays are not passed: the runtime would copy them into CMA whole first, a copy AXI4MLIR
    does not make, which would inflate the baseline's counts."""
    del staging
    ops.c[...] = C_SENTINEL
    res = acc.run(prog, a=ops.a, b=ops.b, c=ops.c)
    # the run read CYCLES only (the default readout, so mmio_ops is what a user's run costs); the
    # other counters are still latched from its SNAPSHOT: read them for the report, outside the run
    res.counters.update({n: acc.accel.read_counter(n) for n in acc.spec.counters if n not in res.counters})
    return res, np.array(ops.c, copy=True), "cma"


def make_row(spec: Any, shape: Shape, key: str, sched: Any, source: str, prog: Any, res: RunResult,
             out: np.ndarray, ref: np.ndarray, numpy_s: float, operands: str) -> dict[str, Any]:
    """One benchmark row: counts, cycles, roofline, projection (ratios are added later)."""
    m, n, k = shape
    native, pyprof = profiles_for(spec.board)
    diff = out.astype(np.int64) - ref.astype(np.int64)
    bad = int(np.count_nonzero(diff))
    counters = dict(res.counters)
    cycles = int(res.cycles)
    stats = dict(prog.stats)
    cache_bytes = res.flush_bytes + res.invalidate_bytes
    counts = {
        "cpu_bytes_copied": res.cpu_bytes_copied,
        "cache_bytes": cache_bytes,
        "dma_transfers": res.dma_transfers,
        "driver_calls": res.driver_calls,
        "copy_calls": _copy_calls(prog),
        "mmio_ops": res.mmio_ops,
    }
    roof = roofline(spec, m, n, k)
    macs = m * n * k
    fabric_s = cycles / (spec.fabric_mhz * 1e6)
    host = native.host_seconds(counts)
    host_py = pyprof.host_seconds(counts)
    row: dict[str, Any] = {
        "spec": spec.name,
        "board": spec.board,
        "shape": [m, n, k],
        "shape_str": shape_str(shape),
        "macs": macs,
        "strategy": key,
        "label": BY_KEY[key].label,
        "dma_mode": res.dma_mode,
        "schedule": sched.to_dict(),
        "schedule_str": describe(sched),
        "schedule_source": source,
        "operands": operands,
        "tiles": int(stats.get("tiles", 0)),
        "instructions": int(stats.get("instructions", 0)),
        "cycles": cycles,
        "counters": counters,
        "roofline": roof,
        "bound_over_cycles": roof["bound"] / cycles if cycles else None,
        "cycles_over_bound": cycles / roof["bound"] if roof["bound"] else None,
        "mac_utilisation": macs / (cycles * spec.macs_per_cycle) if cycles else None,
        "ddr_bytes": res.ddr_bytes,
        # DMA bytes + every CPU-copied byte read once and written once (an upper estimate: caches
        # can absorb part of it); shown for context, the targets use the DMA figure above
        "ddr_bytes_incl_cpu": res.ddr_bytes + 2 * counts["cpu_bytes_copied"],
        "dma_bytes_in": int(stats.get("dma_bytes_in", 0)),
        "dma_bytes_out": int(stats.get("dma_bytes_out", 0)),
        **counts,
        "wall_s": res.wall_s,
        "numpy_s": numpy_s,
        "projection": {
            "fabric_s": fabric_s,
            "host_s": host["total"],
            "host_breakdown_s": {k_: v for k_, v in host.items() if k_ != "total"},
            "total_s": fabric_s + host["total"],
            "host_profile": native.name,
            "host_pynq_s": host_py["total"],
            "total_pynq_s": fabric_s + host_py["total"],
            "host_pynq_profile": pyprof.name,
            "cpu_only_s": macs * native.cpu_matmul_ns_per_mac * 1e-9,
        },
        "correct": bad == 0,
        "mismatches": bad,
        "max_abs_err": int(np.abs(diff).max()) if diff.size else 0,
        "c_sha256": hashlib.sha256(np.ascontiguousarray(out, dtype="<i4").tobytes()).hexdigest(),
        "runtime_result": res.to_dict(),
    }
    return row


def error_row(spec: Any, shape: Shape, key: str, sched: Any, source: str, exc: BaseException) -> dict[str, Any]:
    m, n, k = shape
    return {
        "spec": spec.name, "board": spec.board, "shape": [m, n, k], "shape_str": shape_str(shape),
        "macs": m * n * k, "strategy": key, "label": BY_KEY[key].label,
        "schedule": sched.to_dict() if sched is not None else None,
        "schedule_str": describe(sched) if sched is not None else "-",
        "schedule_source": source, "roofline": roofline(spec, m, n, k),
        "correct": False, "error": f"{type(exc).__name__}: {exc}",
    }


def add_ratios(rows: list[dict[str, Any]]) -> None:
    """Every row gets its ratio to the baseline row of the same (spec, shape)."""
    base = {(r["spec"], r["shape_str"]): r for r in rows if r["strategy"] == "baseline" and "error" not in r}
    for r in rows:
        b = base.get((r["spec"], r["shape_str"]))
        if b is None or "error" in r:
            r["vs_baseline"] = None
            continue

        def ratio(x: float, y: float) -> float | None:
            return x / y if y else None

        r["vs_baseline"] = {
            # speed-ups: baseline / this (> 1 is better)
            "cycles_speedup": ratio(b["cycles"], r["cycles"]),
            "projected_speedup": ratio(b["projection"]["total_s"], r["projection"]["total_s"]),
            "projected_pynq_speedup": ratio(b["projection"]["total_pynq_s"], r["projection"]["total_pynq_s"]),
            # fractions: this / baseline (< 1 is better)
            "ddr_bytes": ratio(r["ddr_bytes"], b["ddr_bytes"]),
            "cpu_bytes_copied": ratio(r["cpu_bytes_copied"], b["cpu_bytes_copied"]),
            "mmio_ops": ratio(r["mmio_ops"], b["mmio_ops"]),
            "dma_transfers": ratio(r["dma_transfers"], b["dma_transfers"]),
        }


def _open_accelerator(spec: Any, backend: str) -> Any:
    from accel.runtime import Accelerator  # imported here: the bench module imports without a runtime

    return Accelerator(backend=backend, spec=spec)


def _close(acc: Any) -> None:
    fn = getattr(acc, "close", None)
    if callable(fn):
        try:
            fn()
        except Exception:  # pragma: no cover
            pass


def run_shape(acc: Any, spec: Any, shape: Shape, cfg: BenchConfig,
              tick: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Every strategy of ``cfg`` on one shape. ``acc`` is one Accelerator, or a dict of them by
    DMA mode (``{"simple": ..., "sg": ...}``: each rung runs on the DMA build it names)."""
    m, n, k = shape
    accs = acc if isinstance(acc, dict) else {"simple": acc, "sg": acc}
    rng = np.random.default_rng([cfg.seed, m, n, k])
    a = rng.integers(-128, 128, size=(m, k), dtype=np.int8)
    b = rng.integers(-128, 128, size=(k, n), dtype=np.int8)
    ref, numpy_s = _time_numpy(a, b, cfg.numpy_repeats)
    rows = []
    ops: dict[str, _Operands] = {}  # per DMA mode: each simulator has its own memory
    try:
        for key in cfg.strategies:
            if tick:
                tick(f"{spec.name} {shape_str(shape)} {key}")
            sched = None
            source = "?"
            mode = BY_KEY[key].dma_mode
            try:
                if mode not in ops:
                    ops[mode] = _Operands(accs[mode], a, b)
                sched, source = schedule_for(key, spec, m, n, k, baseline_tile=cfg.baseline_tile)
                prog = build_program(spec, sched, name=f"bench_{key}")
                res, out, where = _run_one(accs[mode], prog, ops[mode], sched.staging)
                rows.append(make_row(spec, shape, key, sched, source, prog, res, out, ref, numpy_s, where))
            except AccelError as exc:
                rows.append(error_row(spec, shape, key, sched, source, exc))
    finally:
        for o in ops.values():
            o.free()
    return rows


def run_probes(acc: Any, spec: Any, shape: Shape, cfg: BenchConfig) -> list[dict[str, Any]]:
    """MMIO ops and DMA transfers of one matmul as the tile count changes (same shape).

    Our best schedule with tile_n = N, N/2, N/4, N/8 (the baseline's per-tile flow is in the
    main rows), so a reader sees what the MMIO count scales with.
    """
    import dataclasses

    m, n, k = shape
    rng = np.random.default_rng([cfg.seed, m, n, k])
    a = rng.integers(-128, 128, size=(m, k), dtype=np.int8)
    b = rng.integers(-128, 128, size=(k, n), dtype=np.int8)
    ref = a.astype(np.int32) @ b.astype(np.int32)
    ours, source = schedule_for("double_buffer", spec, m, n, k, baseline_tile=cfg.baseline_tile)
    variants = []
    for div in (1, 2, 4, 8):
        tn = max(spec.lanes, min(ours.tile_n, n) // div)
        if tn % spec.lanes == 0 or tn >= n:
            stat = ours.stationarity
            if stat == "A" and min(ours.tile_k, k) < k and tn < n:
                stat = "C"
            variants.append((f"ours tile_n={tn}", dataclasses.replace(ours, tile_n=tn, stationarity=stat)))
    out_rows = []
    ops = _Operands(acc, a, b)
    try:
        for name, sched in variants:
            try:
                prog = build_program(spec, sched, name="bench_probe")
                res, out, _ = _run_one(acc, prog, ops, sched.staging)
                mmio = res.mmio_ops
                out_rows.append({
                    "spec": spec.name, "shape_str": shape_str(shape), "variant": name,
                    "schedule_str": describe(sched), "schedule_source": source,
                    "tiles": int(prog.stats.get("tiles", 0)),
                    "dma_transfers": res.dma_transfers,
                    "mmio_ops": mmio, "cycles": res.cycles,
                    "correct": bool(np.array_equal(out, ref)),
                })
            except AccelError as exc:
                out_rows.append({"spec": spec.name, "shape_str": shape_str(shape), "variant": name,
                                 "schedule_str": describe(sched), "error": f"{type(exc).__name__}: {exc}"})
    finally:
        ops.free()
    return out_rows


def collect_meta(cfg: BenchConfig) -> dict[str, Any]:
    """What the markdown report's header says about the run (the result file's stamp has the rest)."""
    git = git_state()
    meta: dict[str, Any] = {
        "created": now(),
        "host": {"machine": platform.machine(), "python": platform.python_version(),
                 "numpy": np.__version__, "processor": platform.processor() or platform.machine()},
        "cost_model": "accel.contract.costmodel.choose",
    }
    if git["commit"]:
        meta["git"] = git["commit"][:7] + ("-dirty" if git["dirty"] else "")
    return meta


def run_bench(cfg: BenchConfig, *, progress: bool = True,
              log: Callable[[str], None] | None = None) -> BenchResult:
    """Run every (spec, shape, strategy) of ``cfg`` and return the rows (with ratios)."""
    from tqdm import tqdm

    t0 = time.perf_counter()
    result = BenchResult(config=cfg, meta=collect_meta(cfg))
    specs = [load_spec(s) for s in cfg.specs]
    total = len(specs) * len(cfg.shapes) * len(cfg.strategies)
    bar = tqdm(total=total, disable=not progress, unit="run", dynamic_ncols=True, leave=True)
    sim_stats = {}
    modes = sorted({BY_KEY[k].dma_mode for k in cfg.strategies} | {"simple"})
    try:
        for spec in specs:
            accs = {mode: _open_accelerator(spec.with_dma_mode(mode), cfg.backend) for mode in modes}
            acc = accs["simple"]
            try:
                for shape in cfg.shapes:
                    def tick(desc: str) -> None:
                        bar.set_description(desc)

                    rows = run_shape(accs, spec, shape, cfg, tick)
                    for r in rows:
                        bar.update(1)
                        if not r.get("correct"):
                            msg = r.get("error") or f"{r['mismatches']} wrong elements (max |err| {r['max_abs_err']})"
                            (log or bar.write)(f"MISMATCH {spec.name} {r['shape_str']} {r['strategy']}: {msg}")
                    result.rows.extend(rows)
                if cfg.probes and spec.name == TARGET_SPEC and TARGET_SHAPE in [tuple(s) for s in cfg.shapes]:
                    bar.set_description(f"{spec.name} {shape_str(TARGET_SHAPE)} probes")
                    result.probes.extend(run_probes(acc, spec, TARGET_SHAPE, cfg))
                if cfg.probes and spec.name == TARGET_SPEC:
                    from .epilogue import epilogue_rows

                    bar.set_description(f"{spec.name} epilogue variants")
                    result.epilogue.extend(epilogue_rows(acc, spec, cfg.seed))
                stats = getattr(getattr(acc, "sim", None), "stats", None)
                if callable(stats):
                    try:
                        sim_stats[spec.name] = stats()
                    except Exception:  # pragma: no cover
                        pass
            finally:
                for a in accs.values():
                    _close(a)
    finally:
        bar.close()
    add_ratios(result.rows)
    result.wall_s = time.perf_counter() - t0
    result.meta["bench_wall_s"] = result.wall_s
    if sim_stats:
        result.meta["sim_stats"] = sim_stats
    return result
