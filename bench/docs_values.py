"""The named values the document templates quote, derived from the stamped result files.

:func:`values` maps every placeholder name to its text. The names say where a number comes from:

- ``bench.<spec>.<MxNxK>.<strategy>.<field>``: one row of ``docs/results/bench.json`` (fields in
  :func:`_row_values`); ``bench.<spec>.*`` summaries over a spec's shapes; ``bench.ladder.*``
  summaries over the whole sweep; ``bench.analysis.*`` the 256^3 z2 breakdown; ``bench.*_table``
  rendered tables;
- ``costmodel.*``: ``docs/results/costmodel.json`` (summary, per spec, the 256^3 z2 pick);
- ``resources.<spec>.*``: ``docs/results/estimate.json``;
- ``timing.<spec>.*``: ``docs/results/timing.json`` (the timing proxy; ``timing.table``);
- ``simspeed.<spec>.*``: ``docs/results/sim_speed.json``;
- ``models.*``: ``docs/results/models.json`` (whole models: ``models.table``, per row
  ``models.<model>.<variant>.<field>``);
- ``spec.<spec>.*``: the spec itself (array size, port width, clock, bus costs), which the result
  files' stamps pin by hash.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from accel.errors import InputError
from accel.overlays.spec import load_spec

from .core import TARGET_SHAPE, TARGET_SPEC, shape_str
from .report import fmt_bytes, fmt_int, fmt_time

TARGET = shape_str(TARGET_SHAPE)
SELECTED_SHAPES = ("64x64x64", TARGET, "200x220x240")  # the BENCHMARKS.md excerpt, on TARGET_SPEC
RUNG_SHORT = {"baseline": "baseline", "zero_copy": "+ zero-copy", "scheduled": "+ schedule",
              "double_buffer": "+ double buffer", "scatter_gather": "+ scatter-gather"}
LADDER_TOP = "double_buffer"


def g3(x: float) -> str:
    """Three significant digits, no trailing zeros (14.2, 1.12, 96.4)."""
    return f"{x:.3g}"


def _ms(seconds: float) -> str:
    return f"{g3(seconds * 1e3)} ms"


def _range(xs: Iterable[float]) -> str:
    xs = list(xs)
    return f"{g3(min(xs))}-{g3(max(xs))}" if xs else "-"


def _shape_label(shape: str) -> str:
    m, n, k = shape.split("x")
    return f"{m}^3" if m == n == k != "1" else shape


# ----------------------------------------------------------------------------- bench.json
def _row_values(r: Mapping[str, Any]) -> dict[str, str]:
    p, vb, c = r["projection"], r.get("vs_baseline") or {}, r.get("counters", {})
    return {
        "cycles": fmt_int(r["cycles"]),
        "bound": fmt_int(r["roofline"]["bound"]),
        "limit": r["roofline"]["limit"],
        "x_roofline": g3(r["cycles_over_bound"]),
        "busy": fmt_int(c.get("BUSY")),
        "schedule": r["schedule_str"],
        "tiles": fmt_int(r["tiles"]),
        "cycles_speedup": g3(vb["cycles_speedup"]) if vb.get("cycles_speedup") else "-",
        "proj_speedup": g3(vb["projected_speedup"]) if vb.get("projected_speedup") else "-",
        "cpu_copied": fmt_bytes(r["cpu_bytes_copied"]),
        "cpu_copied_mb": f"{r['cpu_bytes_copied'] / 1e6:.3g} MB" if r["cpu_bytes_copied"] else "0",
        "dma_bytes": fmt_bytes(r["ddr_bytes"]),
        "mmio_ops": fmt_int(r["mmio_ops"]),
        "dma_transfers": fmt_int(r["dma_transfers"]),
        "fabric_time": _ms(p["fabric_s"]),
        "host_time": _ms(p["host_s"]),
        "board_time": _ms(p["total_s"]),
        # the Python (pynq) driver profile next to the compiled one; the DMA build the row ran on
        "host_pynq_time": _ms(p["host_pynq_s"]),
        "board_pynq_time": _ms(p["total_pynq_s"]),
        "board_over_fabric": g3(p["total_s"] / p["fabric_s"]) if p["fabric_s"] else "-",
        "board_pynq_over_fabric": g3(p["total_pynq_s"] / p["fabric_s"]) if p["fabric_s"] else "-",
        "dma_mode": str(r.get("dma_mode", "simple")),
        "driver_calls": fmt_int(r.get("driver_calls", r["dma_transfers"])),
    }


def _rows_by(doc: Mapping[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    rows = {}
    for r in doc["rows"]:
        if "error" in r:
            raise InputError(f"docs/results/bench.json: {r['spec']} {r['shape_str']} {r['strategy']} failed "
                             f"({r['error']}): fix it and re-run the benchmark")
        rows[(r["spec"], r["shape_str"], r["strategy"])] = r
    return rows


def _selected_table(rows: Mapping[tuple[str, str, str], dict[str, Any]], spec: str) -> str:
    head = ("| shape | strategy | schedule | cycles | x | cyc/bound | DDR bytes | CPU copied | MMIO | DMA "
            "| fabric + host = proj. | x |")
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for shape in SELECTED_SHAPES:
        for i, key in enumerate(RUNG_SHORT):
            r = rows[(spec, shape, key)]
            p, vb = r["projection"], r["vs_baseline"]
            lines.append(
                f"| {_shape_label(shape) if i == 0 else ''} | {RUNG_SHORT[key]} | `{r['schedule_str']}` "
                f"| {fmt_int(r['cycles'])} | {vb['cycles_speedup']:.2f} | {r['cycles_over_bound']:.2f} "
                f"| {fmt_bytes(r['ddr_bytes'])} | {fmt_bytes(r['cpu_bytes_copied'])} | {fmt_int(r['mmio_ops'])} "
                f"| {fmt_int(r['dma_transfers'])} | {fmt_time(p['fabric_s'])} + {fmt_time(p['host_s'])} = "
                f"{fmt_time(p['total_s'])} | {vb['projected_speedup']:.1f} |")
    return "\n".join(lines)


def _targets_table(targets: Iterable[Mapping[str, Any]]) -> str:
    lines = ["| target | wanted | measured | met |", "|---|---|---|---|"]
    for t in targets:
        met = {True: "yes", False: "**no**", None: "n/a"}[t["met"]]
        lines.append(f"| {t['name']} | {t['target']} | {t['value']} | {met} |")
    return "\n".join(lines)


def _spec_summary(rows: Mapping[tuple[str, str, str], dict[str, Any]], spec: str) -> dict[str, str]:
    """Ranges of the full ladder's gains over a spec's shapes (multi-tile: the baseline splits them)."""
    shapes = sorted({s for (sp, s, _k) in rows if sp == spec}, key=lambda s: [int(d) for d in s.split("x")])
    multi = [s for s in shapes if rows[(spec, s, "baseline")]["tiles"] > 1]
    top = {s: rows[(spec, s, LADDER_TOP)] for s in shapes}
    speed = {s: top[s]["vs_baseline"]["cycles_speedup"] for s in multi}
    return {
        "shapes": str(len(shapes)),
        "top_cycles_speedup_range": _range(speed.values()),
        "top_proj_speedup_range": _range(top[s]["vs_baseline"]["projected_speedup"] for s in multi),
        "best_shape": _shape_label(max(speed, key=speed.__getitem__)) if speed else "-",
        "worst_shape": _shape_label(min(speed, key=speed.__getitem__)) if speed else "-",
        "single_tile_shapes": ", ".join(_shape_label(s) for s in shapes if s not in multi) or "none",
        "db_gain_range": _range(rows[(spec, s, "scheduled")]["cycles"] / top[s]["cycles"] for s in shapes),
    }


def _ladder_summary(rows: Mapping[tuple[str, str, str], dict[str, Any]]) -> dict[str, str]:
    """Rung 2 and rung 3 against the baseline over every (spec, shape)."""
    zc = [r for (_sp, _s, k), r in rows.items() if k == "zero_copy"]
    cuts = []
    for (sp, s, k), r in rows.items():
        base = rows[(sp, s, "baseline")]
        if k == "scheduled" and base["tiles"] > 1:
            cuts += [1 - r[f] / base[f] for f in ("dma_transfers", "mmio_ops")]
    return {
        "zero_copy_cycles_speedup_range": _range(r["vs_baseline"]["cycles_speedup"] for r in zc),
        "zero_copy_proj_speedup_range": _range(r["vs_baseline"]["projected_speedup"] for r in zc),
        "scheduled_cut_pct_range": _range(100 * c for c in cuts),
    }


def _analysis(rows: Mapping[tuple[str, str, str], dict[str, Any]]) -> dict[str, str]:
    """Where the top rung's cycles above the roofline go, at 256^3 on z2 (docs/BENCHMARKS.md)."""
    spec = load_spec(TARGET_SPEC)
    # the simple-mode ladder (rung 5, scatter-gather, has its own section)
    ladder = ("baseline", "zero_copy", "scheduled", "double_buffer")
    base, zc, sched, ours = (rows[(TARGET_SPEC, TARGET, k)] for k in ladder)
    m, n, _k = TARGET_SHAPE
    tile_m = min(ours["schedule"]["tile_m"], m)
    bound = ours["roofline"]["bound"]
    stream = math.ceil(ours["dma_bytes_in"] / spec.read_bytes_per_cycle)
    drain_bytes = tile_m * min(ours["schedule"]["tile_n"], n) * 4
    return {
        "extra_cycles": fmt_int(ours["cycles"] - bound),
        "stream_cycles": fmt_int(stream),
        "stream_extra": fmt_int(stream - bound),
        "stream_over_bound": f"{stream / bound:.2f}",
        "gap_cycles": fmt_int(ours["cycles"] - stream),
        "panels": str(math.ceil(m / tile_m)),
        "drain_cycles": fmt_int(drain_bytes // spec.write_bytes_per_cycle),
        "drain_kib": f"{drain_bytes / 1024:g} KiB",
        "db_gain": f"{sched['cycles'] / ours['cycles']:.2f}",
        "mmio_per_transfer": f"{ours['mmio_ops'] / ours['dma_transfers']:.0f}",
        "mmio_ratio": f"{base['mmio_ops'] / ours['mmio_ops']:.0f}",
        "zc_dma_over_base": f"{zc['ddr_bytes'] / base['ddr_bytes']:.1f}",
    }


def bench_values(doc: Mapping[str, Any]) -> dict[str, str]:
    rows = _rows_by(doc)
    out: dict[str, str] = {}
    for (spec, shape, key), r in rows.items():
        out.update({f"bench.{spec}.{shape}.{key}.{f}": v for f, v in _row_values(r).items()})
    cfg = doc["config"]
    for spec in cfg["specs"]:
        out.update({f"bench.{spec}.{f}": v for f, v in _spec_summary(rows, spec).items()})
        stats = doc["meta"].get("sim_stats", {}).get(spec, {})
        out[f"bench.{spec}.sim_mcps"] = f"{stats['cycles_per_second'] / 1e6:.2f}" if stats else "-"
    out.update({f"bench.ladder.{f}": v for f, v in _ladder_summary(rows).items()})
    out.update({f"bench.analysis.{f}": v for f, v in _analysis(rows).items()})
    probes = doc.get("probes", [])
    out.update({
        "bench.runs": str(len(doc["rows"])),
        "bench.correct": str(sum(1 for r in doc["rows"] if r.get("correct"))),
        "bench.probes": str(len(probes)),
        "bench.probes_correct": str(sum(1 for p in probes if p.get("correct"))),
        "bench.n_shapes": str(len(cfg["shapes"])),
        "bench.n_specs": str(len(cfg["specs"])),
        "bench.n_strategies": str(len(cfg["strategies"])),
        "bench.wall_min": f"{doc['summary']['wall_s'] / 60:.0f}",
        "bench.selected_table": _selected_table(rows, TARGET_SPEC),
        "bench.targets_table": _targets_table(doc["targets"]),
    })
    return out


# ----------------------------------------------------------------------------- the other results
def costmodel_values(doc: Mapping[str, Any]) -> dict[str, str]:
    s = doc["summary"]
    out = {
        "costmodel.runs": str(s["runs"]),
        "costmodel.pairs": str(s["shapes"]),
        "costmodel.pick_fastest": str(s["pick_fastest"]),
        "costmodel.max_error_pct": f"{s['max_abs_error'] * 100:.2f}",
        "costmodel.mean_error_pct": f"{s['mean_abs_error'] * 100:.2f}",
        "costmodel.mismatches": str(s["mismatches"]),
    }
    lines = ["| spec | runs | max abs error | mean abs error | pick is fastest |", "|---|---:|---:|---:|---:|"]
    for spec in doc["config"]["specs"]:
        t = s[spec]
        lines.append(f"| {spec} | {t['runs']} | {t['max_abs_error'] * 100:.2f}% | {t['mean_abs_error'] * 100:.2f}% "
                     f"| {t['pick_accuracy'] * 100:.0f}% |")
        for mode in doc["config"].get("dma_modes", ()):  # the per-DMA-mode split (sweeps since the SG model)
            t = s["by_mode"][f"{spec}/{mode}"]
            lines.append(f"| {spec}, {mode} DMA | {t['runs']} | {t['max_abs_error'] * 100:.2f}% | "
                         f"{t['mean_abs_error'] * 100:.2f}% | {t['pick_accuracy'] * 100:.0f}% |")
    out["costmodel.table"] = "\n".join(lines)
    pick = next((r for r in doc["rows"] if r["pick"] and r["spec"] == TARGET_SPEC
                 and r.get("dma_mode", "simple") == "simple" and shape_str(r["shape"]) == TARGET), None)
    if pick is not None:
        out["costmodel.target.pick_predicted"] = fmt_int(pick["predicted"])
        out["costmodel.target.pick_simulated"] = fmt_int(pick["simulated"])
        out["costmodel.target.pick_error_cycles"] = fmt_int(abs(pick["predicted"] - pick["simulated"]))
    return out


def estimate_values(doc: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    lines = ["| spec | part | LUT | FF | DSP | BRAM36 | fits |", "|---|---|---:|---:|---:|---:|---|"]
    for r in doc["results"]:
        used, util = r["used"], r["util"]
        pre = f"resources.{r['spec']}."
        out[pre + "lut"] = f"{used['LUT'] / 1000:.1f}k"
        out[pre + "ff"] = f"{used['FF'] / 1000:.1f}k"
        out[pre + "dsp"] = fmt_int(used["DSP"])
        out[pre + "bram36"] = f"{used['BRAM36']:g}"
        for res in ("LUT", "FF", "DSP", "BRAM36"):
            out[pre + f"{res.lower()}_pct"] = f"{util[res] * 100:.0f}%"
        cells = [f"{out[pre + k]} ({out[pre + k + '_pct']})" for k in ("lut", "ff", "dsp", "bram36")]
        lines.append(f"| {r['spec']} | {r['part']} | {' | '.join(cells)} | {'yes' if r['fits'] else '**no**'} |")
    out["resources.table"] = "\n".join(lines)
    return out


def timing_values(doc: Mapping[str, Any]) -> dict[str, str]:
    """The timing proxy per configuration: worst path against the clock's budget, max fanout."""
    out = {}
    lines = ["| spec | clock | budget | worst path (proxy) | logic levels | max data-net fanout | goal |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for r in doc["results"]:
        pre = f"timing.{r['spec']}."
        out[pre + "worst_ns"] = f"{r['worst_ns']:.2f}"
        out[pre + "budget_ns"] = f"{r['budget_ns']:g}"
        out[pre + "fabric_mhz"] = f"{r['fabric_mhz']:g}"
        out[pre + "max_fanout"] = fmt_int(r["max_fanout"])
        out[pre + "verdict"] = "meets" if r["ok"] else "misses"
        lines.append(f"| {r['spec']} | {out[pre + 'fabric_mhz']} MHz | {out[pre + 'budget_ns']} ns "
                     f"| {out[pre + 'worst_ns']} ns | {r['max_levels']} | {out[pre + 'max_fanout']} "
                     f"| {'meets' if r['ok'] else '**misses**'} |")
    out["timing.table"] = "\n".join(lines)
    return out


def sim_speed_values(doc: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    lines = ["| spec | cycles | M cycles/s (C++ wall) | M cycles/s (CPU) | M cycles/s (end to end) |",
             "|---|---:|---:|---:|---:|"]
    for r in doc["results"]:
        pre = f"simspeed.{r['spec']}."
        out[pre + "mcps_cpu"] = f"{r['cycles_per_cpu_second'] / 1e6:.1f}"
        out[pre + "mcps_wall"] = f"{r['cycles_per_second'] / 1e6:.1f}"
        out[pre + "mcps_end_to_end"] = f"{r['cycles_per_second_end_to_end'] / 1e6:.1f}"
        lines.append(f"| {r['spec']} | {fmt_int(r['cycles'])} | {out[pre + 'mcps_wall']} | {out[pre + 'mcps_cpu']} "
                     f"| {out[pre + 'mcps_end_to_end']} |")
    out["simspeed.table"] = "\n".join(lines)
    return out


def _samples_text(rows: Iterable[Mapping[str, Any]]) -> str:
    """How many held-out samples the accuracy columns are over ("the first 500 held-out samples
    (batched: its 250 rows of 4)"): a model whose held-out set is shorter, or has several samples
    per row, is named."""
    counts: dict[tuple[int, int], list[str]] = {}
    for r in rows:
        a = r.get("accuracy")
        if a:
            names = counts.setdefault((a["rows"], a["predictions"]), [])
            if r["model"] not in names:
                names.append(r["model"])
    if not counts:
        return "no held-out samples"
    main = max(counts, key=lambda k: len(counts[k]))
    text = f"the first {main[0]} held-out samples"
    others = [f"{', '.join(m)}: {n} rows of {p // n}" if p != n else f"{', '.join(m)}: {n}"
              for (n, p), m in counts.items() if (n, p) != main]
    return text + (f" ({'; '.join(others)})" if others else "")


def _agree_text(quant: list[Mapping[str, Any]]) -> str:
    """The lowest agreement with onnxruntime over the quantized models, and which model has it."""
    from .models import quant_label

    if not quant:
        return "no quantized model measured"
    worst = min(quant, key=lambda r: r["accuracy"]["agree"])
    if worst["accuracy"]["agree"] == 1.0:
        return "100% for every quantized model"
    return f"lowest: {worst['accuracy']['agree'] * 100:.1f}%, {worst['model']} {quant_label(worst['variant'])}"


def models_values(doc: Mapping[str, Any]) -> dict[str, str]:
    """``docs/results/models.json`` (``accel-run bench-models``): the whole-model table, the per-layer
    table of the CNN, and per-row values ``models.<model>.<variant>.<field>``."""
    from .models import layers_table, table

    cfg, s = doc["config"], doc["summary"]
    ok = [r for r in doc["rows"] if r["status"] == "ok"]
    quant = [r for r in ok if r["variant"] != "float" and r.get("accuracy")]
    out = {
        "models.table": table(doc),
        "models.cnn_layers_table": layers_table(doc, "cnn", "qop_u8s8"),
        "models.rows": str(s["models"]),
        "models.ok": str(s["ok"]),
        "models.failed": str(s["failed"]),
        "models.exact": "yes" if s["exact"] else "**no**",
        "models.spec": str(cfg["spec"]),
        "models.backend": str(doc["host"]["backend"]),
        "models.samples": _samples_text(ok),
        "models.accuracy_batch": str(cfg["batch"]),
        "models.ort_runs": str(cfg["ort_runs"]),
        "models.ort_version": str(doc["host"]["onnxruntime"]),
        "models.host_cpu": str(doc["host"]["cpu"]),
        "models.wall_s": f"{s['wall_s']:.0f}",
        "models.agree_text": _agree_text(quant),
        "models.full_share": str(sum(1 for r in quant if r["accel_share"] >= 1.0)),
        "models.quantized": str(len(quant)),
    }
    for r in ok:
        pre = f"models.{r['model']}.{r['variant']}."
        inf, p = r["inference"], r["projection"]
        native, pynq = p["profiles"]
        out.update({
            pre + "accel_share_pct": f"{r['accel_share'] * 100:.0f}",
            pre + "cycles": fmt_int(inf["cycles"]),
            pre + "host_steps": str(inf["host_steps"]),
            pre + "mmio_ops": fmt_int(inf["mmio_ops"]),
            pre + "dma_transfers": fmt_int(inf["dma_transfers"]),
            pre + "cpu_bytes": fmt_bytes(inf["cpu_bytes"]),
            pre + "cma": fmt_bytes(r["cma_bytes"]),
            pre + "board_time": fmt_time(p[native]["total_s"]),
            pre + "board_pynq_time": fmt_time(p[pynq]["total_s"]),
            pre + "fabric_time": fmt_time(p[native]["fabric_s"]),
            pre + "ort_time": fmt_time(r["ort"]["median_s"]) if "median_s" in r.get("ort", {}) else "-",
        })
        sg = r.get("sg", {})
        if "inference" in sg:
            out.update({
                pre + "sg_cycles": fmt_int(sg["inference"]["cycles"]),
                pre + "sg_mmio_ops": fmt_int(sg["inference"]["mmio_ops"]),
                pre + "sg_board_pynq_time": fmt_time(sg["projection"][pynq]["total_s"]),
            })
    return out


def spec_values(names: Iterable[str]) -> dict[str, str]:
    out = {}
    for name in names:
        s = load_spec(name)
        pre = f"spec.{name}."
        out.update({
            pre + "array": f"{s.rows}x{s.lanes}",
            pre + "hp_bits": str(s.read_bytes_per_cycle * 8),
            pre + "fabric_mhz": f"{s.fabric_mhz:g}",
            pre + "read_bytes_per_cycle": str(s.read_bytes_per_cycle),
            pre + "mmio_cycles": str(s.mmio_cycles),
            pre + "latency_cycles": str(s.latency_cycles),
        })
    return out


def values(results: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Every placeholder value, from the result files by name (``bench.json``, ``costmodel.json``, ...)."""
    out = bench_values(results["bench.json"])
    out.update(costmodel_values(results["costmodel.json"]))
    out.update(estimate_values(results["estimate.json"]))
    out.update(timing_values(results["timing.json"]))
    out.update(sim_speed_values(results["sim_speed.json"]))
    out.update(models_values(results["models.json"]))
    specs = {n for doc in results.values() for n in doc["stamp"]["specs"]}
    out.update(spec_values(sorted(specs)))
    return out
