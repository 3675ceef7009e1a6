"""The overlays room's commands of ``accel-run`` (logic in ``accel.overlays``):

    accel-run spec [SPEC] [--json|--verilog|--c]          # a generated view of a spec
    accel-run hwh [SPEC...] [--write|--check]             # the checked-in .hwh files
    accel-run estimate [--spec NAME...|--all] [--json] [--result FILE]
    accel-run estimate --timing [--spec NAME...|--all] [--json]   # timing proxy of the same netlist
    accel-run sim-build [SPEC...]                         # build (or find) the Verilator model
    accel-run vivado-params [SPEC] [--build-dir DIR]      # print the Vivado params file
    accel-run build-bitstream [--spec NAME] [--params-only] [--step ip|bd|bit ...]

Each command imports the overlays room inside its body, so ``accel-run --help`` imports nothing
heavy.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click

DEFAULT_SPEC = "z2_default"


def register(cli: click.Group) -> None:
    for command in (spec_cmd, hwh_cmd, estimate_cmd, sim_build_cmd, vivado_params_cmd, build_bitstream_cmd):
        cli.add_command(command)


@click.command("spec")
@click.argument("spec", default=DEFAULT_SPEC)
@click.option("--json", "view", flag_value="json", default=True, help="name, hash and Verilog parameters (default)")
@click.option("--verilog", "view", flag_value="verilog", help="the generated accel_spec.vh")
@click.option("--c", "view", flag_value="c", help="the generated C header of the harness")
def spec_cmd(spec: str, view: str) -> None:
    """Print a view generated from a spec (name or .toml path)."""
    from accel.overlays.spec import load_spec

    s = load_spec(spec)
    if view == "verilog":
        click.echo(s.verilog_header(), nl=False)
    elif view == "c":
        click.echo(s.c_header(), nl=False)
    else:
        click.echo(json.dumps({"name": s.name, "hash": s.hash, "params": s.verilog_params()}, indent=2))


@click.command("hwh")
@click.argument("specs", nargs=-1)
@click.option("--write", "mode", flag_value="write", help="write overlays/hwh/<spec>.hwh")
@click.option("--check", "mode", flag_value="check", help="exit 1 if a checked-in .hwh is stale")
def hwh_cmd(specs: tuple[str, ...], mode: str | None) -> None:
    """The generated .hwh of each spec (default: all): print, --write or --check."""
    from accel.overlays.hwh import generate_hwh, hwh_path, write_hwh
    from accel.overlays.spec import available_specs, load_spec

    stale = []
    for name in specs or available_specs():
        spec = load_spec(name)
        if mode == "write":
            click.echo(write_hwh(spec))
        elif mode == "check":
            path = hwh_path(spec)
            if not path.is_file() or path.read_text(encoding="utf-8") != generate_hwh(spec):
                stale.append(str(path))
        else:
            click.echo(generate_hwh(spec), nl=False)
    if stale:
        click.echo("stale (run accel-run hwh --write): " + ", ".join(stale), err=True)
        sys.exit(1)


@click.command("estimate")
@click.option("--spec", "specs", multiple=True, metavar="NAME",
              help="spec to estimate (repeatable); default z2_default")
@click.option("--all", "all_specs", is_flag=True, help="every spec in overlays/specs")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.option("--result", "result_path", type=click.Path(dir_okay=False),
              help="also write the stamped result file here (docs/results/estimate.json; "
                   "with --timing docs/results/timing.json)")
@click.option("--no-cache", is_flag=True, help="synthesise even when a cached result exists")
@click.option("--timing", is_flag=True,
              help="report the timing PROXY instead: deepest register-to-register paths and highest fanouts")
def estimate_cmd(specs: tuple[str, ...], all_specs: bool, as_json: bool, result_path: str | None,
                 no_cache: bool, timing: bool) -> None:
    """Estimate LUT/FF/DSP/BRAM of the accelerator with yosys synth_xilinx, per spec.

    Exits 1 if a configuration does not fit its part (XC7Z020 for PYNQ-Z2, K26 for KV260).
    The first run synthesises (minutes); results are cached by RTL and parameters.

    With --timing: a timing proxy of the same mapped netlist (published cell delays plus a
    per-net-hop delay, not Vivado timing closure) against the spec's clock period; exits 1 if
    a path exceeds the period or a net other than clock/reset drives more than 512 pins.
    """
    from accel.overlays.estimate import estimate_many, format_table
    from accel.overlays.spec import available_specs, load_spec

    if all_specs and specs:
        raise click.UsageError("give --spec or --all, not both")
    names = available_specs() if all_specs else list(specs or [DEFAULT_SPEC])
    for name in names:
        load_spec(name)  # a clear SpecError before minutes of synthesis
    if timing:
        _timing(names, as_json=as_json, use_cache=not no_cache, result_path=result_path)
        return
    stamp = _stamp("estimate", names) if result_path else {}
    results = estimate_many(names, use_cache=not no_cache)
    doc = {"format": "pynq-accel/estimate", "version": 1, "results": [r.to_dict() for r in results]}
    if result_path:
        from accel.bench.provenance import write_result

        click.echo(f"wrote {write_result(result_path, doc, stamp)}", err=True)
    click.echo(json.dumps(doc, indent=2) if as_json else format_table(results))
    bad = [r for r in results if not r.fits]
    for r in bad:
        click.secho(f"error: {r.spec} does not fit {r.part}: {', '.join(r.over)} over capacity", fg="red", err=True)
    if bad:
        sys.exit(1)


def _timing(names: list[str], *, as_json: bool, use_cache: bool, result_path: str | None) -> None:
    """``estimate --timing``: the proxy report per configuration (and its stamped result file);
    exit 1 when one misses the goal (after writing the file, which records the miss)."""
    from accel.overlays.timing import LABEL, format_report, timing_reports

    stamp = _stamp("timing", names) if result_path else {}
    reports = timing_reports(names, use_cache=use_cache)
    doc = {"format": "pynq-accel/timing-proxy", "version": 1, "label": LABEL,
           "results": [r.to_dict() for r in reports]}
    if result_path:
        from accel.bench.provenance import write_result

        click.echo(f"wrote {write_result(result_path, doc, stamp)}", err=True)
    if as_json:
        click.echo(json.dumps(doc, indent=2))
    else:
        click.echo(format_report(reports))
    bad = [r for r in reports if not r.ok]
    for r in bad:
        click.secho(f"error: {r.spec} misses the timing proxy's goal: {'; '.join(r.problems)}", fg="red", err=True)
    if bad:
        sys.exit(1)


def _stamp(kind: str, names: list[str]) -> dict:
    """The provenance stamp of a result file, taken before the measurement (the bench room owns it)."""
    from accel.bench.provenance import make_stamp
    from accel.cli import command_line

    return make_stamp(kind, names, command_line())


@click.command("sim-build")
@click.argument("specs", nargs=-1)
def sim_build_cmd(specs: tuple[str, ...]) -> None:
    """Build (or find in the cache) the Verilator model of each spec (default: all)."""
    from accel.overlays.sim_build import build_sim
    from accel.overlays.spec import available_specs

    for name in specs or available_specs():
        t0 = time.monotonic()
        lib = build_sim(name)
        click.echo(f"{name}: {lib} ({time.monotonic() - t0:.1f} s)")


@click.command("vivado-params")
@click.argument("spec", default=DEFAULT_SPEC)
@click.option("--build-dir", default="build/vivado", show_default=True, help="parent of the Vivado work directory")
@click.option("--output-dir", default=None, help="where <spec>.bit/.hwh would go")
def vivado_params_cmd(spec: str, build_dir: str, output_dir: str | None) -> None:
    """Print the TCL params file build_overlay.tcl reads for a spec."""
    from accel.overlays.spec import load_spec
    from accel.overlays.vivado_params import render_params, tcl_params

    s = load_spec(spec)
    click.echo(render_params(s, tcl_params(s, Path(build_dir) / s.name, output_dir)), nl=False)


@click.command("build-bitstream")
@click.option("--spec", default=DEFAULT_SPEC, show_default=True, help="spec name or .toml path")
@click.option("--build-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Vivado work directory (default build/vivado/<spec>)")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="where <spec>.bit/.hwh go (default: the package's bitstream directory)")
@click.option("--jobs", type=int, default=os.cpu_count() or 2, show_default=True, help="parallel Vivado jobs")
@click.option("--step", "steps", multiple=True, type=click.Choice(["ip", "bd", "bit"]), help="run only these steps")
@click.option("--vivado", default=lambda: os.environ.get("VIVADO", "vivado"), show_default="$VIVADO or vivado",
              help="the vivado executable")
@click.option("--params-only", is_flag=True, help="write the inputs and print the command")
def build_bitstream_cmd(spec: str, build_dir: Path | None, out: Path | None, jobs: int, steps: tuple[str, ...],
                        vivado: str, params_only: bool) -> None:
    """Build <spec>.bit + <spec>.hwh with Vivado in batch mode.

    Generates the TCL params file and accel_spec.vh from the spec, then runs build_overlay.tcl.
    Without `vivado` on PATH it exits 3 and says what is needed (the inputs are written anyway).
    """
    import shutil
    import subprocess

    from accel.overlays.rtl_build import SPEC_HEADER
    from accel.overlays.spec import load_spec
    from accel.overlays.vivado_params import (
        BITSTREAM_DIR,
        missing_vivado_message,
        overlay_name,
        vivado_command,
        write_build_inputs,
    )

    s = load_spec(spec)
    build_dir = (build_dir or Path("build") / "vivado" / s.name).resolve()
    output_dir = (out or BITSTREAM_DIR).resolve()
    params_file = write_build_inputs(s, build_dir, output_dir, jobs=jobs)
    cmd = vivado_command(vivado, params_file, steps, build_dir / "vivado.log")
    if params_only:
        click.echo(f"wrote {params_file} and {build_dir / 'include' / SPEC_HEADER}")
        click.echo(f"run from {build_dir}:")
        click.echo("  " + " ".join(cmd))
        return
    exe = shutil.which(vivado)
    if exe is None:
        click.echo(missing_vivado_message(s, params_file, output_dir, cmd), err=True)
        sys.exit(3)
    cmd[0] = exe
    click.echo(f"building {overlay_name(s)} in {build_dir} (log {build_dir / 'vivado.log'})")
    sys.exit(subprocess.run(cmd, cwd=build_dir, check=False).returncode)
