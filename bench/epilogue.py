"""Benchmark rows for the fused epilogue: one row per variant (int32 output, int8 output through
DRAIN_Q, uint8 A converted on the fly) and shape, with the cost model's prediction and — when the
overlay's RTL has the epilogue (``accel.contract.epilogue.supported``) — the measured run,
checked bit for bit against the golden model.

The variants share the default schedule of the shape, so the rows differ only in what the
epilogue changes: the output bytes (M*N instead of 4*M*N), the LOAD_EPI packets and the drain.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from accel.contract import epilogue as epi
from accel.contract.costmodel import predict_program
from accel.contract.lowering import build_program
from accel.contract.schedule import default_schedule
from accel.errors import AccelError

EPILOGUE_SHAPES: tuple[tuple[int, int, int], ...] = ((256, 256, 256), (256, 256, 1))  # (M, N, K)

#: variant -> (A dtype, matmul keywords besides scale/bias)
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "int32": ("int8", {"out_dtype": "int32"}),
    "int8_out": ("int8", {"out_dtype": "int8", "zero_point": -3}),
    "uint8_a_int8_out": ("uint8", {"out_dtype": "int8", "a_zero_point": 128, "clamp": (0, 127)}),
}


def epilogue_rows(acc: Any, spec: Any, seed: int, shapes: tuple[tuple[int, int, int], ...] = EPILOGUE_SHAPES,
                  ) -> list[dict[str, Any]]:
    """Predicted (and, when supported, measured) cost of every variant on every shape."""
    measured = epi.supported(spec)
    rows: list[dict[str, Any]] = []
    for m, n, k in shapes:
        rng = np.random.default_rng([seed, m, n, k, 8])
        sched = default_schedule(spec, m, n, k)
        bias = rng.integers(-(2**12), 2**12, size=n).astype(np.int32)
        for name, (a_dt, base) in VARIANTS.items():
            kw = dict(base, bias=bias)
            if kw["out_dtype"] != "int32":
                kw["scale"] = np.float32(1.0 / (64 * max(1, k)))
            prog = build_program(spec, sched, name=f"bench_epilogue_{name}", a_dtype=a_dt,
                                 out_dtype=kw["out_dtype"])
            pred = predict_program(spec, prog)
            row: dict[str, Any] = {
                "spec": spec.name, "shape": [m, n, k], "shape_str": f"{m}x{n}x{k}", "variant": name,
                "a_dtype": a_dt, "out_dtype": kw["out_dtype"], "predicted_cycles": pred.cycles,
                "dma_bytes_out": int(prog.stats["dma_bytes_out"]), "dma_bytes_in": int(prog.stats["dma_bytes_in"]),
                "instructions": int(prog.stats["instructions"]),
                "measured": measured or (a_dt == "int8" and kw["out_dtype"] == "int32"),  # today's fabric path
            }
            if row["measured"]:
                row.update(_measure(acc, rng, (m, n, k), a_dt, kw, pred.cycles))
            rows.append(row)
    return rows


def _measure(acc: Any, rng: np.random.Generator, shape: tuple[int, int, int], a_dt: str, kw: dict[str, Any],
             predicted: int) -> dict[str, Any]:
    m, n, k = shape
    info = np.iinfo(np.dtype(a_dt))
    a = acc.allocate((m, k), np.dtype(a_dt))
    b = acc.allocate((k, n), np.int8)
    try:
        a[:] = rng.integers(info.min, info.max, size=(m, k), endpoint=True).astype(a_dt)
        b[:] = rng.integers(-128, 128, size=(k, n)).astype(np.int8)
        call = {key: (np.dtype(v) if key == "out_dtype" else v) for key, v in kw.items()}
        try:
            out = np.array(acc.matmul(a, b, **call))
        except AccelError as exc:
            return {"correct": False, "error": f"{type(exc).__name__}: {exc}"}
        res = acc.last
        want = epi.matmul(np.asarray(a), np.asarray(b), **kw)
        return {
            "cycles": int(res.cycles), "correct": bool(np.array_equal(out, want)),
            "prediction_error": (predicted - res.cycles) / res.cycles if res.cycles else None,
            "bytes_out": int(res.counters.get("BYTES_OUT", acc.accel.read_counter("BYTES_OUT"))),
            "epilogue_host_bytes": int(res.stats.get("epilogue_host_bytes", 0)),
        }
    finally:
        for buf in (a, b):
            buf.freebuffer()


def markdown(rows: list[dict[str, Any]]) -> list[str]:
    """The report's epilogue section."""
    if not rows:
        return []
    lines = ["## Fused epilogue (int32 vs int8 output vs uint8 A)", "",
             "| spec | shape MxNxK | variant | predicted cycles | measured cycles | output DMA bytes | ok |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        if r.get("measured"):
            got = f"{r['cycles']:,}" if "cycles" in r else f"error: {r.get('error')}"
            ok = "yes" if r.get("correct") else "**NO**"
        else:
            got, ok = "- (RTL without the epilogue)", "-"
        lines.append(f"| {r['spec']} | {r['shape_str']} | {r['variant']} | {r['predicted_cycles']:,} | {got} | "
                     f"{r['dma_bytes_out']:,} | {ok} |")
    lines.append("")
    return lines
