"""Cost model vs simulator: predicted and simulated cycles over shapes x schedules, per spec.

For every (spec, shape) the sweep takes schedules (the scheduler's own candidates, a wider set
with halved/quartered tiles and half-height panels, staging variants and the AXI4MLIR-style Ns
baseline), runs each one on the Verilator model through the runtime (results checked against
numpy), and reports

- the prediction error |predicted - simulated| / simulated per run (goal: within 10%),
- whether the model's pick (``costmodel.choose``, what accel-schedule uses) is the fastest
  zero-copy schedule of the sweep by simulation (goal: >= 90% of shapes); staging schedules
  are reported but not in the pick's search space (their pack/unpack copies are host work the
  simulator does not time).

``accel-run bench-costmodel`` is the command; this module is the logic (shapes are MxNxK: A is
MxK, B is KxN).
"""

from __future__ import annotations

import platform
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from accel.contract import costmodel as cm
from accel.contract.lowering import build_program
from accel.errors import AccelError
from accel.overlays.spec import load_spec

from .core import parse_shape
from .strategies import baseline_schedule

FORMAT = "pynq-accel/costmodel-bench"
VERSION = 1
SHAPES = (
    "1x1x1", "5x3x7", "17x9x33", "20x28x32", "60x72x80", "64x64x64", "128x128x128", "200x220x240",
    "256x256x256", "37x600x45", "100x1100x70", "1024x16x64", "8x512x512", "1x256x256", "256x1x256",
    "256x256x1", "33x100x5000", "40x40x9000",
)
QUICK_SHAPES = ("5x3x7", "20x28x32", "64x64x64", "37x600x45", "33x100x5000")
SPECS = ("z2_default", "kv260")
DMA_MODES = ("simple", "sg")  # the AXI DMA's direct register mode and its scatter-gather mode
MAX_PACKETS = 3000  # keep tiny-tile schedules of big shapes out of the sweep (wall time)
# the fused epilogue (LOAD_EPI/DRAIN_Q): a small extra set, priced and simulated like the int32 runs;
# drain-bound shapes (K = 1) put the DRAIN_Q reader and the host's S2MM re-arm on the critical path
EPILOGUE_SHAPES = ("33x20x5", "17x9x1", "1x64x64", "64x64x1", "128x128x1", "256x256x1", "100x300x70", "128x600x32")
EPILOGUE_QUICK = ("33x20x5", "64x64x1", "100x300x70")
#: variant -> (A dtype, B dtype, output dtype, matmul keywords besides bias/scale)
EPILOGUE_VARIANTS: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "int8_out": ("int8", "int8", "int8", {"zero_point": -3}),
    "u8_ab_bzp_uint8_out": ("uint8", "uint8", "uint8", {"a_zero_point": 100, "b_zero_point": 120, "zero_point": 5}),
}
EPILOGUE_SCHEDULES = 3  # per shape: the default schedule, then the model's next best distinct programs
EPILOGUE_GOAL = 0.02  # the epilogue's prediction error budget (issue 12)


def describe(s: Any) -> str:
    flags = [s.order] + (["db"] if s.double_buffer else []) + (["stg"] if s.staging else [])
    return f"{s.stationarity} {min(s.tile_m, s.m)}x{min(s.tile_n, s.n)}x{min(s.tile_k, s.k)} " + " ".join(flags)


def sweep_schedules(spec: Any, m: int, n: int, k: int, limit: int) -> list[Any]:
    """The schedules to simulate for one shape (the pick first), each a distinct program."""
    pick = cm.choose(spec, m, n, k).schedule
    zero_copy = cm.rank(spec, m, n, k, exhaustive=True, max_packets=MAX_PACKETS)
    staged = cm.rank(spec, m, n, k, fixed={"staging": True}, exhaustive=True, max_packets=MAX_PACKETS)
    chosen: list[Any] = [pick]
    keys = {cm.program_key(_build(spec, pick))}

    def add(s: Any) -> None:
        key = cm.program_key(_build(spec, s))
        if key not in keys:
            keys.add(key)
            chosen.append(s)

    # the model's best few, then an even spread over the rest of its ranking (incl. its worst)
    zc = [r.schedule for r in zero_copy]
    head = zc[: max(3, limit // 3)]
    rest = zc[len(head):]
    step = max(1, len(rest) // max(1, limit - len(head)))
    for s in head + rest[::step] + rest[-1:]:
        if len(chosen) >= limit:
            break
        add(s)
    for s in [r.schedule for r in staged][:2]:
        add(s)
    try:
        add(baseline_schedule(spec, m, n, k))
    except AccelError:  # the baseline's tiles do not fit this shape/spec: nothing to compare
        pass
    return chosen


def _build(spec: Any, s: Any) -> Any:
    return build_program(spec, s)


def epilogue_schedules(spec: Any, m: int, n: int, k: int, limit: int = EPILOGUE_SCHEDULES) -> list[Any]:
    """Schedules of an epilogue shape: the runtime's default first, then the model's best zero-copy
    schedules (as ranked for int32), each building a distinct epilogue program."""
    from accel.contract.schedule import default_schedule

    out = [default_schedule(spec, m, n, k)]
    keys = {cm.program_key(build_program(spec, out[0], out_dtype="int8"))}
    for r in cm.rank(spec, m, n, k, max_packets=MAX_PACKETS):
        if len(out) >= limit:
            break
        if r.schedule.staging:
            continue
        key = cm.program_key(build_program(spec, r.schedule, out_dtype="int8"))
        if key not in keys:
            keys.add(key)
            out.append(r.schedule)
    return out


def run_epilogue(acc: Any, spec: Any, shapes: Sequence[tuple[int, int, int]], rng: np.random.Generator,
                 log: Callable[[str], None], dma_mode: str) -> list[dict[str, Any]]:
    """The epilogue set on one spec/mode: every variant x schedule of every shape, run through
    ``Accelerator.matmul`` (LOAD_EPI/DRAIN_Q programs) and checked against the golden model."""
    from accel.contract import epilogue as epi

    rows: list[dict[str, Any]] = []
    if not shapes:
        return rows
    if not epi.supported(spec):
        log(f"  {spec.name:<10} {dma_mode:<6} epilogue: RTL without the fused epilogue, skipped")
        return rows
    for m, n, k in shapes:
        bias = rng.integers(-(2**12), 2**12, size=n).astype(np.int32)
        for s in epilogue_schedules(spec, m, n, k):
            for name, (a_dt, b_dt, out_dt, base) in EPILOGUE_VARIANTS.items():
                prog = acc.program_for(m, n, k, s, a_dtype=a_dt, b_dtype=b_dt, out_dtype=out_dt)
                pred = cm.predict_program(spec, prog)
                a = acc.allocate((m, k), np.dtype(a_dt))
                b = acc.allocate((k, n), np.dtype(b_dt))
                try:
                    for buf in (a, b):
                        info = np.iinfo(buf.dtype)
                        buf[...] = rng.integers(info.min, info.max, size=buf.shape, endpoint=True)
                    kw = dict(base, bias=bias, scale=np.float32(1.0 / (64 * k)))
                    out = np.array(acc.matmul(a, b, schedule=s, out_dtype=np.dtype(out_dt), **kw))
                    res = acc.last
                    ok = bool(np.array_equal(out, epi.matmul(np.asarray(a), np.asarray(b), out_dtype=out_dt, **kw)))
                finally:
                    a.freebuffer()
                    b.freebuffer()
                err = (pred.cycles - res.cycles) / res.cycles
                rows.append({
                    "spec": spec.name, "dma_mode": dma_mode, "shape": [m, n, k], "schedule": s.to_dict(),
                    "describe": describe(s), "variant": name, "out_dtype": out_dt,
                    "predicted": int(pred.cycles), "simulated": int(res.cycles), "error": err, "correct": ok,
                })
                log(f"  {spec.name:<10} {dma_mode:<6} {m}x{n}x{k:<8} {describe(s):<28} {name:<20} pred "
                    f"{pred.cycles:>10} sim {res.cycles:>10} {err * 100:+6.2f}% {'ok' if ok else 'MISMATCH'}")
    return rows


def run_spec(spec_name: str, shapes: list[tuple[int, int, int]], limit: int, seed: int,
             log: Callable[[str], None], dma_mode: str = "simple",
             epilogue: Sequence[tuple[int, int, int]] = ()) -> dict[str, Any]:
    """Simulate the sweep of every shape on one spec with its AXI DMA in ``dma_mode``:
    ``{"rows": [...], "picks": [...], "epilogue_rows": [...]}`` (the model prices the mode the
    spec says; ``epilogue``: the shapes of the fused-epilogue set)."""
    from accel.runtime import Accelerator  # the simulator: only when a sweep runs

    spec = load_spec(spec_name).with_dma_mode(dma_mode)
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    picks: list[dict[str, Any]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        acc = Accelerator(backend="sim", spec=spec)
    try:
        for m, n, k in shapes:
            t0 = time.perf_counter()
            a = acc.allocate((m, k), np.int8)
            b = acc.allocate((k, n), np.int8)
            c = acc.allocate((m, n), np.int32)
            a[...] = rng.integers(-128, 128, (m, k))
            b[...] = rng.integers(-128, 128, (k, n))
            ref = (a.astype(np.int64) @ b.astype(np.int64)).astype(np.int32)
            scheds = sweep_schedules(spec, m, n, k, limit)
            shape_rows = []
            for i, s in enumerate(scheds):
                prog = _build(spec, s)
                pred = cm.predict_program(spec, prog)
                c[...] = 0x5A5A5A5A
                res = acc.run(prog, a=a, b=b, c=c)
                ok = bool(np.array_equal(c, ref))
                err = (pred.cycles - res.cycles) / res.cycles
                row = {
                    "spec": spec.name, "dma_mode": dma_mode, "shape": [m, n, k], "schedule": s.to_dict(),
                    "describe": describe(s),
                    "pick": i == 0, "predicted": int(pred.cycles), "simulated": int(res.cycles),
                    "error": err, "correct": ok, "transfers": prog.transfers,
                    "cpu_bytes_copied": int(res.cpu_bytes_copied),
                }
                rows.append(row)
                shape_rows.append(row)
                log(f"  {spec.name:<10} {dma_mode:<6} {m}x{n}x{k:<8} {describe(s):<28} pred {pred.cycles:>10} "
                    f"sim {res.cycles:>10} {err * 100:+6.2f}% {'ok' if ok else 'MISMATCH'}"
                    f"{'  <- pick' if i == 0 else ''}")
            for buf in (a, b, c):
                buf.freebuffer()
            # what the pick competes with: zero-copy schedules, and in SG mode also the staged ones whose
            # packs/unpacks the descriptors do (they copy nothing)
            zc = [r for r in shape_rows if not r["schedule"]["staging"]
                  or (dma_mode == "sg" and r["cpu_bytes_copied"] == 0)]
            best = min(r["simulated"] for r in zc)
            pick_row = shape_rows[0]
            picks.append({
                "spec": spec.name, "dma_mode": dma_mode, "shape": [m, n, k], "pick": pick_row["describe"],
                "pick_simulated": pick_row["simulated"], "best_simulated": best,
                "best": next(r["describe"] for r in zc if r["simulated"] == best),
                "pick_is_fastest": pick_row["simulated"] <= best,
                "pick_gap": (pick_row["simulated"] - best) / best,
                "swept": len(shape_rows), "wall_s": time.perf_counter() - t0,
            })
        epi_rows = run_epilogue(acc, spec, epilogue, rng, log, dma_mode)
    finally:
        acc.close()
    return {"rows": rows, "picks": picks, "epilogue_rows": epi_rows}


def summarise(rows: list[dict[str, Any]], picks: list[dict[str, Any]]) -> dict[str, Any]:
    errs = np.array([abs(r["error"]) for r in rows]) if rows else np.zeros(1)
    out: dict[str, Any] = {
        "runs": len(rows),
        "mismatches": sum(1 for r in rows if not r["correct"]),
        "max_abs_error": float(errs.max()),
        "mean_abs_error": float(errs.mean()),
        "within_10pct": float((errs <= 0.10).mean()),
        "within_5pct": float((errs <= 0.05).mean()),
        "shapes": len(picks),
        "pick_fastest": sum(1 for p in picks if p["pick_is_fastest"]),
        "pick_accuracy": (sum(1 for p in picks if p["pick_is_fastest"]) / len(picks)) if picks else 0.0,
        "pick_within_1pct": (sum(1 for p in picks if p["pick_gap"] <= 0.01) / len(picks)) if picks else 0.0,
    }
    for spec in sorted({r["spec"] for r in rows}):
        e = np.array([abs(r["error"]) for r in rows if r["spec"] == spec])
        ps = [p for p in picks if p["spec"] == spec]
        out[spec] = {"runs": int(e.size), "max_abs_error": float(e.max()), "mean_abs_error": float(e.mean()),
                     "pick_accuracy": sum(p["pick_is_fastest"] for p in ps) / len(ps)}
    out["by_mode"] = {}
    for key in sorted({(r["spec"], _mode(r)) for r in rows}):
        e = np.array([abs(r["error"]) for r in rows if (r["spec"], _mode(r)) == key])
        ps = [p for p in picks if (p["spec"], _mode(p)) == key]
        out["by_mode"]["/".join(key)] = {
            "spec": key[0], "dma_mode": key[1], "runs": int(e.size), "max_abs_error": float(e.max()),
            "mean_abs_error": float(e.mean()), "pick_accuracy": sum(p["pick_is_fastest"] for p in ps) / len(ps)}
    return out


def summarise_epilogue(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The epilogue set's prediction error, overall and per spec/DMA mode."""
    def stats(sel: list[dict[str, Any]]) -> dict[str, Any]:
        e = np.array([abs(r["error"]) for r in sel]) if sel else np.zeros(1)
        return {"runs": len(sel), "mismatches": sum(1 for r in sel if not r["correct"]),
                "max_abs_error": float(e.max()), "mean_abs_error": float(e.mean()),
                "within_goal": float((e <= EPILOGUE_GOAL).mean())}

    out = stats(rows)
    out["goal"] = EPILOGUE_GOAL
    out["by_mode"] = {"/".join(key): dict(stats([r for r in rows if (r["spec"], _mode(r)) == key]),
                                          spec=key[0], dma_mode=key[1])
                      for key in sorted({(r["spec"], _mode(r)) for r in rows})}
    return out


def _mode(row: dict[str, Any]) -> str:
    return str(row.get("dma_mode", "simple"))  # result files written before the SG sweep: simple mode


def markdown(doc: dict[str, Any]) -> str:
    s = doc["summary"]
    lines = [
        "## Cost model vs simulator",
        "",
        f"{s['runs']} simulated runs over {s['shapes']} (spec, shape) pairs; results checked against numpy "
        f"({s['mismatches']} mismatches).",
        "",
        "| spec | runs | max abs error | mean abs error | pick is fastest |",
        "|---|---:|---:|---:|---:|",
    ]
    for spec in doc["config"]["specs"]:
        if spec in s:
            t = s[spec]
            lines.append(f"| {spec} | {t['runs']} | {t['max_abs_error'] * 100:.2f}% | {t['mean_abs_error'] * 100:.2f}% "
                         f"| {t['pick_accuracy'] * 100:.0f}% |")
        for mode in doc["config"].get("dma_modes", ()):
            t = s.get("by_mode", {}).get(f"{spec}/{mode}")
            if t:
                lines.append(f"| {spec}, {mode} DMA | {t['runs']} | {t['max_abs_error'] * 100:.2f}% | "
                             f"{t['mean_abs_error'] * 100:.2f}% | {t['pick_accuracy'] * 100:.0f}% |")
    lines += [
        f"| **all** | {s['runs']} | {s['max_abs_error'] * 100:.2f}% | {s['mean_abs_error'] * 100:.2f}% | "
        f"{s['pick_accuracy'] * 100:.0f}% ({s['pick_fastest']}/{s['shapes']}) |",
        "",
        f"Runs within 10%: {s['within_10pct'] * 100:.1f}% (goal: all); within 5%: {s['within_5pct'] * 100:.1f}%. "
        f"Pick within 1% of the fastest: {s['pick_within_1pct'] * 100:.0f}% (goal for exact: >= 90%).",
        "",
        "| spec | DMA | shape (MxNxK) | model's pick | simulated | fastest swept | simulated | gap | swept |",
        "|---|---|---|---|---:|---|---:|---:|---:|",
    ]
    for p in doc["picks"]:
        lines.append(
            f"| {p['spec']} | {_mode(p)} | {'x'.join(map(str, p['shape']))} | {p['pick']} | {p['pick_simulated']} | "
            f"{p['best']} | {p['best_simulated']} | {p['pick_gap'] * 100:.1f}% | {p['swept']} |"
        )
    lines += _epilogue_markdown(doc)
    lines += [
        "",
        "| spec | DMA | shape | schedule | predicted | simulated | error |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    for r in doc["rows"]:
        pick = " (pick)" if r["pick"] else ""
        lines.append(f"| {r['spec']} | {_mode(r)} | {'x'.join(map(str, r['shape']))} | {r['describe']}{pick} "
                     f"| {r['predicted']} | {r['simulated']} | {r['error'] * 100:+.2f}% |")
    return "\n".join(lines) + "\n"


def _epilogue_markdown(doc: dict[str, Any]) -> list[str]:
    e = doc["summary"].get("epilogue")
    if not e or not e["runs"]:
        return []
    lines = ["", f"Fused epilogue (LOAD_EPI/DRAIN_Q, int8/uint8 output): {e['runs']} runs, {e['mismatches']} "
             f"mismatches against the golden model; goal: every prediction within {e['goal'] * 100:.0f}%.", "",
             "| spec | DMA | runs | max abs error | mean abs error | within goal |", "|---|---|---:|---:|---:|---:|"]
    for t in e["by_mode"].values():
        lines.append(f"| {t['spec']} | {t['dma_mode']} | {t['runs']} | {t['max_abs_error'] * 100:.2f}% | "
                     f"{t['mean_abs_error'] * 100:.2f}% | {t['within_goal'] * 100:.0f}% |")
    lines += ["", "| spec | DMA | shape | schedule | variant | predicted | simulated | error |",
              "|---|---|---|---|---|---:|---:|---:|"]
    for r in doc.get("epilogue_rows", []):
        lines.append(f"| {r['spec']} | {_mode(r)} | {'x'.join(map(str, r['shape']))} | {r['describe']} | "
                     f"{r['variant']} | {r['predicted']} | {r['simulated']} | {r['error'] * 100:+.2f}% |")
    return lines




def run_sweep(specs: Sequence[str], shapes: Sequence[str], schedules: int, seed: int,
              log: Callable[[str], None], dma_modes: Sequence[str] = DMA_MODES,
              epilogue: Sequence[str] = EPILOGUE_SHAPES) -> dict[str, Any]:
    """The whole sweep as one JSON-ready document (config, summary, picks, rows, epilogue rows),
    every spec in every DMA mode of ``dma_modes``; ``epilogue``: the fused-epilogue shapes."""
    parsed = [parse_shape(s) for s in shapes]
    epi_parsed = [parse_shape(s) for s in epilogue]
    t0 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    picks: list[dict[str, Any]] = []
    epi_rows: list[dict[str, Any]] = []
    for spec in specs:
        for mode in dma_modes:
            res = run_spec(spec, parsed, schedules, seed, log, mode, epi_parsed)
            rows += res["rows"]
            picks += res["picks"]
            epi_rows += res["epilogue_rows"]
    summary = summarise(rows, picks)
    summary["epilogue"] = summarise_epilogue(epi_rows)
    return {
        "format": FORMAT,
        "version": VERSION,
        "model": cm.MODEL_VERSION,
        "timing": dict(cm.DEFAULT_TIMING.__dict__),
        "config": {"specs": list(specs), "dma_modes": list(dma_modes), "shapes": list(shapes),
                   "schedules_per_shape": schedules, "seed": seed, "epilogue_shapes": list(epilogue),
                   "epilogue_variants": list(EPILOGUE_VARIANTS)},
        "host": {"python": platform.python_version(), "machine": platform.machine()},
        "wall_s": time.perf_counter() - t0,
        "summary": summary,
        "picks": picks,
        "rows": rows,
        "epilogue_rows": epi_rows,
    }


def passed(doc: dict[str, Any]) -> bool:
    """The sweep's goals: every result correct, every prediction within 10%, pick fastest >= 90%;
    every epilogue result correct and predicted within ``EPILOGUE_GOAL``."""
    s = doc["summary"]
    e = s.get("epilogue", {"mismatches": 0, "within_goal": 1.0})
    return (s["mismatches"] == 0 and s["within_10pct"] == 1.0 and s["pick_accuracy"] >= 0.9
            and e["mismatches"] == 0 and e["within_goal"] == 1.0)
