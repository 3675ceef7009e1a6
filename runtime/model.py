"""Run a compiled model (:mod:`accel.contract.model`) on an Accelerator: one CMA arena, weights
loaded once, accelerator steps on arena views (zero copy), host steps with numpy.

::

    from accel.runtime import Accelerator, load_model
    with Accelerator(backend="sim") as acc:
        model = load_model(acc, "mlp.json")        # checks the CMA need, allocates, loads weights
        out = model({"x": x})                       # dict of graph outputs (numpy arrays)
        # load_model(acc, "mlp.json", chain=True): consecutive accelerator steps in one kick
        model.last.summary()                        # per-step stats of that call

The arena is ONE ``acc.allocate`` buffer; a tensor is a view of it at its planned offset
(``PynqBuffer`` views keep their physical address), so the DMA reads an accelerator step's
operands and writes its result in place and the next accelerator step reads that result where
it is. CPU bytes are counted: graph inputs copied in, outputs copied out, and everything host
steps read and write.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from accel.contract.epilogue import RTL_VERSION, accumulate, requantize, to_int8
from accel.contract.epilogue import supported as epilogue_supported
from accel.contract.model import ModelProgram, mib
from accel.errors import AllocationError, BackendError, DtypeError, InputError, ShapeError


def cma_free_bytes(acc: Any) -> int | None:
    """The largest CMA block this Accelerator can allocate, if the platform says (simulated CMA:
    its allocator; a board: ``CmaFree`` of /proc/meminfo); None when unknown."""
    mem = getattr(getattr(acc, "device", None), "default_memory", None)
    largest = getattr(mem, "largest_free", None)
    if isinstance(largest, int):
        return largest
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("CmaFree:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


@dataclass
class StepStats:
    index: int
    kind: str
    node: str
    op: str
    wall_s: float
    cycles: int = 0
    mmio_ops: int = 0
    dma_transfers: int = 0
    cpu_bytes: int = 0
    macs: int = 0


@dataclass
class ModelRun:
    """What one inference did, step by step."""

    steps: list[StepStats] = field(default_factory=list)
    cpu_bytes_io: int = 0  # graph inputs copied into the arena + outputs copied out

    @property
    def cycles(self) -> int:
        return sum(s.cycles for s in self.steps)

    def summary(self) -> dict[str, Any]:
        acc = [s for s in self.steps if s.kind == "accel"]
        host = [s for s in self.steps if s.kind == "host"]
        return {"cycles": self.cycles, "accel_steps": len(acc), "host_steps": len(host),
                "mmio_ops": sum(s.mmio_ops for s in acc), "dma_transfers": sum(s.dma_transfers for s in acc),
                "accel_macs": sum(s.macs for s in acc),
                "cpu_bytes": sum(s.cpu_bytes for s in self.steps) + self.cpu_bytes_io,
                "wall_s": sum(s.wall_s for s in self.steps)}

    def to_dict(self) -> dict[str, Any]:
        return {"summary": self.summary(), "steps": [s.__dict__ for s in self.steps]}


class Model:
    """A model program loaded onto an Accelerator; call it with a dict of named input arrays."""

    def __init__(self, acc: Any, program: ModelProgram | str | Path, *, chain: bool = False) -> None:
        mp = program if isinstance(program, ModelProgram) else ModelProgram.load(program)
        self.chain = chain
        mp.check_spec(acc.spec)
        fused = [s["node"] for s in mp.steps if s["kind"] == "accel" and s.get("epilogue")]
        if fused and not epilogue_supported(acc.spec):
            v = acc.spec.version
            raise BackendError(f"model {mp.source or 'program'} runs {len(fused)} layer(s) (first: {fused[0]!r}) on "
                               f"the fabric's fused epilogue, which this overlay's accelerator (version {v[0]}.{v[1]}) "
                               f"does not have (it needs {RTL_VERSION[0]}.{RTL_VERSION[1]}): recompile the model "
                               "with --epilogue cpu, or use an overlay built from a newer spec")
        self.acc, self.program = acc, mp
        need = mp.cma_bytes
        free = cma_free_bytes(acc)
        if free is not None and need > free:
            raise AllocationError(f"model {mp.source or 'program'} needs {mib(need)} of CMA ({need} bytes), the "
                                  f"device has {mib(free)} free: free other buffers, enlarge the CMA pool, or use a "
                                  "smaller batch (--batch)")
        self.arena = acc.allocate(max(need, 1), np.uint8)
        self.views = [self._view(t) for t in mp.tensors]
        for key in mp.weights:  # weights once per Accelerator, not per inference
            self.views[int(key)][...] = mp.weight(int(key))
        self.last: ModelRun | None = None

    def _view(self, t: dict[str, Any]) -> Any:
        raw = self.arena[t["offset"]:t["offset"] + t["bytes"]]
        return raw.view(np.dtype(t["dtype"])).reshape(t["shape"])

    def close(self) -> None:
        self.arena.freebuffer()

    def __enter__(self) -> Model:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ inference
    def set_inputs(self, inputs: dict[str, np.ndarray]) -> int:
        names = [e["name"] for e in self.program.inputs]
        extra = set(inputs) - set(names)
        missing = [n for n in names if n not in inputs]
        if extra or missing:
            raise InputError(f"model inputs are {names}; missing {missing}, unknown {sorted(extra)}")
        copied = 0
        for e in self.program.inputs:
            x = np.asarray(inputs[e["name"]])
            if tuple(x.shape) != tuple(e["shape"]):
                raise ShapeError(f"input {e['name']!r} has shape {tuple(x.shape)}, the model was compiled for "
                                 f"{tuple(e['shape'])} (recompile with --shape {e['name']}=... to change it)")
            if x.dtype != np.dtype(e["dtype"]):
                if not np.can_cast(x.dtype, e["dtype"], casting="same_kind"):
                    raise DtypeError(f"input {e['name']!r} has dtype {x.dtype}, the model takes {e['dtype']}")
                x = x.astype(e["dtype"])
            self.views[e["tensor"]][...] = x
            copied += x.nbytes
        return copied

    def __call__(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from accel.runtime.hostops import run as host_run

        run = ModelRun(cpu_bytes_io=self.set_inputs(inputs))
        steps = self.program.steps
        i = 0
        while i < len(steps):
            s = steps[i]
            t0 = time.perf_counter()
            if s["kind"] == "accel":
                group = [i]  # with chain=True: every accelerator step up to the next host step
                while self.chain and group[-1] + 1 < len(steps) and steps[group[-1] + 1]["kind"] == "accel":
                    group.append(group[-1] + 1)
                calls = []
                for j in group:
                    prog = self.program.program(j)
                    calls.append((prog, {name: self._operand(tid, prog.operands[name]["shape"])
                                         for name, tid in steps[j]["bind"].items()}))
                r = self.acc.run(calls[0][0], **calls[0][1]) if len(calls) == 1 else self.acc.run_many(calls)
                run.steps.append(StepStats(i, "accel", "+".join(steps[j]["node"] for j in group),
                                           "+".join(steps[j]["op"] for j in group), time.perf_counter() - t0,
                                           r.cycles, r.mmio_ops, r.dma_transfers, r.cpu_bytes_copied,
                                           sum(int(steps[j].get("macs", 0)) for j in group)))
                i = group[-1] + 1
                continue
            ins = [None if t is None else self.views[t] for t in s["inputs"]]
            outs = [self.views[t] for t in s["outputs"]]
            host_run(s["op"], ins, s.get("attrs", {}), outs)
            nbytes = sum(x.nbytes for x in ins if x is not None) + sum(x.nbytes for x in outs)
            run.steps.append(StepStats(i, "host", s["node"], s["op"], time.perf_counter() - t0, cpu_bytes=nbytes))
            i += 1
        out = {}
        for e in self.program.outputs:
            out[e["name"]] = np.array(self.views[e["tensor"]])
            run.cpu_bytes_io += out[e["name"]].nbytes
        self.last = run
        return out

    def _operand(self, tid: int, shape: list[int]) -> Any:
        return self.views[tid].reshape(shape)

    # ------------------------------------------------------------------ reference
    def reference(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The program's own CPU reference: every step with numpy (accelerator steps with the
        golden int8 matmul), on private arrays, not the arena."""
        return reference(self.program, inputs)


def reference(mp: ModelProgram, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Execute a model program on the CPU only (golden model of every accelerator step)."""
    from accel.runtime.hostops import run as host_run

    vals: dict[int, np.ndarray] = {}

    def get(tid: int) -> np.ndarray:
        t = mp.tensors[tid]
        if "view_of" not in t:
            return vals[tid]
        raw = np.ascontiguousarray(vals[t["view_of"]]).reshape(-1).view(np.uint8)
        off = t.get("view_offset", 0)
        return raw[off:off + t["bytes"]].view(np.dtype(t["dtype"])).reshape(t["shape"])

    for key in mp.weights:
        vals[int(key)] = mp.weight(int(key))
    for e in mp.inputs:
        vals[e["tensor"]] = np.asarray(inputs[e["name"]]).astype(e["dtype"]).reshape(e["shape"])
    for s in mp.steps:
        if s["kind"] == "accel":
            b = s["bind"]
            prog = DriverProgramShapes(s["program"])
            a = get(b["a"]).reshape(prog.shape("a"))
            bb = get(b["b"]).reshape(prog.shape("b"))
            ep = s.get("epilogue")
            if ep is None:
                vals[b["c"]] = accumulate(a, bb).reshape(mp.tensors[b["c"]]["shape"])
                continue
            # the fused epilogue's golden model, in the int8 domain the input path works in (a uint8
            # A is converted on the fly; its zero point is folded into the bias at compile time)
            acc = accumulate(to_int8(a), bb, b_zero_point=int(ep["b_zero_point"]),
                             bias=np.asarray(ep["bias"], dtype=np.int64))
            y = requantize(acc, np.asarray(ep["scale"], dtype=np.float32), int(ep["zero_point"]), ep["out_dtype"],
                           (int(ep["lo"]), int(ep["hi"])))
            vals[b["c"]] = y.reshape(mp.tensors[b["c"]]["shape"])
            continue
        outs = []
        for t in s["outputs"]:
            spec = mp.tensors[t]
            outs.append(np.empty(spec["shape"], dtype=spec["dtype"]))
        host_run(s["op"], [None if t is None else get(t) for t in s["inputs"]], s.get("attrs", {}), outs)
        for t, o in zip(s["outputs"], outs, strict=True):
            vals[t] = o
    return {e["name"]: get(e["tensor"]).copy() for e in mp.outputs}


class DriverProgramShapes:
    """Operand shapes of a driver-program document (no validation needed: the model validated it)."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc

    def shape(self, name: str) -> list[int]:
        return list(self.doc["operands"][name]["shape"])


def load_model(acc: Any, program: ModelProgram | str | Path, *, chain: bool = False) -> Model:
    """Load a compiled model program onto ``acc`` (see :class:`Model`).

    ``chain=True`` runs every stretch of consecutive accelerator steps as ONE ``acc.run_many``
    call (one kick and one completion wait with a scatter-gather DMA; an inference whose steps
    are all on the accelerator is one kick); ``model.last`` then has one accel entry per
    stretch (nodes joined by '+'), not per step."""
    return Model(acc, program, chain=chain)
