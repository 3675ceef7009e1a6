"""``accel-run bench``: the ablation-ladder benchmark (logic in ``accel.bench``)."""

from __future__ import annotations

import os
import shlex
import sys

import click

from accel.errors import InputError


def _shapes(values: tuple[str, ...]) -> list[tuple[int, int, int]]:
    from accel.bench import parse_shape

    out = []
    for v in values:
        for part in v.split(","):
            if part.strip():
                try:
                    out.append(parse_shape(part.strip()))
                except ValueError as exc:
                    raise InputError(str(exc)) from None
    return out


@click.command("bench")
@click.option("--quick", is_flag=True, help="CI smoke run: two small shapes on z2_default only (~1 minute).")
@click.option("--spec", "specs", multiple=True, help="Spec(s) to run (default: z2_default and kv260).")
@click.option("--shape", "shapes", multiple=True, metavar="MxNxK[,..]", help="Shape(s) instead of the default set.")
@click.option("--strategy", "strategies", multiple=True,
              type=click.Choice(["baseline", "zero_copy", "scheduled", "double_buffer"]),
              help="Subset of the ladder (default: all four; ratios need the baseline).")
@click.option("--baseline-tile", default=16, show_default=True, type=int, help="AXI4MLIR-style tile size.")
@click.option("--seed", default=2024, show_default=True, type=int, help="Operand RNG seed.")
@click.option("--backend", default="sim", show_default=True, help="Runtime backend (sim | board | auto).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the JSON results here.")
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

    result = B.run_bench(cfg, progress=(not no_progress and sys.stderr.isatty()) or not no_progress)
    command = "accel-run bench " + " ".join(shlex.quote(a) for a in sys.argv[1:] if a != "bench")
    md = B.to_markdown(result, command=command.strip())
    if json_path:
        os.makedirs(os.path.dirname(os.path.abspath(json_path)), exist_ok=True)
        B.write_json(result, json_path)
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


def register(cli: click.Group) -> None:
    cli.add_command(bench)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``scripts/bench_matmul`` (same options as ``accel-run bench``)."""
    from accel.cli import _Group

    group = _Group(name="bench_matmul")
    register(group)
    args = ["bench", *(sys.argv[1:] if argv is None else argv)]
    return group.main(args=args, prog_name="bench_matmul", standalone_mode=True) or 0
