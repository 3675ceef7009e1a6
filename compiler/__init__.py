"""MLIR linalg.matmul -> accel driver program compiler (import name ``accel.compiler``).

    from accel.compiler import compile
    mod = compile("model.mlir", spec="z2_default")      # or MLIR text, or a .onnx model
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

from accel.contract.module import CompiledFunction, CompiledModule
from accel.errors import CompileError

__all__ = ["CompileError", "CompiledFunction", "CompiledModule", "compile", "load", "opt"]


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


def compile(
    src: Any, spec: Any = "z2_default", *, pipeline: str | None = None, **schedule_options: Any
) -> CompiledModule:
    """Compile MLIR text, a ``.mlir`` path or a ``.onnx`` model into a :class:`CompiledModule`.

    ``schedule_options`` are accel-schedule options (``tile_k=64``, ``stationarity="C"``,
    ``objective="board"``...)."""
    from .pipeline import DEFAULT_PIPELINE

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
