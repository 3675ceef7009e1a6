"""The bench room's commands of ``accel-run`` (logic in ``accel.bench``):

    accel-run bench [--quick] [--json FILE --md FILE]          # the ablation ladder
    accel-run bench-costmodel [--quick] [--json FILE --md FILE] # cost model vs simulator sweep
    accel-run sim-speed [--spec NAME...] [--json FILE]          # simulated cycles per second
    accel-run bench-models [--quick] [--json FILE --md FILE]    # whole quantized models, per model
    accel-run docs --write|--check                              # README.md, docs/BENCHMARKS.md

Every ``--json`` file of a measurement is a result file stamped with its provenance
(``accel.bench.provenance``); ``accel-run docs`` renders the documents from those files.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import click

from accel.errors import InputError


def _write_files(doc: dict, md: str, stamp: dict, json_path: str | None, md_path: str | None,
                 log: Callable[[str], None]) -> None:
    """A measurement command's outputs: the stamped JSON result (``--json``) and its markdown (``--md``)."""
    from accel.bench.provenance import write_result

    if json_path:
        log(f"wrote {write_result(json_path, doc, stamp)}")
    if md_path:
        Path(md_path).parent.mkdir(parents=True, exist_ok=True)
        Path(md_path).write_text(md)
        log(f"wrote {md_path}")


def _shapes(values: tuple[str, ...]) -> list[tuple[int, int, int]]:
    from accel.bench import parse_shape

    out = []
    for part in _split(values):
        try:
            out.append(parse_shape(part))
        except ValueError as exc:
            raise InputError(str(exc)) from None
    return out


@click.command("bench")
@click.option("--quick", is_flag=True, help="CI smoke run: two small shapes on z2_default only (~1 minute).")
@click.option("--spec", "specs", multiple=True, help="Spec(s) to run (default: z2_default and kv260).")
@click.option("--shape", "shapes", multiple=True, metavar="MxNxK[,..]", help="Shape(s) instead of the default set.")
@click.option("--strategy", "strategies", multiple=True,
              type=click.Choice(["baseline", "zero_copy", "scheduled", "double_buffer", "scatter_gather"]),
              help="Subset of the ladder (default: all five; ratios need the baseline).")
@click.option("--baseline-tile", default=16, show_default=True, type=int, help="AXI4MLIR-style tile size.")
@click.option("--seed", default=2024, show_default=True, type=click.IntRange(0, 2**32 - 1), help="Operand RNG seed.")
@click.option("--backend", default="auto", show_default=True, type=click.Choice(["auto", "sim", "board"]),
              help="Runtime backend (auto: the board when its overlay is installed, else the simulator).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False),
              help="Write the stamped JSON result file here (docs/results/bench.json).")
@click.option("--md", "md_path", type=click.Path(dir_okay=False), help="Write the markdown report here.")
@click.option("--plots", "plot_dir", type=click.Path(file_okay=False),
              help="Write ladder.png and roofline.png here (default: beside --json / --md).")
@click.option("--no-plots", is_flag=True, help="Skip the PNGs.")
@click.option("--no-probes", is_flag=True, help="Skip the MMIO-vs-tile-count probe runs.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("-q", "--quiet", is_flag=True, help="Do not print the markdown report to stdout.")
def bench(quick: bool, specs: tuple[str, ...], shapes: tuple[str, ...], strategies: tuple[str, ...],
          baseline_tile: int, seed: int, backend: str, json_path: str | None, md_path: str | None,
          plot_dir: str | None, no_plots: bool, no_probes: bool, no_progress: bool, quiet: bool) -> None:
    """Benchmark the AXI4MLIR-style baseline against zero-copy, cost-model scheduling and
    double buffering, all on the same runtime; every result is checked against numpy.

    Exit status 1 if any run's result differs from numpy (the reports are written first).
    """
    from accel import bench as B
    from accel.bench.provenance import make_stamp
    from accel.cli import command_line

    kw: dict = {"baseline_tile": baseline_tile, "seed": seed, "backend": backend}
    if specs:
        kw["specs"] = tuple(specs)
    if shapes:
        kw["shapes"] = tuple(_shapes(shapes))
    if strategies:
        order = [k for k in B.STRATEGY_KEYS if k in strategies]
        kw["strategies"] = tuple(order)
    if no_probes:
        kw["probes"] = False
    cfg = B.BenchConfig.quick_config(**kw) if quick else B.BenchConfig(**kw)
    command = command_line()
    stamp = make_stamp("bench", cfg.specs, command) if json_path else {}

    result = B.run_bench(cfg, progress=(not no_progress and sys.stderr.isatty()) or not no_progress)
    md = B.to_markdown(result, command=command)
    if json_path:
        B.write_json(result, json_path, stamp=stamp)
    if md_path:
        os.makedirs(os.path.dirname(os.path.abspath(md_path)), exist_ok=True)
        with open(md_path, "w") as fh:
            fh.write(md)
    if not no_plots:
        out = plot_dir or (os.path.dirname(os.path.abspath(json_path or md_path)) if (json_path or md_path) else None)
        if out:
            from accel.bench.plots import write_plots

            for p in write_plots(result, out):
                click.echo(f"wrote {p}", err=True)
    if not quiet:
        click.echo(md)
    click.echo(f"bench: {len(result.rows)} runs in {result.wall_s:.1f} s; "
               f"{len(result.rows) - len(result.mismatches)} correct", err=True)
    if not result.ok:
        for r in result.mismatches:
            click.secho(f"MISMATCH {r['spec']} {r['shape_str']} {r['strategy']}: "
                        f"{r.get('error') or str(r.get('mismatches')) + ' wrong elements'}", fg="red", err=True)
        sys.exit(1)


@click.command("bench-costmodel")
@click.option("--spec", "specs", multiple=True, help="Spec(s) to sweep (default: z2_default and kv260).")
@click.option("--shape", "shapes", multiple=True, metavar="MxNxK[,..]", help="Shape(s) instead of the default set.")
@click.option("--quick", is_flag=True, help="z2_default and a few shapes.")
@click.option("--schedules", default=12, show_default=True, type=click.IntRange(min=1),
              help="Zero-copy schedules simulated per shape.")
@click.option("--seed", default=2024, show_default=True, type=click.IntRange(0, 2**32 - 1), help="Operand RNG seed.")
@click.option("--dma-mode", "dma_mode", type=click.Choice(["simple", "sg", "both"]), default="both", show_default=True,
              help="AXI DMA mode(s) to simulate and price: direct register mode, scatter-gather, or both.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False),
              help="Write the stamped JSON result file here (docs/results/costmodel.json).")
@click.option("--md", "md_path", type=click.Path(dir_okay=False), help="Also write the markdown report here.")
@click.option("-q", "--quiet", is_flag=True, help="No per-run lines on stderr.")
def bench_costmodel(specs: tuple[str, ...], shapes: tuple[str, ...], quick: bool, schedules: int, seed: int,
                    dma_mode: str, json_path: str | None, md_path: str | None, quiet: bool) -> None:
    """Cost model vs simulator: predicted and simulated cycles over shapes x schedules.

    Prints a markdown report. Exit status 1 unless every result equals numpy, every prediction is
    within 10% and the model's pick is the fastest simulated schedule for >= 90% of the shapes; the
    fused-epilogue set (int8/uint8 output) must match the golden model with predictions within 2%.
    """
    from accel.bench import costmodel_sweep as sweep
    from accel.bench.provenance import make_stamp
    from accel.cli import command_line
    from accel.overlays.spec import load_spec

    spec_names = list(specs) or (["z2_default"] if quick else list(sweep.SPECS))
    shape_texts = _split(shapes) or list(sweep.QUICK_SHAPES if quick else sweep.SHAPES)
    _shapes(tuple(shape_texts))  # bad shapes fail here, before any simulation
    for name in spec_names:
        load_spec(name)

    def log(msg: str) -> None:
        if not quiet:
            click.echo(msg, err=True)

    stamp = make_stamp("costmodel", spec_names, command_line()) if json_path else {}
    modes = list(sweep.DMA_MODES) if dma_mode == "both" else [dma_mode]
    doc = sweep.run_sweep(spec_names, shape_texts, schedules, seed, log, modes,
                          epilogue=sweep.EPILOGUE_QUICK if quick else sweep.EPILOGUE_SHAPES)
    md = sweep.markdown(doc)
    click.echo(md)
    _write_files(doc, md, stamp, json_path, md_path, log)
    if not sweep.passed(doc):
        sys.exit(1)


@click.command("sim-speed")
@click.option("--spec", "specs", multiple=True, help="Spec name (repeatable; default: all).")
@click.option("--cycles", default=4e6, show_default=True, type=float, help="Approximate cycles per run.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False),
              help="Write the stamped JSON result file here (docs/results/sim_speed.json).")
def sim_speed(specs: tuple[str, ...], cycles: float, json_path: str | None) -> None:
    """Simulated cycles per second of the Verilator model, per spec (C++ time, CPU time, end to end)."""
    from accel.bench import sim_speed as speed
    from accel.bench.provenance import make_stamp, write_result
    from accel.cli import command_line
    from accel.overlays.spec import available_specs, load_spec

    names = list(specs) or available_specs()
    for name in names:
        load_spec(name)
    stamp = make_stamp("sim_speed", names, command_line()) if json_path else {}
    results = []
    for name in names:
        r = speed.measure(name, cycles)
        results.append(r)
        click.echo(speed.format_line(r))
    if json_path:
        doc = {"format": speed.FORMAT, "version": speed.VERSION, "config": {"cycles": cycles}, "results": results}
        click.echo(f"wrote {write_result(json_path, doc, stamp)}", err=True)


@click.command("bench-models")
@click.option("--spec", default="z2_default", show_default=True, help="The overlay configuration to compile for.")
@click.option("--backend", default="auto", show_default=True, type=click.Choice(["auto", "sim", "board"]),
              help="Runtime backend (auto: the board when its overlay is installed, else the simulator).")
@click.option("--model", "models", multiple=True, help="Zoo model(s) (default: mlp, gemm, batched, cnn).")
@click.option("--variant", "variants", multiple=True,
              help="Zoo variant(s): float, qdq_u8s8, qop_u8s8, dynamic_u8s8, ... (default: all).")
@click.option("--onnx", "extra", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Also measure this .onnx model (random inputs, no accuracy); repeatable.")
@click.option("--quick", is_flag=True, help="CI smoke run: the MLP, float and QOperator, 100 samples.")
@click.option("--samples", default=None, type=click.IntRange(min=1),
              help="Held-out samples for top-1 accuracy [default: 500; --quick: 100].")
@click.option("--batch", default=100, show_default=True, type=click.IntRange(min=1),
              help="Batch the accuracy program is compiled for (the held-out subset runs in chunks of it).")
@click.option("--ort-runs", default=30, show_default=True, type=click.IntRange(min=1),
              help="onnxruntime timing: the median of this many runs.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False),
              help="Write the stamped JSON result file here (docs/results/models.json).")
@click.option("--md", "md_path", type=click.Path(dir_okay=False), help="Also write the markdown report here.")
@click.option("--sg/--no-sg", default=True, show_default=True,
              help="Simulator: also measure each inference with a scatter-gather DMA, accelerator steps chained.")
@click.option("-q", "--quiet", is_flag=True, help="No per-model lines on stderr.")
def bench_models(spec: str, backend: str, models: tuple[str, ...], variants: tuple[str, ...],
                 extra: tuple[str, ...], quick: bool, samples: int | None, batch: int, ort_runs: int,
                 json_path: str | None, md_path: str | None, sg: bool, quiet: bool) -> None:
    """Whole quantized models: compile each zoo model (float and every onnxruntime quantization)
    into one model program and measure one inference (accelerator MAC share, fabric cycles per
    layer, host steps, register accesses, DMA transfers, CPU bytes, CMA, projected board time),
    top-1 accuracy next to onnxruntime's, and onnxruntime's host wall time for scale.

    A model that fails to compile is a row saying why. Exit status 1 if a measured model's
    outputs differ from its program's CPU reference execution (the reports are written first).
    """
    from accel.bench import models as M
    from accel.bench.provenance import make_stamp
    from accel.cli import command_line
    from accel.overlays.spec import load_spec

    load_spec(spec)
    cfg = M.ModelsConfig(spec=spec, backend=backend, samples=samples or (M.QUICK_SAMPLES if quick else M.SAMPLES),
                         batch=batch, ort_runs=ort_runs,
                         models=tuple(_split(models)) or (M.QUICK_MODELS if quick else M.MODELS),
                         variants=tuple(_split(variants)) or (M.QUICK_VARIANTS if quick else None),
                         extra=extra, sg=sg)

    def log(msg: str) -> None:
        if not quiet:
            click.echo(msg, err=True)

    command = command_line()
    stamp = make_stamp("models", [spec], command) if json_path else {}
    doc = M.run_models(cfg, log)
    md = M.markdown(doc, command=command)
    click.echo(md)
    _write_files(doc, md, stamp, json_path, md_path, log)
    if not M.passed(doc):
        sys.exit(1)


@click.command("docs")
@click.option("--write", "mode", flag_value="write", help="Render README.md and docs/BENCHMARKS.md.")
@click.option("--check", "mode", flag_value="check", default=True,
              help="Exit 1 if a rendered document or a result file is stale (default).")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The checkout (default: the one this package is installed from).")
def docs(mode: str, root: Path | None) -> None:
    """Render the documents that quote measured numbers from their templates (docs/templates/*.in)
    and the stamped result files (docs/results/*.json)."""
    from accel.bench import docs as D

    root = root or D.REPO
    if mode == "write":
        for path in D.write_docs(root):
            click.echo(f"wrote {path}")
        return
    problems = D.check_docs(root)
    for p in problems:
        click.secho(p, fg="red", err=True)
    if problems:
        sys.exit(1)
    click.echo("README.md and docs/BENCHMARKS.md are current; every result file's stamp matches the tree")


def _split(values: tuple[str, ...]) -> list[str]:
    return [part.strip() for v in values for part in v.split(",") if part.strip()]


def register(cli: click.Group) -> None:
    for command in (bench, bench_costmodel, sim_speed, bench_models, docs):
        cli.add_command(command)
