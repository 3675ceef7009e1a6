"""``accel-run estimate``: the board room's commands (logic in ``accel.overlays.estimate``)."""

from __future__ import annotations

import json
import sys

import click


def register(cli: click.Group) -> None:
    @cli.command("estimate")
    @click.option(
        "--spec", "specs", multiple=True, metavar="NAME", help="spec to estimate (repeatable); default z2_default"
    )
    @click.option("--all", "all_specs", is_flag=True, help="every spec in overlays/specs")
    @click.option("--json", "as_json", is_flag=True, help="machine-readable output")
    @click.option("--no-cache", is_flag=True, help="synthesise even when a cached result exists")
    def estimate_cmd(specs: tuple[str, ...], all_specs: bool, as_json: bool, no_cache: bool) -> None:
        """Estimate LUT/FF/DSP/BRAM of the accelerator with yosys synth_xilinx, per spec.

        Exits 1 if a configuration does not fit its part (XC7Z020 for PYNQ-Z2, K26 for KV260).
        The first run synthesises (minutes); results are cached by RTL and parameters.
        """
        from accel.overlays.estimate import estimate_many, format_table
        from accel.overlays.spec import available_specs, load_spec

        if all_specs and specs:
            raise click.UsageError("give --spec or --all, not both")
        names = available_specs() if all_specs else list(specs or ["z2_default"])
        for name in names:
            load_spec(name)  # a clear SpecError before minutes of synthesis
        results = estimate_many(names, use_cache=not no_cache)
        if as_json:
            click.echo(json.dumps({"results": [r.to_dict() for r in results]}, indent=2))
        else:
            click.echo(format_table(results))
        bad = [r for r in results if not r.fits]
        for r in bad:
            click.secho(f"error: {r.spec} does not fit {r.part}: {', '.join(r.over)} over capacity", fg="red", err=True)
        if bad:
            sys.exit(1)
