"""matplotlib (Agg) figures: the ablation ladder per shape and a roofline plot.

Imported only when plots are asked for (matplotlib is a dev dependency, not a board one).
"""

from __future__ import annotations

import os
from typing import Any

from .core import BenchResult
from .strategies import STRATEGIES

COLORS = {"baseline": "#7f7f7f", "zero_copy": "#1f77b4", "scheduled": "#ff7f0e", "double_buffer": "#2ca02c",
          "scatter_gather": "#9467bd"}
MARKERS = {"baseline": "s", "zero_copy": "^", "scheduled": "o", "double_buffer": "D", "scatter_gather": "v"}


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _shapes(result: BenchResult, spec: str) -> list[str]:
    out: list[str] = []
    for r in result.rows:
        if r["spec"] == spec and r["shape_str"] not in out:
            out.append(r["shape_str"])
    return out


def _specs(result: BenchResult) -> list[str]:
    return [s for s in result.config.specs if any(r["spec"] == s for r in result.rows)]


def ladder_plot(result: BenchResult, path: str) -> str:
    """Per spec: grouped bars per shape, one bar per rung, speed-up over the baseline
    in fabric cycles (top) and in projected board time (bottom), log scale."""
    plt = _plt()
    specs = _specs(result)
    keys = [s.key for s in STRATEGIES if s.key in result.config.strategies]
    labels = {s.key: s.label for s in STRATEGIES}
    nshapes = max((len(_shapes(result, s)) for s in specs), default=1)
    fig, axes = plt.subplots(2 * len(specs), 1, figsize=(max(8.0, 0.7 * nshapes + 2.5), 3.8 * 2 * len(specs)),
                             squeeze=False)
    width = 0.8 / max(1, len(keys))
    for col, spec in enumerate(specs):
        shapes = _shapes(result, spec)
        for row, (metric, title) in enumerate((("cycles_speedup", "fabric cycles"),
                                               ("projected_speedup", "projected board time (fabric + host)"))):
            ax = axes[2 * col + row][0]
            for i, key in enumerate(keys):
                xs, ys = [], []
                for j, sh in enumerate(shapes):
                    r = next((r for r in result.rows if r["spec"] == spec and r["shape_str"] == sh
                              and r["strategy"] == key), None)
                    v = (r or {}).get("vs_baseline") or {}
                    if v.get(metric):
                        xs.append(j + (i - (len(keys) - 1) / 2) * width)
                        ys.append(v[metric])
                ax.bar(xs, ys, width, color=COLORS.get(key), label=labels[key])
            ax.axhline(1.0, color="black", lw=0.8)
            ax.set_yscale("log")
            ax.set_xticks(range(len(shapes)))
            ax.set_xticklabels(shapes, rotation=45, ha="right", fontsize=8)
            ax.set_ylabel("speed-up vs AXI4MLIR-style baseline (x)")
            ax.set_title(f"{spec}: {title}", fontsize=10)
            ax.grid(axis="y", which="both", alpha=0.3)
            if row == 0 and col == 0:
                ax.legend(fontsize=8, loc="upper left")
    fig.suptitle("Ablation ladder (each rung adds one technique; projected time is a projection)", fontsize=11)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def roofline_plot(result: BenchResult, path: str) -> str:
    """Achieved MAC/cycle vs arithmetic intensity (MACs per byte the DMA read from DDR),
    against the array's compute roof and the read-bandwidth roof, one panel per spec."""
    from accel.overlays.spec import load_spec

    plt = _plt()
    specs = _specs(result)
    fig, axes = plt.subplots(1, len(specs), figsize=(7.0 * len(specs), 5.5), squeeze=False)
    labels = {s.key: s.label for s in STRATEGIES}
    for col, name in enumerate(specs):
        spec = load_spec(name)
        ax = axes[0][col]
        pts = [r for r in result.rows if r["spec"] == name and "error" not in r and r.get("cycles")]
        ai = [r["macs"] / max(1, r["dma_bytes_in"]) for r in pts]
        lo = min(ai + [0.1]) / 2
        hi = max(ai + [spec.rows * 4.0]) * 2
        peak = spec.macs_per_cycle
        knee = peak / spec.read_bytes_per_cycle
        ax.plot([lo, knee, hi], [lo * spec.read_bytes_per_cycle, peak, peak], color="black", lw=1.5,
                label=f"roof: {peak} MAC/cycle, {spec.read_bytes_per_cycle} B/cycle read")
        for key in [s.key for s in STRATEGIES]:
            sel = [(a, r) for a, r in zip(ai, pts, strict=True) if r["strategy"] == key]
            if not sel:
                continue
            ax.scatter([a for a, _ in sel], [r["macs"] / r["cycles"] for _, r in sel], s=28,
                       color=COLORS.get(key), marker=MARKERS.get(key, "o"), label=labels[key], alpha=0.85,
                       edgecolors="none")
        # label the top rung's points with their shapes
        for a, r in zip(ai, pts, strict=True):
            if r["strategy"] == "double_buffer":
                ax.annotate(r["shape_str"], (a, r["macs"] / r["cycles"]), fontsize=6, xytext=(3, 2),
                            textcoords="offset points")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lo, hi)
        ax.set_xlabel("arithmetic intensity: MACs per byte read by the DMA (MM2S)")
        ax.set_ylabel("achieved MACs per fabric cycle")
        ax.set_title(f"{name}: {spec.rows}x{spec.lanes} array @ {spec.fabric_mhz:g} MHz", fontsize=10)
        ax.grid(which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle("Roofline (simulated cycles; the input stream feeds the array, so the read roof applies)",
                 fontsize=11)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_plots(result: BenchResult, outdir: str) -> list[str]:
    return [ladder_plot(result, os.path.join(outdir, "ladder.png")),
            roofline_plot(result, os.path.join(outdir, "roofline.png"))]
