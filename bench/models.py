"""Whole quantized models on the accelerator: what one inference costs, model by model.

``accel-run bench-models`` compiles small trained models (the model zoo, :mod:`accel.bench.zoo`,
which the test suite uses too: an MLP, a Gemm pair, a batched MatMul and a CNN, each as a float model
and as onnxruntime's quantizer writes it in its three formats) into model programs
(:mod:`accel.contract.model`) and measures, in one run on the simulator (or the board):

- at batch 1, one inference: the accelerator's share of the MACs, fabric cycles (the CYCLES
  counter, summed and per layer), host steps, register accesses, DMA transfers and driver
  calls, CPU bytes (graph inputs in, outputs out, everything host steps read and write, and any
  copy around an accelerator step: none, the arena is shared), the CMA the program needs, and
  whether the outputs equal the program's own CPU reference bit for bit;
- a projected board time with both host profiles of the spec's board
  (:mod:`accel.contract.hostcost`): fabric cycles at the fabric clock, plus the host work of the
  accelerator steps (driver calls, cache maintenance, CPU-side register accesses), plus every
  host step priced from :func:`accel.contract.hostops.cost` (see :func:`host_step_ns`), plus the
  graph input/output copies. A projection, labelled as one: the simulator times the fabric only;
- top-1 accuracy on a held-out subset, next to onnxruntime's on the same samples, and the share
  of predictions on which both agree (the program compiled at ``--batch``, the subset run in
  chunks of that size, every chunk also checked bit for bit against the CPU reference);
- onnxruntime's own wall time for one inference on the machine running the benchmark (median of
  several runs, one thread), for scale only: it is the host's x86 CPU, not the board's ARM.

A model that does not compile (or does not run) is a row whose ``error`` says why in one line,
not a crash. The zoo needs onnx and onnxruntime (the ``dev`` extras, host only: the board path
never imports them).
"""

from __future__ import annotations

import math
import platform
import statistics
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from accel.contract import hostops
from accel.contract.hostcost import HostProfile, profiles_for
from accel.errors import AccelError, InputError
from accel.overlays.spec import load_spec

from . import zoo

FORMAT = "pynq-accel/models-bench"
VERSION = 1
MODELS = ("mlp", "gemm", "batched", "cnn")
SAMPLES = 500
QUICK_SAMPLES = 100
QUICK_MODELS = ("mlp",)
QUICK_VARIANTS = ("float", "qop_u8s8")

Log = Callable[[str], None]


@dataclass(frozen=True)
class ModelCase:
    """One model to measure: an ONNX file and, for accuracy, held-out inputs and labels."""

    name: str
    variant: str
    path: Path | None
    x: np.ndarray | None = None  # held-out inputs, samples on the first axis
    y: np.ndarray | None = None  # their labels (class indices; the last axis of the logits)
    skip: str | None = None  # why this case is not measured (the row says so)


@dataclass
class ModelsConfig:
    spec: str = "z2_default"
    backend: str = "auto"
    samples: int = SAMPLES  # held-out samples for accuracy (rows of the input's first axis)
    batch: int = 100  # the batch the accuracy program is compiled for
    ort_runs: int = 30  # onnxruntime timing: the median of this many runs
    seed: int = 2024  # random inputs of a case without data
    models: tuple[str, ...] = MODELS
    variants: tuple[str, ...] | None = None  # None: every variant of the zoo (float and each quantization)
    extra: tuple[str, ...] = field(default_factory=tuple)  # .onnx files measured without accuracy
    sg: bool = True  # simulator: also measure each inference with a scatter-gather DMA, chained

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec, "backend": self.backend, "samples": self.samples, "batch": self.batch,
                "ort_runs": self.ort_runs, "seed": self.seed, "models": list(self.models),
                "variants": list(self.variants) if self.variants is not None else None, "extra": list(self.extra),
                "sg": self.sg}


# ----------------------------------------------------------------------------- the cases
def zoo_cases(models: Sequence[str], variants: Sequence[str] | None, samples: int) -> list[ModelCase]:
    """The zoo's (model, variant) pairs (``variants`` None: all), built (and cached) by ``zoo.build``,
    each with the first ``samples`` rows of its held-out set. A pair the zoo excludes is a case
    that says why."""
    variants = tuple(zoo.VARIANTS) if variants is None else tuple(variants)
    unknown = [m for m in models if m not in zoo.MODELS] + [v for v in variants if v not in zoo.VARIANTS]
    if unknown:
        raise InputError(f"unknown model(s)/variant(s) {', '.join(unknown)}; models: {', '.join(zoo.MODELS)}; "
                         f"variants: {', '.join(zoo.VARIANTS)}")
    out = []
    for m in models:
        _xtr, _ytr, xte, yte = zoo.dataset(m)
        for v in variants:
            if (m, v) in zoo.EXCLUDED:
                out.append(ModelCase(m, v, None, skip=zoo.EXCLUDED[(m, v)]))
                continue
            out.append(ModelCase(m, v, zoo.build(m, v), xte[:samples], yte[:samples]))
    return out


def file_cases(paths: Sequence[str]) -> list[ModelCase]:
    """User models (no labels: measured on random inputs, no accuracy)."""
    return [ModelCase(Path(p).stem, "file", Path(p)) for p in paths]


# ----------------------------------------------------------------------------- pricing
def host_step_ns(profile: HostProfile, cost: dict[str, int]) -> float:
    """Projected time of one host step on ``profile``'s CPU (ns): one call (``copy_call_ns``: a
    compiled loop's set-up, or one numpy call from Python for the pynq profile), its bytes read and
    written at memcpy speed (``copy_ns_per_byte``: numpy's elementwise ops on these small tensors are
    memory-bound streams), and its MACs, if it is a matmul/conv on the CPU, at the CPU-only matmul
    rate (``cpu_matmul_ns_per_mac``)."""
    return (profile.copy_call_ns + (cost["bytes_read"] + cost["bytes_written"]) * profile.copy_ns_per_byte
            + cost["macs"] * profile.cpu_matmul_ns_per_mac)


def step_cost(mp: Any, step: dict[str, Any]) -> dict[str, int]:
    """:func:`accel.contract.hostops.cost` of a host step of a model program (shapes and dtypes
    from its tensors, values of its weights). An op whose shape inference needs a value that is
    not a weight is priced from the program's own tensor sizes, with no MACs (``by_size: 1``; the
    projection counts such steps in ``host_steps_priced_by_size``)."""
    specs: list[Any] = []
    values: list[Any] = []
    for tid in step["inputs"]:
        if tid is None:
            specs.append(None)
            values.append(None)
            continue
        t = mp.tensors[tid]
        specs.append((tuple(t["shape"]), t["dtype"]))
        values.append(mp.weight(tid) if str(tid) in mp.weights else None)
    try:
        return hostops.cost(step["op"], specs, step.get("attrs", {}), values)
    except (AccelError, TypeError, ValueError):
        def nbytes(tid: int) -> int:
            t = mp.tensors[tid]
            return math.prod(t["shape"]) * np.dtype(t["dtype"]).itemsize

        outs = step["outputs"]
        return {"bytes_read": sum(nbytes(t) for t in step["inputs"] if t is not None),
                "bytes_written": sum(nbytes(t) for t in outs),
                "elements": sum(math.prod(mp.tensors[t]["shape"]) for t in outs), "macs": 0, "by_size": 1}


def projection(spec: Any, mp: Any, inference: dict[str, Any]) -> dict[str, Any]:
    """Projected board time of one inference with both host profiles of the spec's board."""
    costs = [step_cost(mp, s) for s in mp.steps if s["kind"] == "host"]
    fabric_s = inference["cycles"] / (spec.fabric_mhz * 1e6)
    counts = {"cpu_bytes_copied": inference["cpu_bytes_accel_copies"], "cache_bytes": inference["cache_bytes"],
              "driver_calls": inference["driver_calls"], "mmio_ops": inference["mmio_ops"]}
    out: dict[str, Any] = {"board": spec.board, "profiles": []}
    for prof in profiles_for(spec.board):
        accel_host = prof.host_seconds(counts)["total"]
        steps_s = sum(host_step_ns(prof, c) for c in costs) * 1e-9
        io_s = inference["cpu_bytes_io"] * prof.copy_ns_per_byte * 1e-9
        out["profiles"].append(prof.name)
        out[prof.name] = {"fabric_s": fabric_s, "accel_host_s": accel_host, "host_steps_s": steps_s, "io_s": io_s,
                          "total_s": fabric_s + accel_host + steps_s + io_s}
    out["host_step_macs"] = sum(c["macs"] for c in costs)
    out["host_steps_priced_by_size"] = sum(c.get("by_size", 0) for c in costs)  # see step_cost
    return out


# ----------------------------------------------------------------------------- measuring
class _Recording:
    """The Accelerator as :class:`accel.runtime.model.Model` uses it, keeping every RunResult:
    the model's per-step stats have cycles, register accesses and DMA transfers, but not the
    driver calls and cache-maintenance bytes the projection prices too."""

    def __init__(self, acc: Any) -> None:
        self._acc = acc
        self.results: list[Any] = []

    def run(self, program: Any, **operands: Any) -> Any:
        r = self._acc.run(program, **operands)
        self.results.append(r)
        return r

    def run_many(self, calls: Any) -> Any:
        r = self._acc.run_many(calls)
        self.results.append(r)
        return r

    def __getattr__(self, name: str) -> Any:
        return getattr(self._acc, name)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return set(a) == set(b) and all(np.array_equal(a[k], b[k]) for k in a)


def _inference(mp: Any, model: Any, rec: _Recording, feed: dict[str, np.ndarray]) -> dict[str, Any]:
    """Run one call and collect its counts (batch 1: one inference)."""
    from accel.runtime.model import reference

    rec.results.clear()
    out = model(feed)
    run = model.last
    s = run.summary()
    acc_steps = [st for st in run.steps if st.kind == "accel"]
    pred = {p["node"]: p.get("predicted_cycles") for p in mp.placement if p.get("where") == "accelerator"}
    layers: dict[str, dict[str, Any]] = {}
    for st in acc_steps:
        lay = layers.setdefault(st.node, {"node": st.node, "op": st.op, "steps": 0, "cycles": 0, "macs": 0,
                                          "mmio_ops": 0, "dma_transfers": 0,
                                          "predicted_cycles": pred.get(st.node)})
        lay["steps"] += 1
        for k in ("cycles", "macs", "mmio_ops", "dma_transfers"):
            lay[k] += getattr(st, k)
    results = rec.results
    return {
        "cycles": s["cycles"], "layers": list(layers.values()),
        "accel_steps": s["accel_steps"], "host_steps": s["host_steps"],
        "mmio_ops": s["mmio_ops"], "dma_transfers": s["dma_transfers"],
        "driver_calls": sum(r.driver_calls for r in results),
        "dma_mode": results[0].dma_mode if results else None,
        "cache_bytes": sum(r.flush_bytes + r.invalidate_bytes for r in results),
        "cpu_bytes": s["cpu_bytes"], "cpu_bytes_io": run.cpu_bytes_io,
        "cpu_bytes_host_steps": sum(st.cpu_bytes for st in run.steps if st.kind == "host"),
        "cpu_bytes_accel_copies": sum(st.cpu_bytes for st in acc_steps),
        "accel_macs": s["accel_macs"], "wall_s": s["wall_s"],
        "exact": _equal(out, reference(mp, feed)),
    }


def _measure(acc: Any, spec: Any, mp: Any, feed: dict[str, np.ndarray], *, chain: bool) -> tuple[dict, dict]:
    """One inference's counts after a warm-up call (first-call costs are not the model's), and its
    projected board time."""
    from accel.runtime.model import load_model

    rec = _Recording(acc)
    with load_model(rec, mp, chain=chain) as model:
        _inference(mp, model, rec, feed)
        inf = _inference(mp, model, rec, feed)
    return inf, projection(spec, mp, inf)


def _accuracy(acc: Any, case: ModelCase, cfg: ModelsConfig, mp1: Any, sess: Any, compile_fn: Callable) -> dict:
    """Top-1 of the accelerator and of onnxruntime on the first ``cfg.samples`` held-out rows, run in
    equal chunks (the largest batch up to ``cfg.batch`` that divides the row count)."""
    from accel.runtime.model import load_model, reference

    x, y = case.x, case.y
    n = min(cfg.samples, len(x))
    b = max(d for d in range(1, min(cfg.batch, n) + 1) if n % d == 0)  # chunks that cover all n rows
    mp = mp1 if b == 1 else compile_fn(b)
    iname, oname = mp.inputs[0]["name"], mp.outputs[0]["name"]
    ours, theirs, exact = [], [], True
    with load_model(acc, mp) as model:
        for i in range(0, n, b):
            feed = {iname: x[i:i + b]}
            out = model(feed)
            exact = exact and _equal(out, reference(mp, feed))
            ours.append(out[oname].argmax(-1))
            theirs.append(sess.run([oname], feed)[0].argmax(-1))
    p, q, labels = np.concatenate(ours), np.concatenate(theirs), y[:n]
    return {"rows": n, "predictions": int(labels.size), "batch": b, "accel": float((p == labels).mean()),
            "ort": float((q == labels).mean()), "agree": float((p == q).mean()), "exact": bool(exact)}


def _ort_wall(sess: Any, feed: dict[str, np.ndarray], runs: int) -> dict[str, Any]:
    names = [o.name for o in sess.get_outputs()]
    for _ in range(3):
        sess.run(names, feed)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(names, feed)
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "min_s": min(times), "runs": runs, "batch": 1, "threads": 1}


def measure_case(acc: Any, case: ModelCase, cfg: ModelsConfig, log: Log,
                 programs: dict[int, Any] | None = None) -> dict[str, Any]:
    """One row: everything about one model (an ``error`` row if it fails to compile or run).
    ``programs``, if given, receives the batch-1 program and its inputs under ``id(row)`` for
    :func:`measure_sg`."""
    from accel.compiler import compile_model

    row: dict[str, Any] = {"model": case.name, "variant": case.variant,
                           "source": case.path.name if case.path is not None else None}
    if case.skip is not None:
        return {**row, "status": "skipped", "error": case.skip}
    spec = load_spec(cfg.spec)

    def compile_fn(batch: int) -> Any:
        return compile_model(case.path, cfg.spec, batch=batch)

    t0 = time.perf_counter()
    try:
        mp = compile_fn(1)
    except Exception as exc:  # any failure is this model's row, never the whole run's end
        return {**row, "status": "compile_error", "error": _one_line(exc)}
    s = mp.summary
    row.update({"compile_s": time.perf_counter() - t0, "macs": s.get("macs", 0), "accel_macs": s.get("accel_macs", 0),
                "accel_share": s.get("accel_share", 0.0), "cma_bytes": mp.cma_bytes,
                "weight_bytes": mp.arena.get("weight_bytes", 0), "predicted_cycles": s.get("predicted_cycles", 0),
                "steps": len(mp.steps), "placement": mp.placement})
    feed = ({mp.inputs[0]["name"]: case.x[:1]} if case.x is not None and len(mp.inputs) == 1
            else mp.random_inputs(cfg.seed))
    try:
        row["inference"], row["projection"] = _measure(acc, spec, mp, feed, chain=False)
    except Exception as exc:
        return {**row, "status": "run_error", "error": _one_line(exc)}
    if programs is not None:
        programs[id(row)] = (mp, feed)
    try:
        sess = zoo.ort_session(case.path, optimized=True)  # as a user runs it
        row["ort"] = _ort_wall(sess, feed, cfg.ort_runs)
    except Exception as exc:  # onnxruntime cannot run it: the accelerator's numbers still stand
        row["ort"] = {"error": _one_line(exc)}
        sess = None
    if case.x is not None and case.y is not None and sess is not None:
        try:
            row["accuracy"] = _accuracy(acc, case, cfg, mp, sess, compile_fn)
        except Exception as exc:
            return {**row, "status": "run_error", "error": f"accuracy run: {_one_line(exc)}"}
    row["status"] = "ok"
    return row


def measure_sg(acc: Any, row: dict[str, Any], mp: Any, feed: dict[str, np.ndarray]) -> None:
    """The same inference with a scatter-gather DMA and ``chain=True`` (each stretch of
    consecutive accelerator steps one kick; a stretch ends at a host step or where a step reads
    what the previous one wrote), side by side with the simple-DMA row: ``row["sg"]``."""
    try:
        inf, proj = _measure(acc, acc.spec, mp, feed, chain=True)
        row["sg"] = {"inference": inf, "projection": proj}
    except Exception as exc:  # the simple-DMA row still stands
        row["sg"] = {"error": _one_line(exc)}


def host_cpu() -> str:
    """The benchmark machine's CPU, for the onnxruntime column's label (host x86, not the board)."""
    name = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.machine()}{f' ({name})' if name else ''}"


def run_models(cfg: ModelsConfig, log: Log = lambda _m: None) -> dict[str, Any]:
    """Measure every case of ``cfg``; returns the result document (without its stamp)."""
    try:  # host tools: the zoo builds and quantizes with them, and onnxruntime is the reference
        import onnx  # noqa: F401
        import onnxruntime
    except ImportError as exc:
        raise InputError(f"bench-models needs onnx and onnxruntime ({exc}): pip install -e '.[dev]'") from None
    from accel.runtime import Accelerator

    t0 = time.perf_counter()
    cases = zoo_cases(cfg.models, cfg.variants, cfg.samples) + file_cases(cfg.extra)
    rows = []
    programs: dict[int, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the runtime's one-time copy/overlay warnings are not results
        acc = Accelerator(backend=cfg.backend, spec=cfg.spec)
        try:
            backend = acc.info().get("backend", cfg.backend)
            for case in cases:
                t1 = time.perf_counter()
                row = measure_case(acc, case, cfg, log, programs)
                rows.append(row)
                log(f"  {case.name:<8} {case.variant:<24} {row['status']:<14} {time.perf_counter() - t1:5.1f} s"
                    + (f"  {row['error']}" if "error" in row else ""))
        finally:
            acc.close()
        if cfg.sg and backend == "sim":  # a board's DMA is what its bitstream has
            with Accelerator(backend="sim", spec=load_spec(cfg.spec).with_dma_mode("sg")) as sg_acc:
                for row in rows:
                    if id(row) in programs and row["inference"]["accel_steps"]:  # CPU-only: nothing to chain
                        measure_sg(sg_acc, row, *programs[id(row)])
    ok = [r for r in rows if r["status"] == "ok"]
    quant = [r for r in ok if r["variant"] != "float" and "accuracy" in r]
    return {
        "format": FORMAT, "version": VERSION, "config": cfg.to_dict(),
        "host": {"cpu": host_cpu(), "onnxruntime": onnxruntime.__version__, "backend": backend},
        "rows": rows,
        "summary": {
            "models": len(rows), "ok": len(ok), "failed": len(rows) - len(ok),
            "exact": all(r["inference"]["exact"] and r.get("accuracy", {}).get("exact", True)
                         and r.get("sg", {}).get("inference", {}).get("exact", True) for r in ok),
            "sg_errors": sum(1 for r in ok if "error" in r.get("sg", {})),
            "min_agree": min((r["accuracy"]["agree"] for r in quant), default=None),
            "wall_s": time.perf_counter() - t0,
        },
    }


def passed(doc: dict[str, Any]) -> bool:
    """Every measured model equals its CPU reference bit for bit (failures to compile are rows, not
    failures of the benchmark)."""
    return bool(doc["summary"]["exact"])


# ----------------------------------------------------------------------------- report
def _fmt_int(x: Any) -> str:
    return "-" if x is None else f"{int(x):,}"


def _fmt_bytes(x: Any) -> str:
    from .report import fmt_bytes

    return fmt_bytes(x)


def _fmt_time(s: Any) -> str:
    from .report import fmt_time

    return fmt_time(s)


def quant_label(variant: str) -> str:
    """``qdq_u8s8`` -> ``QDQ u8/s8``: the quantizer format and activation/weight types."""
    if variant in ("float", "file"):
        return variant
    parts = variant.split("_")
    fmt = {"qdq": "QDQ", "qop": "QOperator", "dynamic": "dynamic"}.get(parts[0], parts[0])
    rest = " ".join(p if not (len(p) == 4 and p[0] in "us") else f"{p[:2]}/{p[2:]}" for p in parts[1:])
    return f"{fmt} {rest}".strip()


def table(doc: dict[str, Any]) -> str:
    """The markdown table of every row (what docs/BENCHMARKS.md shows)."""
    rows = doc["rows"]
    profiles = next((r["projection"]["profiles"] for r in rows if "projection" in r), ["native", "pynq"])
    head = ["model", "quantization", "MACs on accel.", "fabric cycles (per layer)", "host steps", "reg. accesses",
            "DMA transfers", "driver calls", "CPU bytes", "CMA", *(f"proj. {p}" for p in profiles),
            "SG chained: cycles / reg. accesses / proj. " + profiles[-1],
            "top-1 accel. / ORT", "agree", "ORT (host x86)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * (len(head) - 2)]
    for r in rows:
        lead = [r["model"], quant_label(r["variant"])]
        if r["status"] != "ok":
            why = {"skipped": "not measured", "compile_error": "does not compile",
                   "run_error": "fails to run"}[r["status"]]
            msg = r["error"].replace("|", "\\|")
            lines.append("| " + " | ".join([*lead, f"{why}: {msg}", *["-"] * (len(head) - 3)]) + " |")
            continue
        inf, p, a, o = r["inference"], r["projection"], r.get("accuracy"), r.get("ort", {})
        per = " + ".join(_fmt_int(lay["cycles"]) for lay in inf["layers"])
        cyc = _fmt_int(inf["cycles"]) + (f" ({per})" if len(inf["layers"]) > 1 else "")
        acc_txt = f"{a['accel'] * 100:.1f}% / {a['ort'] * 100:.1f}%" if a else "-"
        lines.append("| " + " | ".join([
            *lead, f"{r['accel_share'] * 100:.0f}% of {_fmt_int(r['macs'])}", cyc, str(inf["host_steps"]),
            _fmt_int(inf["mmio_ops"]), _fmt_int(inf["dma_transfers"]), _fmt_int(inf["driver_calls"]),
            _fmt_bytes(inf["cpu_bytes"]), _fmt_bytes(r["cma_bytes"]),
            *(_fmt_time(p[name]["total_s"]) for name in profiles), _sg_cell(r, profiles[-1]),
            acc_txt, f"{a['agree'] * 100:.1f}%" if a else "-",
            _fmt_time(o["median_s"]) if "median_s" in o else "-",
        ]) + " |")
    return "\n".join(lines)


def _sg_cell(r: dict[str, Any], profile: str) -> str:
    sg = r.get("sg")
    if sg is None:
        return "-"
    if "error" in sg:
        return "fails: " + sg["error"].replace("|", "\\|")
    inf = sg["inference"]
    total = sg["projection"][profile]["total_s"]
    return f"{_fmt_int(inf['cycles'])} / {_fmt_int(inf['mmio_ops'])} / {_fmt_time(total)}"


def layers_table(doc: dict[str, Any], model: str, variant: str) -> str:
    """Per-layer cycles of one model (measured at batch 1 vs the cost model's prediction)."""
    r = next((r for r in doc["rows"] if r["model"] == model and r["variant"] == variant and r["status"] == "ok"),
             None)
    if r is None:
        return f"({model} {variant} was not measured)"
    lines = ["| layer | op | steps | MACs | cycles | predicted | reg. accesses | DMA transfers |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for lay in r["inference"]["layers"]:
        lines.append(f"| {lay['node']} | {lay['op']} | {lay['steps']} | {_fmt_int(lay['macs'])} | "
                     f"{_fmt_int(lay['cycles'])} | {_fmt_int(lay['predicted_cycles'])} | {_fmt_int(lay['mmio_ops'])} "
                     f"| {_fmt_int(lay['dma_transfers'])} |")
    return "\n".join(lines)


def markdown(doc: dict[str, Any], command: str | None = None) -> str:
    cfg, host, s = doc["config"], doc["host"], doc["summary"]
    n_rows = max((r["accuracy"]["rows"] for r in doc["rows"] if r.get("accuracy")), default=0)
    out = [
        "# Whole models on the accelerator",
        "",
        f"Spec `{cfg['spec']}` on the {host['backend']} backend; one inference at batch 1 per model. "
        f"Accuracy: up to the first {n_rows} held-out samples per model (`accuracy.rows` in the JSON), the "
        f"program compiled for chunks of up to {cfg['batch']}. "
        f"Projected board time = fabric cycles + counted host work priced with the board's host profiles "
        f"(a projection). onnxruntime {host['onnxruntime']}: median of {cfg['ort_runs']} runs, one thread, on "
        f"the host ({host['cpu']}), for scale only."
        + (" SG chained: the same inference with a scatter-gather AXI DMA (simulated), consecutive "
           "accelerator steps chained (one kick per stretch; host steps and data dependences end a "
           "stretch)." if cfg.get("sg") else ""),
        "",
        table(doc),
        "",
        f"{s['ok']} of {s['models']} models measured; every output equals the program's CPU reference: "
        f"{'yes' if s['exact'] else '**no**'}; wall {s['wall_s']:.0f} s.",
    ]
    if command:
        out += ["", f"Command: `{command}`"]
    return "\n".join(out) + "\n"
