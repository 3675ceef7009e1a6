"""MLIR linalg.matmul -> accel driver program compiler (import name ``accel.compiler``).

    from accel.compiler import compile
    mp = compile("model.onnx", batch=1)                 # a whole ONNX model -> ModelProgram
    mp.save("model.json"); print(mp.report())           # run it with accel.runtime.load_model
    mod = compile("model.mlir", spec="z2_default")      # MLIR text or a .mlir file -> CompiledModule
    mod.programs["main"]                                # accel.contract.program.DriverProgram
    mod.save("model.accel.json"); CompiledModule.load("model.accel.json")

The default pipeline is ``builtin.module(accel-match,accel-schedule,accel-lower,accel-emit)``
(see :mod:`accel.compiler.pipeline`; passes in :mod:`accel.compiler.passes`, the cost model in
:mod:`accel.contract.costmodel`, the dialect in :mod:`accel.compiler.dialect`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from accel.contract.model import ModelProgram
from accel.contract.module import CompiledFunction, CompiledModule
from accel.errors import CompileError

__all__ = ["CompileError", "CompiledFunction", "CompiledModule", "ModelProgram", "compile", "compile_model", "load",
           "opt"]

MODEL_PIPELINE = "builtin.module(accel-onnx-partition,accel-model-emit)"


def _source(src: Any) -> tuple[str | os.PathLike[str], str]:
    """(MLIR text or .mlir path, source name); ONNX models are imported first."""
    if isinstance(src, (str, os.PathLike)) and str(src).endswith(".onnx") and "\n" not in str(src):
        from .frontend import onnx_to_linalg

        return onnx_to_linalg(src), str(src)
    if isinstance(src, os.PathLike):
        return src, str(src)
    return src, ("" if "\n" in src or "{" in src else str(src))


def opt(
    src: Any,
    pipeline: str | None = None,
    *,
    spec: Any = None,
    print_ir_after_all: bool = False,
    remark_sink: Any = None,
    text_name: str | None = None,
) -> tuple[str, Any]:
    """Run a pass pipeline on MLIR text/path/ONNX; returns (output IR text, PipelineResult)."""
    from . import irutil
    from .pipeline import DEFAULT_PIPELINE, run_pipeline

    text, name = _source(src)
    ctx = irutil.make_context()
    module, parsed_name = irutil.parse_module(text, ctx, text_name or irutil.TEXT_INPUT_NAME)
    if name.endswith(".onnx"):
        parsed_name = name
    if text_name is not None:
        parsed_name = text_name
    defaults = {"spec": _spec_ref(spec)} if spec is not None else {}
    res = run_pipeline(module, pipeline or DEFAULT_PIPELINE, defaults=defaults, print_ir_after_all=print_ir_after_all,
                       text_name=parsed_name, source=name, remark_sink=remark_sink)
    with ctx:
        out = str(module)
    return out, res


def _spec_ref(spec: Any) -> str:
    from accel.overlays.spec import Spec

    if isinstance(spec, Spec):
        return spec.name
    return str(spec)


def import_model(path: str | os.PathLike[str], *, shapes: dict[str, list[int]] | None = None,
                 batch: int | None = None, constants: dict[str, Any] | None = None) -> tuple[Any, Any]:
    """An ONNX model imported into the torch dialect, each ONNX op tagged with its node name
    (``accel.node``) and the function with the graph's input/output names. Returns (module, ctx)."""
    from . import irutil
    from .frontend import NODE_ATTR, name_nodes, onnx_to_torch

    text, model = onnx_to_torch(path, shapes=shapes, batch=batch, constants=constants)
    ctx = irutil.make_context()
    module, _name = irutil.parse_module(text, ctx, str(path))
    with ctx:
        funcs = list(irutil.functions(module))
        if len(funcs) != 1:
            raise CompileError(f"{path}: the importer produced {len(funcs)} functions, expected one graph")
        func = funcs[0]
        ops = [op for op in irutil.body_ops(func) if op.name == "torch.operator"]
        names = name_nodes(func, model, [irutil.from_attr(op.attributes["name"]) for op in ops])
        for op, name in zip(ops, names, strict=True):
            irutil.set_attr(op, NODE_ATTR, name)
        inits = {i.name for i in model.graph.initializer}
        irutil.set_attr(func, "accel.inputs", [i.name for i in model.graph.input if i.name not in inits])
        irutil.set_attr(func, "accel.outputs", [o.name for o in model.graph.output])
    return module, ctx


def compile_model(src: str | os.PathLike[str], spec: Any = "z2_default", *,
                  shapes: dict[str, list[int]] | None = None, batch: int | None = None,
                  constants: dict[str, Any] | None = None, pipeline: str = MODEL_PIPELINE,
                  epilogue: str | None = None, schedule: str | None = None) -> ModelProgram:
    """Compile a whole ONNX model into one :class:`~accel.contract.model.ModelProgram`
    (``accel-onnx-partition``, ``accel-model-emit``); ``shapes``/``batch`` specialize symbolic dims,
    ``constants`` (graph input name -> array) freezes graph inputs into weights; ``epilogue``
    ("auto" | "fabric" | "cpu") places the quantized matmuls' requantization, ``schedule``
    ("cost-model" | "default") picks their schedules (the passes' options of those names)."""
    from .pipeline import run_pipeline

    module, _ctx = import_model(src, shapes=shapes, batch=batch, constants=constants)
    res = run_pipeline(module, pipeline, defaults={"spec": _spec_ref(spec), "epilogue": epilogue,
                                                   "schedule": schedule},
                       text_name=str(src), source=str(src))
    mp = res.emitted
    if not isinstance(mp, ModelProgram):
        raise CompileError(f"pipeline {pipeline!r} has no accel-model-emit: it produced no model program")
    return mp


def compile(
    src: Any, spec: Any = "z2_default", *, pipeline: str | None = None, **schedule_options: Any
) -> Any:
    """Compile MLIR text or a ``.mlir`` path into a :class:`CompiledModule`, or a ``.onnx`` model
    into a :class:`ModelProgram` (``shapes=``/``batch=`` specialize symbolic dimensions).

    ``schedule_options`` are accel-schedule options (``tile_k=64``, ``stationarity="C"``,
    ``objective="board"``...)."""
    from .pipeline import DEFAULT_PIPELINE

    if isinstance(src, (str, os.PathLike)) and str(src).endswith(".onnx") and "\n" not in str(src) \
            and pipeline is None:
        model_opts = {"shapes", "batch", "constants", "epilogue", "schedule"}
        other = sorted(set(schedule_options) - model_opts)
        if other:
            raise CompileError(f"compiling an ONNX model takes {', '.join(sorted(model_opts))}, not {', '.join(other)} "
                               "(its matmuls use the cost model's schedule; schedule=\"default\" for the runtime's)")
        return compile_model(src, spec, **schedule_options)

    if pipeline is None and schedule_options:
        opts = " ".join(f"{k.replace('_', '-')}={v}" for k, v in schedule_options.items())
        pipeline = DEFAULT_PIPELINE.replace("accel-schedule", "accel-schedule{" + opts + "}")
    elif schedule_options:
        raise CompileError("pass either a pipeline or schedule options, not both")
    _ir, res = opt(src, pipeline, spec=spec)
    mod = res.emitted
    if mod is None:
        raise CompileError(
            "no linalg.matmul to compile: the module has no function holding a linalg.matmul "
            "(or the pipeline has no accel-emit)"
        )
    return mod


def load(path: str | Path) -> CompiledModule:
    """Load a compiled module (or a bare driver program) saved with ``CompiledModule.save``."""
    return CompiledModule.load(path)
