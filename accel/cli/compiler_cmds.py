"""Compiler commands of ``accel-run``: ``compile``, ``run``, ``opt`` and ``irdl``.

    accel-run compile IN.mlir -o OUT.json [--spec z2_default]
    accel-run compile MODEL.onnx -o MODEL.json [--shape NAME=DIMS] [--batch N] [--epilogue auto|fabric|cpu] [--json]
    accel-run run IN.mlir|OUT.json [--func NAME] [--check] [--json] [--spec ...]
    accel-run run MODEL.json|MODEL.onnx [--inputs IN.npz] [--outputs OUT.npz] [--check] [--json]
    accel-run opt IN.mlir --pass-pipeline='builtin.module(accel-match,accel-schedule)' [--print-ir-after-all]
    accel-run irdl [--write|--check]                 # the dialect's IRDL file, generated

User errors (``AccelError``, incl. ``CompileError`` with the op and its location) print one
line and exit 2 (the group does that); anything unexpected prints one line too and exits 3
(set ``ACCEL_DEBUG=1`` for the traceback).
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import click

from accel.errors import AccelError, CompileError, ProgramError


def _guard(fn: Any) -> Any:
    """No tracebacks at the CLI: AccelError goes to the group (exit 2), the rest exits 3."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (AccelError, OSError, click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except SystemExit:
            raise
        except Exception as exc:
            if os.environ.get("ACCEL_DEBUG"):
                raise
            click.secho(f"internal error: {type(exc).__name__}: {exc} (set ACCEL_DEBUG=1 for the traceback)",
                        fg="red", err=True)
            sys.exit(3)

    return wrapper


def _remark(text: str) -> None:
    click.secho(text, fg="yellow", err=True)


def _is_compiled_file(path: str) -> bool:
    return path.endswith(".json")


def _load_or_compile(src: str, spec: str | None, quiet: bool = False) -> Any:
    from accel.compiler import CompiledModule, opt

    if _is_compiled_file(src):
        mod = CompiledModule.load(src)
        if spec is not None:
            from accel.overlays.spec import load_spec

            s = load_spec(spec)
            if s.hash != mod.spec_hash:
                raise ProgramError(
                    f"{src} was compiled for spec {mod.spec_name!r}, not {s.name!r}; recompile it with --spec {s.name}"
                )
        return mod
    if not Path(src).is_file():
        raise CompileError(f"no such input file: {src}")
    _ir, res = opt(src, None, spec=spec or "z2_default", remark_sink=None if quiet else _remark)
    mod = res.emitted
    if mod is None:
        raise CompileError(f"{src}: no function holds a linalg.matmul: nothing to compile")
    return mod


def _is_model(src: str) -> bool:
    """An ONNX model or a model program file (``pynq-accel/model-program``)."""
    if src.endswith(".onnx"):
        return True
    if not src.endswith(".json") or not Path(src).is_file():
        return False
    from accel.contract.model import FORMAT

    with open(src, encoding="utf-8") as f:
        head = f.read(4096)
    return f'"format": "{FORMAT}"' in head


def _compile_model(src: str, spec: str, shape: tuple[str, ...], batch: int | None,
                   epilogue: str | None = None) -> Any:
    from accel.compiler import compile_model
    from accel.compiler.frontend import parse_shapes

    if not Path(src).is_file():
        raise CompileError(f"no such input file: {src}")
    return compile_model(src, spec, shapes=parse_shapes(list(shape)), batch=batch, epilogue=epilogue)


def _read_npz(path: str) -> dict[str, Any]:
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise ProgramError(f"--inputs {path}: not a readable .npz file ({exc}); write one with "
                           "numpy.savez(path, **{input_name: array})") from None


def _run_model(src: str, spec: str | None, backend: str, inputs: str | None, outputs: str | None, check: bool,
               as_json: bool, seed: int, shape: tuple[str, ...], batch: int | None, chain: bool = False,
               dma_mode: str | None = None) -> None:
    import warnings

    import numpy as np

    from accel.contract.model import ModelProgram
    from accel.runtime import Accelerator
    from accel.runtime.model import load_model, reference

    mp = ModelProgram.load(src) if src.endswith(".json") else _compile_model(src, spec or "z2_default", shape, batch)
    feed = _read_npz(inputs) if inputs else mp.random_inputs(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Accelerator(backend=backend, spec=_with_dma_mode(spec or mp.spec_name, dma_mode, backend)) as acc, \
                load_model(acc, mp, chain=chain) as model:
            got = model(feed)
            run = model.last
    mismatch: list[str] = []
    if check:
        ref = reference(mp, feed)
        mismatch = [k for k in got if not np.array_equal(got[k], ref[k])]
    if outputs:
        np.savez(outputs, **got)
    summary = run.summary() if run is not None else {}
    if as_json:
        click.echo(json.dumps({"spec": mp.spec_name, "backend": backend, "correct": (not mismatch) if check else None,
                               "outputs": {k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in got.items()},
                               "model": mp.summary, "run": run.to_dict() if run is not None else {}}, default=str))
    else:
        for st in run.steps if run is not None else []:
            if st.kind == "accel":
                click.echo(f"  {st.node} ({st.op}): accelerator {st.cycles} cycles, {st.mmio_ops} register accesses, "
                           f"{st.dma_transfers} DMA transfers")
        click.echo(f"{len(mp.steps)} steps ({summary.get('accel_steps', 0)} accelerator, "
                   f"{summary.get('host_steps', 0)} host): {summary.get('cycles', 0)} fabric cycles, "
                   f"{summary.get('cpu_bytes', 0)} CPU bytes; outputs "
                   + ", ".join(f"{k} {list(v.shape)} {v.dtype}" for k, v in got.items())
                   + ("" if not check else
                      (" MISMATCH vs CPU reference" if mismatch else " equal to the CPU reference")))
        if outputs:
            click.echo(f"wrote {outputs}")
    if mismatch:
        click.secho(f"error: outputs {mismatch} differ from the program's CPU reference execution", fg="red", err=True)
        sys.exit(1)


def _with_dma_mode(spec: str, dma_mode: str | None, backend: str) -> Any:
    """The spec to open, with the simulated DMA's mode overridden by ``--dma-mode``. On a board the
    bitstream's DMA is what it is (its ``.hwh`` says whether it has scatter-gather), so the option
    needs ``--backend sim``: with ``auto`` it would silently not apply wherever a board is found."""
    if dma_mode is None:
        return spec
    if backend != "sim":
        raise ProgramError(f"--dma-mode selects the simulated DMA and needs --backend sim (got {backend}); on a "
                           "board the bitstream's .hwh decides (c_include_sg): drop --dma-mode there")
    from accel.overlays.spec import load_spec

    return load_spec(spec).with_dma_mode(dma_mode)


def _describe(fn: Any) -> str:
    s = fn.program.schedule
    flags = [s["order"]] + (["db"] if s["double_buffer"] else []) + (["staging"] if s["staging"] else [])
    return f"{s['stationarity']} {s['tile_m']}x{min(s['tile_n'], s['n'])}x{min(s['tile_k'], s['k'])} " + " ".join(flags)


def register(cli: click.Group) -> None:
    @cli.command("compile")
    @click.argument("src", metavar="IN.mlir|MODEL.onnx")
    @click.option("-o", "--output", type=click.Path(dir_okay=False),
                  help="compiled module (JSON); default IN.accel.json")
    @click.option("--spec", default="z2_default", show_default=True, help="accelerator spec name or .toml path")
    @click.option("--func", "func_name", default=None, help="with --emit program: the function to write")
    @click.option("--emit", type=click.Choice(["module", "program"]), default="module", show_default=True,
                  help="module: all functions + bindings/constants; program: one bare driver program")
    @click.option("--shape", "shape", multiple=True, metavar="NAME=DIMS",
                  help="ONNX: static dims of a graph input, e.g. --shape input=1,3,32,32 (repeatable)")
    @click.option("--batch", type=click.IntRange(min=1), default=None, help="ONNX: size of a symbolic first dim")
    @click.option("--json", "as_json", is_flag=True, help="ONNX: print the placement report as JSON")
    @click.option("--epilogue", type=click.Choice(["auto", "fabric", "cpu"]), default="auto", show_default=True,
                  help="ONNX: requantize quantized matmuls on the fabric's fused epilogue or on the CPU "
                       "(auto: fabric when the spec's accelerator version has it)")
    @_guard
    def compile_cmd(src: str, output: str | None, spec: str, func_name: str | None, emit: str,
                    shape: tuple[str, ...], batch: int | None, as_json: bool, epilogue: str) -> None:
        """Compile an ONNX model into one model program (placement report printed), or the
        linalg.matmul functions of an MLIR file into driver programs."""
        if src.endswith(".onnx"):
            mp = _compile_model(src, spec, shape, batch, epilogue)
            out = Path(output) if output else Path(src).with_suffix(".json")
            mp.save(out)
            if as_json:
                click.echo(json.dumps({"placement": mp.placement, "summary": mp.summary, "output": str(out)}))
            else:
                click.echo(mp.report())
                click.echo(f"wrote {out}")
            return
        mod = _load_or_compile(src, spec)
        out = Path(output) if output else Path(src).with_suffix(".accel.json")
        if emit == "program":
            if func_name is None:
                if len(mod) != 1:
                    names = ", ".join(mod.functions)
                    raise CompileError(f"{src} has {len(mod)} functions ({names}); pick one with --func")
                func_name = next(iter(mod.functions))
            fn = mod[func_name]
            if fn.constants():
                _remark(f"remark: @{func_name} has constant operands ({', '.join(fn.constants())}); a bare driver "
                        "program takes them as inputs: use --emit module to keep them")
            out.write_text(fn.program.to_json(indent=1))
        else:
            mod.save(out)
        for fn in mod:
            p = fn.program
            a, b = p.operands["a"]["shape"], p.operands["b"]["shape"]
            click.echo(f"@{fn.name}: {a[0]}x{b[1]}x{a[1]} (MxNxK) {_describe(fn)}: {p.stats['instructions']} "
                       f"instructions, {p.transfers} transfers, predicted {p.predicted.get('cycles', '?')} cycles")
        click.echo(f"wrote {out}")

    @cli.command("run")
    @click.argument("src", metavar="IN.mlir|MODEL.onnx|COMPILED.json")
    @click.option("--func", "func_name", default=None, help="run only this function (default: all)")
    @click.option("--check/--no-check", default=True, show_default=True, help="compare with numpy")
    @click.option("--json", "as_json", is_flag=True, help="print results as JSON")
    @click.option("--spec", default=None, help="accelerator spec (default: the compiled file's, else z2_default)")
    @click.option("--backend", type=click.Choice(["auto", "sim", "board"]), default="auto", show_default=True)
    @click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**32 - 1),
                  help="seed of the random inputs")
    @click.option("--inputs", type=click.Path(exists=True, dir_okay=False), default=None,
                  help="model: .npz of the graph inputs by name (default: random inputs)")
    @click.option("--outputs", type=click.Path(dir_okay=False), default=None,
                  help="model: write the graph outputs by name to this .npz")
    @click.option("--shape", "shape", multiple=True, metavar="NAME=DIMS", help="ONNX input: static input dims")
    @click.option("--batch", type=click.IntRange(min=1), default=None, help="ONNX input: symbolic first dim")
    @click.option("--chain", is_flag=True,
                  help="model: run each stretch of consecutive accelerator steps as one call (with a "
                       "scatter-gather DMA: one kick and one completion wait per stretch)")
    @click.option("--dma-mode", "dma_mode", type=click.Choice(["simple", "sg"]), default=None,
                  help="with --backend sim: the simulated AXI DMA's mode (default: the spec's); a board's "
                       "bitstream decides its own")
    @_guard
    def run_cmd(src: str, func_name: str | None, check: bool, as_json: bool, spec: str | None, backend: str,
                seed: int, inputs: str | None, outputs: str | None, shape: tuple[str, ...],
                batch: int | None, chain: bool, dma_mode: str | None) -> None:
        """Run a model (ONNX or model program: --inputs/--outputs .npz, --check against its CPU
        reference), or compile-if-needed and run MLIR functions on random inputs against numpy."""
        if _is_model(src):
            _run_model(src, spec, backend, inputs, outputs, check, as_json, seed, shape, batch, chain, dma_mode)
            return
        if chain:
            raise ProgramError(f"--chain is for models (.onnx or a model program); {src} is not one")
        if inputs or outputs:
            raise ProgramError(f"--inputs/--outputs are for models (.onnx or a model program); {src} is not one")
        import warnings

        import numpy as np

        from accel.runtime import Accelerator

        mod = _load_or_compile(src, spec, quiet=as_json)
        funcs = [mod[func_name]] if func_name else list(mod)
        rng = np.random.default_rng(seed)
        rows = []
        failed = False
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            acc = Accelerator(backend=backend, spec=_with_dma_mode(spec or mod.spec_name, dma_mode, backend))
            try:
                for fn in funcs:
                    args = fn.random_args(rng)
                    c, res = mod.run(acc, fn.name, *args)
                    ok = bool(np.array_equal(c, fn.reference(*args))) if check else None
                    failed |= ok is False
                    pred = fn.program.predicted.get("cycles")
                    err = None if not pred else (pred - res.cycles) / res.cycles
                    rows.append({
                        "function": fn.name,
                        "shape": {"m": fn.program.schedule["m"], "n": fn.program.schedule["n"],
                                  "k": fn.program.schedule["k"]},
                        "schedule": fn.program.schedule,
                        "cycles": int(res.cycles),
                        "predicted_cycles": pred,
                        "prediction_error": err,
                        "correct": ok,
                        "run": res.to_dict(),
                    })
            finally:
                acc.close()
        if as_json:
            click.echo(json.dumps({"spec": mod.spec_name, "backend": backend, "functions": rows}, indent=1,
                                  default=str))
        else:
            for r in rows:
                s = r["shape"]
                status = {True: "OK", False: "MISMATCH", None: "unchecked"}[r["correct"]]
                err = f"{r['prediction_error'] * 100:+.1f}%" if r["prediction_error"] is not None else "n/a"
                click.echo(f"@{r['function']}: {s['m']}x{s['n']}x{s['k']} {_describe(mod[r['function']])}: "
                           f"{r['cycles']} cycles (predicted {r['predicted_cycles']}, {err}) {status}")
        if failed:
            click.secho("error: result mismatch against numpy", fg="red", err=True)
            sys.exit(1)

    @cli.command("opt")
    @click.argument("src", metavar="IN.mlir|MODEL.onnx")
    @click.option("--pass-pipeline", "pipeline", default=None,
                  help="e.g. 'builtin.module(accel-match,accel-schedule,accel-lower,accel-emit)' (the default)")
    @click.option("--print-ir-after-all", is_flag=True, help="print the IR after every pass (stderr)")
    @click.option("--spec", default=None, help="default spec for passes with a spec option")
    @click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="write the IR here")
    @click.option("--list-passes", is_flag=True, help="list the accel passes and their options")
    @click.option("--split-input-file", is_flag=True,
                  help="process chunks separated by '// -----' independently (errors are reported per chunk; exit 2 "
                       "if any failed)")
    @_guard
    def opt_cmd(src: str, pipeline: str | None, print_ir_after_all: bool, spec: str | None, output: str | None,
                list_passes: bool, split_input_file: bool) -> None:
        """Run a pass pipeline (accel passes and upstream MLIR passes) like mlir-opt."""
        from accel.compiler import opt
        from accel.compiler.passes import REGISTRY

        if list_passes:
            for name, cls in sorted(REGISTRY.items()):
                click.echo(f"{name}: {cls.summary}")
                for o in cls.options:
                    click.echo(f"    {o.name}={o.default!s:<12} {o.help}")
            return
        if src != "-" and not Path(src).is_file():
            raise CompileError(f"no such input file: {src}")
        text_or_path: Any = sys.stdin.read() if src == "-" else src
        if split_input_file:
            text = text_or_path if src == "-" else Path(src).read_text()
            name = "<stdin>" if src == "-" else src
            outs, failed, line = [], False, 0
            for chunk in re.split(r"^// -----\s*$", text, flags=re.M):
                padded = "\n" * line + chunk  # keep the original line numbers in locations
                line += chunk.count("\n")
                try:
                    out, _res = opt(padded, pipeline, spec=spec, print_ir_after_all=print_ir_after_all,
                                    remark_sink=_remark, text_name=name)
                    outs.append(out)
                except AccelError as exc:
                    click.secho(f"error: {exc}", fg="red", err=True)
                    failed = True
            out = "// -----\n".join(outs)
            if output:
                Path(output).write_text(out)
            else:
                click.echo(out, nl=False)
            if failed:
                sys.exit(2)
            return
        out, _res = opt(text_or_path, pipeline, spec=spec, print_ir_after_all=print_ir_after_all,
                        remark_sink=_remark)
        if not out.endswith("\n"):
            out += "\n"
        if output:
            Path(output).write_text(out)
        else:
            click.echo(out, nl=False)

    @cli.command("irdl")
    @click.option("--write", "mode", flag_value="write", help="write compiler/dialect/accel.irdl.mlir")
    @click.option("--check", "mode", flag_value="check", help="exit 1 if the checked-in IRDL file is stale")
    def irdl_cmd(mode: str | None) -> None:
        """The IRDL definition of the accel dialect, generated from its op table: print, --write or --check."""
        from accel.compiler.dialect import IRDL_PATH, irdl_text

        text = irdl_text()
        if mode == "write":
            IRDL_PATH.write_text(text)
            click.echo(f"wrote {IRDL_PATH}")
        elif mode == "check":
            if not IRDL_PATH.is_file() or IRDL_PATH.read_text() != text:
                click.secho(f"stale: {IRDL_PATH} (run accel-run irdl --write)", fg="red", err=True)
                sys.exit(1)
        else:
            click.echo(text, nl=False)
